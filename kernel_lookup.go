package sockscope

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/sockscope/sockscope/internal/netns"
	"github.com/sockscope/sockscope/internal/sockdiag"
)

// LookupRequest is a segment for the kernel's own socket lookup
// ([LookupSocket]).
type LookupRequest struct {
	// Proto is TCP or UDP.
	Proto Proto
	// Src is the sender's address and port, Dst the local address and
	// port. An IPv4 or v4-mapped Dst asks the IPv4 lookup.
	Src, Dst netip.AddrPort
	// Ifindex is the ingress device; 0 for none.
	Ifindex uint32
}

// LookupReply is the socket the kernel's lookup returned.
type LookupReply struct {
	// Cookie is the socket's kernel cookie; Inode its inode (0 for
	// TIME-WAIT and request sockets).
	Cookie, Inode uint64
	// Local and Remote are the socket's addresses as the kernel reports
	// them.
	Local, Remote netip.AddrPort
	// Interface is the device the socket is bound to, 0 for none.
	Interface uint32
	// V6Only is the socket's IPV6_V6ONLY where the kernel reports it
	// (AF_INET6 LISTEN and unconnected sockets), for printing its
	// addresses as ss does (FormatSocketAddrPort).
	V6Only Tristate
}

// ErrNoSocket is wrapped by the error of a lookup that found no socket.
var ErrNoSocket = errors.New("no socket")

// LookupSocket asks the kernel which socket receives req: a sock_diag
// "get one" request, answered by the kernel's own lookup (for UDP the one a
// received datagram takes, reuseport hash included; for TCP the
// established hash, then the listeners). It runs in the one network
// namespace opts.NetNS names, or the caller's when it names none; only
// NetNS and ProcRoot of opts are used. A lookup that finds no socket
// returns an error wrapping ErrNoSocket.
func LookupSocket(ctx context.Context, opts Options, req LookupRequest) (LookupReply, error) {
	var reply LookupReply
	if req.Proto != TCP && req.Proto != UDP {
		return reply, fmt.Errorf("kernel lookup: protocol %s: only tcp and udp can be looked up", req.Proto)
	}
	src := netip.AddrPortFrom(req.Src.Addr().WithZone(""), req.Src.Port())
	dst := netip.AddrPortFrom(req.Dst.Addr().WithZone(""), req.Dst.Port())
	const afInet, afInet6 = 2, 10 // AF_INET, AF_INET6 (Linux)
	fam := uint8(afInet6)
	if dst.Addr().Unmap().Is4() {
		fam = afInet
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	}
	proto := uint8(sockdiag.ProtoTCP)
	if req.Proto == UDP {
		proto = sockdiag.ProtoUDP
	}
	err := InNetNS(ctx, opts, func() error {
		c, err := sockdiag.Dial()
		if err != nil {
			return err
		}
		defer c.Close()
		r, err := c.LookupInet(fam, proto, src, dst, req.Ifindex)
		if err != nil {
			return err
		}
		reply = LookupReply{
			Cookie: r.Cookie, Inode: uint64(r.Inode), Interface: r.If,
			Local:  netip.AddrPortFrom(r.Src, r.SrcPort),
			Remote: netip.AddrPortFrom(r.Dst, r.DstPort),
		}
		switch r.V6Only {
		case 0:
			reply.V6Only = No
		case 1:
			reply.V6Only = Yes
		}
		return nil
	})
	if errors.Is(err, sockdiag.ErrNotFound) {
		return LookupReply{}, fmt.Errorf("kernel lookup %s %s -> %s: %w", req.Proto, FormatAddrPort(src), FormatAddrPort(dst), ErrNoSocket)
	}
	if err != nil {
		return LookupReply{}, fmt.Errorf("kernel lookup %s %s -> %s: %w", req.Proto, FormatAddrPort(src), FormatAddrPort(dst), err)
	}
	return reply, nil
}

// InNetNS runs fn in the one network namespace opts.NetNS names (an `ip
// netns` name, a path to a namespace file, or a PID; resolved under
// opts.ProcRoot), or directly when it names none. fn runs on a goroutine
// locked to an OS thread that has entered the namespace: sockets, netlink
// requests and /proc/thread-self reads made by fn on that goroutine see the
// namespace; goroutines fn starts do not. opts.AllNetNS or more than one
// name is an error. Entering needs CAP_SYS_ADMIN.
func InNetNS(ctx context.Context, opts Options, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch {
	case opts.AllNetNS:
		return errors.New("this reads one network namespace, not all")
	case len(opts.NetNS) == 0:
		return fn()
	case len(opts.NetNS) > 1:
		return fmt.Errorf("this reads one network namespace, got %d", len(opts.NetNS))
	}
	procRoot := opts.ProcRoot
	if procRoot == "" {
		procRoot = "/proc"
	}
	ns, err := netns.Resolve(opts.NetNS[0], procRoot)
	if err != nil {
		return err
	}
	return netns.Do(ns, fn)
}
