package sockscope

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sockscope/sockscope/internal/procnet"
	"github.com/sockscope/sockscope/internal/sockdiag"
	"golang.org/x/sys/unix"
)

// inetTable is one inet protocol: its sock_diag protocol number and its
// /proc/net file.
type inetTable struct {
	proto Proto
	num   uint8
	file  string
}

var inetProtos = []inetTable{
	{TCP, unix.IPPROTO_TCP, "tcp"},
	{UDP, unix.IPPROTO_UDP, "udp"},
	{UDPLite, 136, "udplite"}, // IPPROTO_UDPLITE (not defined by x/sys/unix on every OS),
	{Raw, unix.IPPROTO_RAW, "raw"},
}

var inetFamilies = [...]Family{FamilyInet, FamilyInet6}

// readInet reads every selected (protocol, family) table of the calling
// thread's namespace, the TCP IPv6 one beside the others when it can.
func (b *builder) readInet(ctx context.Context, conn *sockdiag.Conn) error {
	pf := b.startPrefetch(ctx, conn)
	defer pf.wait()
	for _, t := range inetProtos {
		if !b.wantProto(t.proto) {
			continue
		}
		for _, fam := range inetFamilies {
			if !b.wantFamily(fam) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if pf.covers(t.proto, fam) {
				child, err := pf.wait()
				pf = nil
				if err == nil {
					b.merge(child)
					continue
				}
				// Dump again, where every error is handled.
			}
			if err := b.readInetTable(ctx, conn, t, fam); err != nil {
				return err
			}
		}
	}
	return nil
}

// readInetTable reads one (protocol, family) table, from conn when it can
// answer, else from /proc/thread-self/net.
func (b *builder) readInetTable(ctx context.Context, conn *sockdiag.Conn, t inetTable, fam Family) error {
	b.seq = 0
	emit := b.inetEmitter(ctx, t.proto)
	if conn != nil {
		done, err := b.dumpInet(conn, t, fam, emit)
		if done {
			return err
		}
	}
	file := filepath.Join("thread-self", "net", t.file+famSuffix(fam))
	if err := (procnet.FS{Root: b.procRoot}).Inet(file, uint8(fam), t.num, emit); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // protocol or IPv6 not built in
		}
		return fmt.Errorf("read %s: %w", file, err)
	}
	return nil
}

// dumpInet dumps one table from sock_diag. done is false when the kernel
// has no diag handler for the protocol and /proc should be read instead
// (SourceAuto); with SourceNetlink such a table is empty.
func (b *builder) dumpInet(conn *sockdiag.Conn, t inetTable, fam Family, emit func(*sockdiag.InetRecord) error) (done bool, err error) {
	err = conn.DumpInet(b.inetRequest(t, fam), emit)
	switch {
	case err == nil:
		return true, nil
	case !errors.Is(err, ErrNotSupported):
		return true, fmt.Errorf("dump %s%s: %w", t.proto, famSuffix(fam), err)
	case b.opts.Source == SourceNetlink:
		return true, nil // the kernel lacks this protocol's diag handler: nothing to list
	}
	return false, nil
}

func (b *builder) inetRequest(t inetTable, fam Family) sockdiag.InetRequest {
	return sockdiag.InetRequest{Family: uint8(fam), Protocol: t.num, States: inetMask(t.proto, b.states()), SPort: b.kernelPort(t.proto), Ext: b.opts.inetExt()}
}

// inetEmitter returns the callback that adds each record of proto to b,
// checking ctx every ctxCheckEvery records.
func (b *builder) inetEmitter(ctx context.Context, proto Proto) func(*sockdiag.InetRecord) error {
	n := 0
	return func(r *sockdiag.InetRecord) error {
		if n++; n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b.addInet(proto, r)
		return nil
	}
}

// inetMask is the kernel state mask to ask for.
func inetMask(p Proto, states StateSet) uint32 {
	if p != TCP {
		return uint32(AllStates) // UDP/raw: filter after (the kernel's UDP state numbering is ours)
	}
	mask := uint32(states)
	if states.Has(Close) {
		mask |= 1 << BoundInactive
	}
	return mask
}

// prefetch is the TCP IPv6 dump running on its own sock_diag socket,
// beside the caller's dumps, into its own builder.
type prefetch struct {
	done  chan struct{}
	child *builder
	err   error
}

// startPrefetch starts the TCP IPv6 dump on a second sock_diag socket when
// both TCP families are read from sock_diag. Every TCP dump walks the whole
// TCP hash table whatever the family asked for, so running the IPv6 dump
// beside the IPv4 one hides most of its cost on a machine with two cores
// or more. The socket is opened here, on the calling thread, so it belongs
// to the namespace being read (kernel.md N3); the goroutine may then use it
// from any thread. It returns nil when there is nothing to prefetch or the
// second socket cannot be opened: the caller then dumps in turn.
func (b *builder) startPrefetch(ctx context.Context, conn *sockdiag.Conn) *prefetch {
	if conn == nil || !b.wantProto(TCP) || !b.wantFamily(FamilyInet) || !b.wantFamily(FamilyInet6) {
		return nil
	}
	c, err := sockdiag.Dial()
	if err != nil {
		return nil
	}
	pf := &prefetch{done: make(chan struct{}), child: &builder{opts: b.opts, procRoot: b.procRoot, ns: b.ns}}
	emit := pf.child.inetEmitter(ctx, TCP)
	req := b.inetRequest(inetProtos[0], FamilyInet6)
	go func() {
		defer close(pf.done)
		defer c.Close()
		pf.err = c.DumpInet(req, emit)
	}()
	return pf
}

// covers reports whether pf is dumping (proto, fam).
func (pf *prefetch) covers(proto Proto, fam Family) bool {
	return pf != nil && proto == TCP && fam == FamilyInet6
}

// wait waits for the dump and returns its builder, or its error. It is
// safe on a nil prefetch and may be called more than once.
func (pf *prefetch) wait() (*builder, error) {
	if pf == nil {
		return nil, errors.New("no prefetch")
	}
	<-pf.done
	return pf.child, pf.err
}

func famSuffix(f Family) string {
	if f == FamilyInet6 {
		return "6"
	}
	return ""
}

// kernelPort is the local port the kernel is asked to filter on (a
// bytecode filter in the dump request), 0 for none. Raw sockets have no
// port: their "port" is the IP protocol.
func (b *builder) kernelPort(p Proto) uint16 {
	if !p.HasPorts() {
		return 0
	}
	return b.opts.LocalPort
}
