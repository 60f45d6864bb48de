package sockscope

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/sockscope/sockscope/internal/netns"
	"github.com/sockscope/sockscope/internal/sockdiag"
)

// ErrCannotDestroy is wrapped by the error of a socket that SOCK_DESTROY
// cannot name: a Unix socket (unix_diag has no destroy), or a socket read
// from /proc/net, without a cookie to name it safely.
var ErrCannotDestroy = errors.New("the kernel cannot destroy this socket")

// DestroyResult is the outcome of closing one socket.
type DestroyResult struct {
	Socket *Socket
	// Err is nil when the kernel closed the socket; else it wraps the
	// kernel's errno (a syscall.Errno: EPERM without CAP_NET_ADMIN,
	// ENOENT when the socket had already gone, ESTALE when its 4-tuple
	// now belongs to another socket, EOPNOTSUPP for a protocol without a
	// destroy handler) or ErrCannotDestroy.
	Err error
}

// Destroy closes socks, taken from a Collect with the same opts, with the
// kernel's SOCK_DESTROY (what ss -K does): each socket inside the network
// namespace it was read from, named by its ends and its cookie, so that
// the kernel never closes another socket. A TCP socket sends a reset to its
// peer, and its holder's next call fails with ECONNABORTED. It returns one
// result per socket, in order; the error is for failures before any
// socket could be tried (a namespace list that cannot be read, ctx).
func Destroy(ctx context.Context, opts Options, socks []*Socket) ([]DestroyResult, error) {
	res := make([]DestroyResult, len(socks))
	byNS := map[uint64][]int{}
	var order []uint64
	for i, s := range socks {
		res[i].Socket = s
		switch {
		case s.Family != FamilyInet && s.Family != FamilyInet6:
			res[i].Err = fmt.Errorf("%w: sock_diag has no destroy for %s sockets", ErrCannotDestroy, s.Proto)
			continue
		case s.Cookie == 0:
			res[i].Err = fmt.Errorf("%w: no cookie to name it (read from /proc/net: use --source netlink)", ErrCannotDestroy)
			continue
		}
		var ino uint64
		if s.NetNS != nil {
			ino = s.NetNS.Inode
		}
		if _, ok := byNS[ino]; !ok {
			order = append(order, ino)
		}
		byNS[ino] = append(byNS[ino], i)
	}
	if len(order) == 0 {
		return res, nil
	}
	procRoot := cmp.Or(opts.ProcRoot, "/proc")
	var tmp Snapshot
	spaces, release, err := selectNetNS(ctx, opts, procRoot, &tmp)
	defer release()
	if err != nil {
		return res, &OpError{Op: "select namespaces", Err: err}
	}
	targets := map[uint64]nsTarget{}
	for _, t := range spaces {
		targets[t.model.Inode] = t
	}
	for _, ino := range order {
		if err := ctx.Err(); err != nil {
			return res, &OpError{Op: "destroy", Err: err}
		}
		idx := byNS[ino]
		t, ok := targets[ino]
		if !ok {
			for _, i := range idx {
				res[i].Err = fmt.Errorf("network namespace %d is gone", ino)
			}
			continue
		}
		tried := 0
		run := func() error {
			c, err := sockdiag.Dial()
			if err != nil {
				return err
			}
			defer c.Close()
			for _, i := range idx {
				res[i].Err = c.Destroy(destroyRequest(socks[i]))
				tried++
			}
			return nil
		}
		if t.direct {
			err = run()
		} else {
			err = netns.Do(t.ns, run)
		}
		if err != nil {
			// Those tried have their own result, even if leaving the
			// namespace failed afterwards.
			for _, i := range idx[tried:] {
				res[i].Err = err
			}
		}
	}
	return res, nil
}

// destroyRequest names s for SOCK_DESTROY as a dump reported it: local
// end as the source, remote end as the destination (docs/kernel.md K1).
func destroyRequest(s *Socket) sockdiag.DestroyRequest {
	r := sockdiag.DestroyRequest{Family: uint8(s.Family), Local: s.Local, Remote: s.Remote, If: s.Interface, Cookie: s.Cookie}
	switch s.Proto {
	case TCP:
		r.Protocol = sockdiag.ProtoTCP
	case UDP:
		r.Protocol = sockdiag.ProtoUDP
	case UDPLite:
		r.Protocol = sockdiag.ProtoUDPLite
	case Raw:
		r.Protocol = sockdiag.ProtoRaw
	}
	return r
}

// Errno returns the kernel's errno name for a failed result ("EPERM",
// "ENOENT"), or "" when it succeeded or failed before asking the kernel.
func (r DestroyResult) Errno() string {
	var e syscall.Errno
	if r.Err == nil || !errors.As(r.Err, &e) {
		return ""
	}
	return errnoName(e)
}
