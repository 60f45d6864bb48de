//go:build linux

package sockdiag

import (
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/nstest"
)

// TestDumpTCPBothFamilies: a TCP dump with Family 0 (TCPDIAG_GETSOCK)
// reports the sockets of both families, each once, exactly as the two
// per-family dumps report them, and honours the state mask (bound-only
// sockets included) and the port filter. Only the test's own sockets are
// compared, so it runs beside anything else on the host.
func TestDumpTCPBothFamilies(t *testing.T) {
	c := dial(t)
	ln4, cl4, srv4 := tcpPair(t, "tcp4", "127.0.0.1:0")
	ln6 := listen6(t, "tcp6", "[::1]:0")
	dual := listen6(t, "tcp", "[::]:0")
	cl6, err := net.Dial("tcp6", ln6.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl6.Close()
	srv6, err := ln6.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer srv6.Close()
	_, bound4 := boundOnly(t, unix.AF_INET, loop4)
	_, bound6 := boundOnly(t, unix.AF_INET6, netip.IPv6Loopback())

	mine := map[uint32]string{
		uint32(nstest.ConnInode(t, ln4.(*net.TCPListener))):  "v4 listener",
		uint32(nstest.ConnInode(t, cl4.(*net.TCPConn))):      "v4 client",
		uint32(nstest.ConnInode(t, srv4.(*net.TCPConn))):     "v4 accepted",
		uint32(nstest.ConnInode(t, ln6.(*net.TCPListener))):  "v6 listener",
		uint32(nstest.ConnInode(t, dual.(*net.TCPListener))): "dual-stack listener",
		uint32(nstest.ConnInode(t, cl6.(*net.TCPConn))):      "v6 client",
		uint32(nstest.ConnInode(t, srv6.(*net.TCPConn))):     "v6 accepted",
		bound4: "v4 bound only",
		bound6: "v6 bound only",
	}
	type rec struct {
		family, state uint8
		src, dst      netip.AddrPort
		cookie        uint64
	}
	keep := func(recs []InetRecord) map[uint32][]rec {
		out := map[uint32][]rec{}
		for _, r := range recs {
			if _, ok := mine[r.Inode]; ok {
				out[r.Inode] = append(out[r.Inode], rec{r.Family, r.State, recSrc(r), recDst(r), r.Cookie})
			}
		}
		return out
	}
	const all = 0 // every state, bound-only (TCP_BOUND_INACTIVE) included
	both := keep(dumpInet(t, c, InetRequest{Protocol: ProtoTCP, States: all}))
	want := keep(dumpInet(t, c, InetRequest{Family: unix.AF_INET, Protocol: ProtoTCP, States: all}))
	for ino, rs := range keep(dumpInet(t, c, InetRequest{Family: unix.AF_INET6, Protocol: ProtoTCP, States: all})) {
		want[ino] = append(want[ino], rs...)
	}
	for ino, what := range mine {
		got, exp := both[ino], want[ino]
		if len(exp) != 1 {
			// Bound-only sockets need Linux 6.8; the rest must be there.
			if ino == bound4 || ino == bound6 {
				continue
			}
			t.Fatalf("%s (inode %d): %d records in the per-family dumps, want 1", what, ino, len(exp))
		}
		if len(got) != 1 || got[0] != exp[0] {
			t.Errorf("%s (inode %d): both-families dump has %+v, per-family dumps %+v", what, ino, got, exp)
		}
	}

	// The port filter: only the v6 listener's port.
	port := addrPort(ln6.Addr()).Port()
	for ino, rs := range keep(dumpInet(t, c, InetRequest{Protocol: ProtoTCP, SPort: port})) {
		for _, r := range rs {
			if r.src.Port() != port {
				t.Errorf("%s: local port %d in a dump filtered on %d", mine[ino], r.src.Port(), port)
			}
		}
	}
	if got := keep(dumpInet(t, c, InetRequest{Protocol: ProtoTCP, SPort: port})); len(got[uint32(nstest.ConnInode(t, ln6.(*net.TCPListener)))]) != 1 {
		t.Errorf("the v6 listener is missing from the dump filtered on its port %d", port)
	}

	// Family 0 exists for TCP only.
	if err := c.DumpInet(InetRequest{Protocol: ProtoUDP}, func(*InetRecord) error { return nil }); err == nil {
		t.Error("a UDP dump with Family 0 succeeded, want an error")
	}
}
