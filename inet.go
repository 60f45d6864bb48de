package sockscope

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sockscope/sockscope/internal/procnet"
	"github.com/sockscope/sockscope/internal/sockdiag"
)

// inetTable is one inet protocol: its sock_diag protocol number and its
// /proc/net file.
type inetTable struct {
	proto Proto
	num   uint8
	file  string
}

var inetProtos = []inetTable{
	{TCP, sockdiag.ProtoTCP, "tcp"},
	{UDP, sockdiag.ProtoUDP, "udp"},
	{UDPLite, sockdiag.ProtoUDPLite, "udplite"},
	{Raw, sockdiag.ProtoRaw, "raw"},
}

var inetFamilies = [...]Family{FamilyInet, FamilyInet6}

// readInet reads every selected (protocol, family) table of the calling
// thread's namespace. TCP's two families come from one dump when both are
// wanted: every TCP dump walks the kernel's whole TCP hash tables, shared
// by all namespaces, so with many namespaces the walk, not the sockets,
// is most of the cost, and one walk per namespace halves it.
func (b *builder) readInet(ctx context.Context, conn *sockdiag.Conn) error {
	for _, t := range inetProtos {
		if !b.wantProto(t.proto) {
			continue
		}
		if t.proto == TCP && conn != nil && b.wantFamily(FamilyInet) && b.wantFamily(FamilyInet6) {
			done, err := b.dumpTCPBoth(ctx, conn)
			if err != nil {
				return err
			}
			if done {
				continue
			}
			// Dump each family, where every error is handled.
		}
		for _, fam := range inetFamilies {
			if !b.wantFamily(fam) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := b.readInetTable(ctx, conn, t, fam); err != nil {
				return err
			}
		}
	}
	return nil
}

// dumpTCPBoth dumps TCP for both families at once. done is false, with no
// error, when the kernel refused the request before sending any socket:
// the caller then dumps each family.
func (b *builder) dumpTCPBoth(ctx context.Context, conn *sockdiag.Conn) (done bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	b.seq = [2]uint32{}
	before := b.n
	req := b.inetRequest(inetProtos[0], 0)
	err = conn.DumpInet(req, b.inetEmitter(ctx, TCP))
	switch {
	case err == nil:
		return true, nil
	case ctx.Err() != nil:
		return false, err
	case b.n != before:
		return false, fmt.Errorf("dump tcp: %w", err)
	}
	return false, nil
}

// readInetTable reads one (protocol, family) table, from conn when it can
// answer, else from /proc/thread-self/net.
func (b *builder) readInetTable(ctx context.Context, conn *sockdiag.Conn, t inetTable, fam Family) error {
	b.seq = [2]uint32{}
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
