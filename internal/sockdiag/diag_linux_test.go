//go:build linux

package sockdiag

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/nstest"
)

// These tests create real sockets on loopback and check that the kernel's
// dump reports each of them as created. They need no privilege.

func dial(t *testing.T) *Conn {
	t.Helper()
	c, err := Dial()
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dumpInet(t *testing.T, c *Conn, req InetRequest) []InetRecord {
	t.Helper()
	var out []InetRecord
	err := c.DumpInet(req, func(r *InetRecord) error {
		out = append(out, *r)
		return nil
	})
	if err != nil {
		t.Fatalf("DumpInet(%+v): %v", req, err)
	}
	return out
}

func dumpUnix(t *testing.T, c *Conn, req UnixRequest) []UnixRecord {
	t.Helper()
	var out []UnixRecord
	err := c.DumpUnix(req, func(r *UnixRecord) error {
		cp := *r
		cp.Icons = append([]uint32(nil), r.Icons...)
		out = append(out, cp)
		return nil
	})
	if err != nil {
		t.Fatalf("DumpUnix(%+v): %v", req, err)
	}
	return out
}

func rawInode(fd int) (uint32, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, fmt.Errorf("fstat %d: %w", fd, err)
	}
	return uint32(st.Ino), nil
}

func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	}
	panic(fmt.Sprintf("unexpected address %T", a))
}

// findInet returns the records with the given local and remote ends.
func findInet(recs []InetRecord, src, dst netip.AddrPort) []InetRecord {
	var out []InetRecord
	for _, r := range recs {
		if recSrc(r) == src && recDst(r) == dst {
			out = append(out, r)
		}
	}
	return out
}

// one fails unless exactly one record has the given ends and returns it.
func one(t *testing.T, what string, recs []InetRecord, src, dst netip.AddrPort) InetRecord {
	t.Helper()
	got := findInet(recs, src, dst)
	if len(got) != 1 {
		t.Fatalf("%s %s -> %s: %d records, want 1 (of %d)", what, src, dst, len(got), len(recs))
	}
	return got[0]
}

// boundOnly creates a TCP socket bound to addr:0 that never listens.
func boundOnly(t *testing.T, family int, addr netip.Addr) (netip.AddrPort, uint32) {
	t.Helper()
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		sa = &unix.SockaddrInet4{Addr: addr.As4()}
	} else {
		sa = &unix.SockaddrInet6{Addr: addr.As16()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		t.Fatal(err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	ino, err := rawInode(fd)
	if err != nil {
		t.Fatal(err)
	}
	switch got := got.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(got.Addr), uint16(got.Port)), ino
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(got.Addr), uint16(got.Port)), ino
	}
	t.Fatalf("getsockname: %T", got)
	return netip.AddrPort{}, 0
}

// tcpPair returns a listener on addr, a client connected to it and the
// accepted server side.
func tcpPair(t *testing.T, network, addr string) (net.Listener, net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	cl, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return ln, cl, srv
}

var loop4 = netip.MustParseAddr("127.0.0.1")

func TestDumpTCP4(t *testing.T) {
	c := dial(t)
	uid := uint32(os.Geteuid())
	ln, cl, srv := tcpPair(t, "tcp4", "127.0.0.1:0")
	lnAP, clAP := addrPort(ln.Addr()), addrPort(cl.LocalAddr())
	bound, boundIno := boundOnly(t, unix.AF_INET, loop4)

	// TIME_WAIT: the client closes first (active close), the server
	// follows once it has read the EOF.
	_, twCl, twSrv := tcpPair(t, "tcp4", "127.0.0.1:0")
	twLocal, twRemote := addrPort(twCl.LocalAddr()), addrPort(twCl.RemoteAddr())
	twCl.Close()
	if _, err := io.Copy(io.Discard, twSrv); err != nil {
		t.Fatal(err)
	}
	twSrv.Close()

	var recs []InetRecord
	deadline := time.Now().Add(5 * time.Second)
	for {
		recs = dumpInet(t, c, InetRequest{Family: unix.AF_INET, Protocol: ProtoTCP})
		if tw := findInet(recs, twLocal, twRemote); len(tw) == 1 && tw[0].State == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no TIME_WAIT %s -> %s after 5s", twLocal, twRemote)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cookies := map[uint64]bool{}
	for _, r := range recs {
		if r.Family != unix.AF_INET || r.Protocol != ProtoTCP || !r.Src.Is4() || !r.Dst.Is4() {
			t.Errorf("record %+v: want AF_INET TCP with IPv4 addresses", r)
		}
		if r.Cookie == 0 || cookies[r.Cookie] {
			t.Errorf("record %s -> %s: cookie %d zero or repeated", recSrc(r), recDst(r), r.Cookie)
		}
		cookies[r.Cookie] = true
		if r.V6Only != -1 {
			t.Errorf("record %s: V6Only %d for AF_INET, want -1 (not sent)", recSrc(r), r.V6Only)
		}
	}

	tests := []struct {
		name     string
		src, dst netip.AddrPort
		state    uint8
		inode    uint32
		uid      uint32
	}{
		{"listener", lnAP, netip.AddrPortFrom(netip.IPv4Unspecified(), 0), 10, uint32(nstest.ConnInode(t, ln.(*net.TCPListener))), uid},
		{"client", clAP, lnAP, 1, uint32(nstest.ConnInode(t, cl.(*net.TCPConn))), uid},
		{"accepted", lnAP, clAP, 1, uint32(nstest.ConnInode(t, srv.(*net.TCPConn))), uid},
		{"time-wait", twLocal, twRemote, 6, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := one(t, tt.name, recs, tt.src, tt.dst)
			if r.State != tt.state || r.Inode != tt.inode || r.UID != tt.uid {
				t.Errorf("state %d inode %d uid %d, want %d %d %d", r.State, r.Inode, r.UID, tt.state, tt.inode, tt.uid)
			}
			if tt.state == 6 && r.Timer != 3 {
				t.Errorf("TIME_WAIT timer %d, want 3", r.Timer)
			}
			if tt.state != 6 && !r.HasSockopt {
				t.Errorf("full socket without INET_DIAG_SOCKOPT")
			}
		})
	}
	t.Run("listener queues", func(t *testing.T) {
		r := one(t, "listener", recs, lnAP, netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
		if r.WQueue == 0 {
			t.Errorf("listener backlog (WQueue) 0")
		}
	})

	t.Run("bound-only", func(t *testing.T) {
		if !nstest.KernelAtLeast(6, 8) {
			t.Skip("TCP_BOUND_INACTIVE dumps need Linux 6.8")
		}
		// Asking for Close alone must add bit 13.
		recs := dumpInet(t, c, InetRequest{Family: unix.AF_INET, Protocol: ProtoTCP, States: 1 << 7})
		r := one(t, "bound-only", recs, bound, netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
		if r.State != 7 || r.Inode != boundIno {
			t.Errorf("state %d inode %d, want 7 %d", r.State, r.Inode, boundIno)
		}
		for _, r := range recs {
			if r.State != 7 {
				t.Errorf("States 1<<7 returned %s in state %d", recSrc(r), r.State)
			}
		}
	})

	t.Run("state filter", func(t *testing.T) {
		recs := dumpInet(t, c, InetRequest{Family: unix.AF_INET, Protocol: ProtoTCP, States: 1 << 10})
		one(t, "listener", recs, lnAP, netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
		for _, r := range recs {
			if r.State != 10 {
				t.Errorf("States 1<<10 returned state %d", r.State)
			}
		}
	})

	t.Run("port filter", func(t *testing.T) {
		tests := []struct {
			name         string
			sport, dport uint16
			want         [][2]netip.AddrPort
		}{
			{"sport", lnAP.Port(), 0, [][2]netip.AddrPort{{lnAP, netip.AddrPortFrom(netip.IPv4Unspecified(), 0)}, {lnAP, clAP}}},
			{"dport", 0, lnAP.Port(), [][2]netip.AddrPort{{clAP, lnAP}}},
			{"both", clAP.Port(), lnAP.Port(), [][2]netip.AddrPort{{clAP, lnAP}}},
			{"both miss", lnAP.Port(), lnAP.Port(), nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				recs := dumpInet(t, c, InetRequest{Family: unix.AF_INET, Protocol: ProtoTCP, SPort: tt.sport, DPort: tt.dport})
				if len(recs) != len(tt.want) {
					t.Errorf("%d records, want %d: %v", len(recs), len(tt.want), recs)
				}
				for _, w := range tt.want {
					one(t, tt.name, recs, w[0], w[1])
				}
			})
		}
	})
}

func TestDumpUDP4(t *testing.T) {
	c := dial(t)
	uid := uint32(os.Geteuid())
	srv, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loop4, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cl, err := net.DialUDP("udp4", nil, srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	srvAP, clAP := addrPort(srv.LocalAddr()), addrPort(cl.LocalAddr())
	recs := dumpInet(t, c, InetRequest{Family: unix.AF_INET, Protocol: ProtoUDP})

	r := one(t, "unconnected", recs, srvAP, netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
	if want := uint32(nstest.ConnInode(t, srv)); r.State != 7 || r.Inode != want || r.UID != uid || r.Cookie == 0 {
		t.Errorf("unconnected: state %d inode %d uid %d cookie %d, want 7 %d %d non-zero", r.State, r.Inode, r.UID, r.Cookie, want, uid)
	}
	r = one(t, "connected", recs, clAP, srvAP)
	if want := uint32(nstest.ConnInode(t, cl)); r.State != 1 || r.Inode != want || r.UID != uid || r.Cookie == 0 {
		t.Errorf("connected: state %d inode %d uid %d cookie %d, want 1 %d %d non-zero", r.State, r.Inode, r.UID, r.Cookie, want, uid)
	}
	// UDP has no bound-only notion; Close must still mean unconnected.
	recs = dumpInet(t, c, InetRequest{Family: unix.AF_INET, Protocol: ProtoUDP, States: 1 << 7})
	one(t, "unconnected", recs, srvAP, netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
	if got := findInet(recs, clAP, srvAP); len(got) != 0 {
		t.Errorf("States 1<<7 returned the connected socket")
	}
}

func listen6(t *testing.T, network, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("IPv6 unavailable: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestDumpTCP6(t *testing.T) {
	c := dial(t)
	// [::1] forces v6only=1 (docs/kernel.md 0.3); Go's "tcp6" on [::] sets
	// IPV6_V6ONLY=1; "tcp" on [::] is dual-stack (v6only=0).
	loopLn := listen6(t, "tcp6", "[::1]:0")
	v6onlyLn := listen6(t, "tcp6", "[::]:0")
	dualLn := listen6(t, "tcp", "[::]:0")
	cl, err := net.Dial("tcp6", loopLn.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// A v4 connection to the dual-stack listener: the accepted socket is
	// AF_INET6 with v4-mapped addresses.
	cl4, err := net.Dial("tcp4", netip.AddrPortFrom(loop4, addrPort(dualLn.Addr()).Port()).String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl4.Close()
	acc4, err := dualLn.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer acc4.Close()

	recs := dumpInet(t, c, InetRequest{Family: unix.AF_INET6, Protocol: ProtoTCP})
	any6 := netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	tests := []struct {
		name     string
		src, dst netip.AddrPort
		state    uint8
		inode    uint32
		v6only   int8
	}{
		{"[::1] listener", addrPort(loopLn.Addr()), any6, 10, uint32(nstest.ConnInode(t, loopLn.(*net.TCPListener))), 1},
		{"[::] v6only listener", addrPort(v6onlyLn.Addr()), any6, 10, uint32(nstest.ConnInode(t, v6onlyLn.(*net.TCPListener))), 1},
		{"[::] dual-stack listener", addrPort(dualLn.Addr()), any6, 10, uint32(nstest.ConnInode(t, dualLn.(*net.TCPListener))), 0},
		{"client", addrPort(cl.LocalAddr()), addrPort(cl.RemoteAddr()), 1, uint32(nstest.ConnInode(t, cl.(*net.TCPConn))), -1},
		{"v4-mapped accepted", netip.AddrPortFrom(netip.AddrFrom16(loop4.As16()), addrPort(dualLn.Addr()).Port()),
			netip.AddrPortFrom(netip.AddrFrom16(loop4.As16()), addrPort(cl4.LocalAddr()).Port()), 1, uint32(nstest.ConnInode(t, acc4.(*net.TCPConn))), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := one(t, tt.name, recs, tt.src, tt.dst)
			if r.Family != unix.AF_INET6 || !r.Src.Is6() || !r.Dst.Is6() {
				t.Errorf("family %d src %s dst %s: want AF_INET6 with 16-byte addresses", r.Family, r.Src, r.Dst)
			}
			if r.State != tt.state || r.Inode != tt.inode || r.V6Only != tt.v6only || r.Cookie == 0 {
				t.Errorf("state %d inode %d v6only %d cookie %d, want %d %d %d non-zero",
					r.State, r.Inode, r.V6Only, r.Cookie, tt.state, tt.inode, tt.v6only)
			}
		})
	}
	// The v4 client is AF_INET: it is not in the v6 dump.
	if got := findInet(recs, addrPort(cl4.LocalAddr()), addrPort(cl4.RemoteAddr())); len(got) != 0 {
		t.Errorf("AF_INET client in the AF_INET6 dump")
	}
}

func TestDumpUnix(t *testing.T) {
	c := dial(t)
	uid := uint32(os.Geteuid())
	show := uint32(ShowName | ShowVFS | ShowPeer | ShowIcons | ShowRQLen | ShowUID)

	path := filepath.Join(t.TempDir(), "s.sock")
	pathLn, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer pathLn.Close()
	abstract := fmt.Sprintf("@sockscope-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	absLn, err := net.Listen("unix", abstract)
	if err != nil {
		t.Fatal(err)
	}
	defer absLn.Close()

	// A client queued on the path listener, not yet accepted.
	cl, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	clIno := uint32(nstest.ConnInode(t, cl.(*net.UnixConn)))
	pathIno := uint32(nstest.ConnInode(t, pathLn.(*net.UnixListener)))

	byInode := func(recs []UnixRecord, ino uint32) UnixRecord {
		t.Helper()
		var got []UnixRecord
		for _, r := range recs {
			if r.Inode == ino {
				got = append(got, r)
			}
		}
		if len(got) != 1 {
			t.Fatalf("inode %d: %d records, want 1", ino, len(got))
		}
		return got[0]
	}

	recs := dumpUnix(t, c, UnixRequest{Show: show})
	lr := byInode(recs, pathIno)
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	wantDev := unix.Major(st.Dev)<<20 | unix.Minor(st.Dev)
	if lr.Name != path || lr.State != 10 || lr.Type != 1 || lr.UID != uid || !lr.HasUID || lr.Cookie == 0 {
		t.Errorf("path listener %+v: want name %q state 10 type 1 uid %d cookie non-zero", lr, path, uid)
	}
	if lr.VFSInode != uint32(st.Ino) || lr.VFSDev != uint32(wantDev) {
		t.Errorf("path listener VFS %d/%#x, want %d/%#x", lr.VFSInode, lr.VFSDev, st.Ino, wantDev)
	}
	if len(lr.Icons) != 1 || lr.Icons[0] != clIno || lr.RQueue != 1 || lr.WQueue == 0 {
		t.Errorf("path listener icons %v queue %d/%d, want [%d] 1/backlog", lr.Icons, lr.RQueue, lr.WQueue, clIno)
	}
	ar := byInode(recs, uint32(nstest.ConnInode(t, absLn.(*net.UnixListener))))
	if ar.Name != abstract || ar.State != 10 || len(ar.Icons) != 0 {
		t.Errorf("abstract listener name %q state %d icons %v, want %q 10 []", ar.Name, ar.State, ar.Icons, abstract)
	}

	srv, err := pathLn.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srvIno := uint32(nstest.ConnInode(t, srv.(*net.UnixConn)))

	// Socket pairs of each type.
	pairs := map[int][2]uint32{}
	for _, typ := range []int{unix.SOCK_STREAM, unix.SOCK_DGRAM, unix.SOCK_SEQPACKET} {
		fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fds[0])
		defer unix.Close(fds[1])
		a, err := rawInode(fds[0])
		if err != nil {
			t.Fatal(err)
		}
		b, err := rawInode(fds[1])
		if err != nil {
			t.Fatal(err)
		}
		pairs[typ] = [2]uint32{a, b}
	}

	recs = dumpUnix(t, c, UnixRequest{Show: show})
	if lr := byInode(recs, pathIno); len(lr.Icons) != 0 || lr.RQueue != 0 {
		t.Errorf("after accept: listener icons %v rqueue %d, want none", lr.Icons, lr.RQueue)
	}
	sr, cr := byInode(recs, srvIno), byInode(recs, clIno)
	if sr.Peer != clIno || cr.Peer != srvIno || sr.State != 1 || cr.State != 1 {
		t.Errorf("accepted peer %d state %d, client peer %d state %d; want %d 1, %d 1", sr.Peer, sr.State, cr.Peer, cr.State, clIno, srvIno)
	}
	if sr.Name != path || cr.Name != "" {
		t.Errorf("accepted name %q client name %q, want %q and \"\"", sr.Name, cr.Name, path)
	}
	for typ, p := range pairs {
		a, b := byInode(recs, p[0]), byInode(recs, p[1])
		if int(a.Type) != typ || int(b.Type) != typ || a.Peer != p[1] || b.Peer != p[0] || a.Name != "" {
			t.Errorf("socketpair type %d: got %+v and %+v", typ, a, b)
		}
	}

	t.Run("states", func(t *testing.T) {
		recs := dumpUnix(t, c, UnixRequest{States: 1 << 10, Show: ShowName})
		byInode(recs, pathIno)
		for _, r := range recs {
			if r.State != 10 {
				t.Errorf("States 1<<10 returned state %d", r.State)
			}
			if r.HasUID || len(r.Icons) != 0 {
				t.Errorf("Show=ShowName returned uid or icons: %+v", r)
			}
		}
	})
}

func TestDumpRaw(t *testing.T) {
	c := dial(t)
	var n int
	err := c.DumpInet(InetRequest{Family: unix.AF_INET, Protocol: ProtoRaw}, func(*InetRecord) error { n++; return nil })
	if err != nil {
		if !errors.Is(err, ErrNotSupported) {
			t.Fatalf("raw dump: %v, want nil or ErrNotSupported", err)
		}
		t.Logf("raw diag not built (fall back to /proc/net/raw): %v", err)
	} else {
		// The handler exists: a raw socket (root only) must show up.
		fd, serr := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		if serr != nil {
			t.Skipf("raw diag present, raw socket needs privilege: %v", serr)
		}
		defer unix.Close(fd)
		ino, _ := rawInode(fd)
		recs := dumpInet(t, c, InetRequest{Family: unix.AF_INET, Protocol: ProtoRaw})
		found := false
		for _, r := range recs {
			if r.Inode == ino {
				found = true
				if r.SrcPort != unix.IPPROTO_ICMP || r.SockProtocol != unix.IPPROTO_ICMP {
					t.Errorf("raw ICMP socket: port %d protocol attr %d, want 1 1", r.SrcPort, r.SockProtocol)
				}
			}
		}
		if !found {
			t.Errorf("raw socket inode %d not in the dump", ino)
		}
	}
	// The Conn stays usable after the error.
	dumpInet(t, c, InetRequest{Family: unix.AF_INET, Protocol: ProtoTCP})
}

func TestDumpUDPLite(t *testing.T) {
	c := dial(t)
	var recs []InetRecord
	err := c.DumpInet(InetRequest{Family: unix.AF_INET, Protocol: ProtoUDPLite}, func(r *InetRecord) error {
		recs = append(recs, *r)
		return nil
	})
	fd, serr := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDPLITE)
	if err != nil {
		if !errors.Is(err, ErrNotSupported) {
			t.Fatalf("udplite dump: %v, want nil or ErrNotSupported", err)
		}
		if serr == nil {
			unix.Close(fd)
			t.Logf("kernel has UDP-Lite sockets but no UDP-Lite diag")
		}
		t.Skipf("UDP-Lite diag unavailable: %v", err)
	}
	if serr != nil {
		t.Skipf("UDP-Lite sockets unavailable: %v", serr)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: loop4.As4()}); err != nil {
		t.Fatal(err)
	}
	ino, _ := rawInode(fd)
	recs = dumpInet(t, c, InetRequest{Family: unix.AF_INET, Protocol: ProtoUDPLite})
	for _, r := range recs {
		if r.Inode == ino {
			if r.Src != loop4 || r.SrcPort == 0 || r.State != 7 || r.Protocol != ProtoUDPLite {
				t.Errorf("udplite socket: %+v", r)
			}
			return
		}
	}
	t.Errorf("UDP-Lite socket inode %d not in the dump", ino)
}

// reusePort is a ListenConfig that sets SO_REUSEPORT and SO_REUSEADDR.
var reusePort = net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		if serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}}

func TestLookupTCP(t *testing.T) {
	c := dial(t)
	ctx := context.Background()
	wild, err := reusePort.Listen(ctx, "tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer wild.Close()
	port := addrPort(wild.Addr()).Port()
	spec, err := reusePort.Listen(ctx, "tcp4", netip.AddrPortFrom(loop4, port).String())
	if err != nil {
		t.Fatal(err)
	}
	defer spec.Close()
	cl, err := net.Dial("tcp4", spec.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	srv, err := spec.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	free, _ := boundOnly(t, unix.AF_INET, loop4)

	peer := netip.MustParseAddrPort("127.0.0.1:40000")
	tests := []struct {
		name     string
		src, dst netip.AddrPort
		inode    uint32 // 0: ErrNotFound
		state    uint8
	}{
		{"specific beats wildcard", peer, netip.AddrPortFrom(loop4, port), uint32(nstest.ConnInode(t, spec.(*net.TCPListener))), 10},
		{"wildcard", peer, netip.MustParseAddrPort(fmt.Sprintf("127.0.0.2:%d", port)), uint32(nstest.ConnInode(t, wild.(*net.TCPListener))), 10},
		{"established server side", addrPort(cl.LocalAddr()), addrPort(cl.RemoteAddr()), uint32(nstest.ConnInode(t, srv.(*net.TCPConn))), 1},
		{"established client side", addrPort(cl.RemoteAddr()), addrPort(cl.LocalAddr()), uint32(nstest.ConnInode(t, cl.(*net.TCPConn))), 1},
		{"bound-only port", peer, free, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.LookupInet(unix.AF_INET, ProtoTCP, tt.src, tt.dst, 0)
			if tt.inode == 0 {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("got %+v, %v; want ErrNotFound", r, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Inode != tt.inode || r.State != tt.state || r.Cookie == 0 || r.Protocol != ProtoTCP {
				t.Errorf("inode %d state %d cookie %d, want %d %d non-zero", r.Inode, r.State, r.Cookie, tt.inode, tt.state)
			}
			if tt.state == 1 && (recSrc(*r) != tt.dst || recDst(*r) != tt.src) {
				t.Errorf("record %s -> %s, want the socket's view %s -> %s", recSrc(*r), recDst(*r), tt.dst, tt.src)
			}
		})
	}

	t.Run("ipv6", func(t *testing.T) {
		ln := listen6(t, "tcp6", "[::1]:0")
		r, err := c.LookupInet(unix.AF_INET6, ProtoTCP, netip.MustParseAddrPort("[::1]:40000"), addrPort(ln.Addr()), 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := uint32(nstest.ConnInode(t, ln.(*net.TCPListener))); r.Inode != want {
			t.Errorf("inode %d, want %d", r.Inode, want)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct {
			family, proto uint8
			src, dst      netip.AddrPort
		}{
			{unix.AF_INET, ProtoRaw, peer, peer},
			{unix.AF_UNIX, ProtoTCP, peer, peer},
			{unix.AF_INET, ProtoTCP, netip.MustParseAddrPort("[::1]:1"), peer},
			{unix.AF_INET, ProtoTCP, netip.AddrPort{}, peer},
		} {
			if r, err := c.LookupInet(tc.family, tc.proto, tc.src, tc.dst, 0); err == nil {
				t.Errorf("LookupInet(%d, %d, %s, %s) = %+v, want an error", tc.family, tc.proto, tc.src, tc.dst, r)
			}
		}
	})
}

func TestLookupUDP(t *testing.T) {
	c := dial(t)
	ctx := context.Background()
	wild, err := reusePort.ListenPacket(ctx, "udp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer wild.Close()
	port := addrPort(wild.LocalAddr()).Port()
	spec, err := reusePort.ListenPacket(ctx, "udp4", netip.AddrPortFrom(loop4, port).String())
	if err != nil {
		t.Fatal(err)
	}
	defer spec.Close()
	// A third socket on the same port, connected to a fixed peer: it wins
	// for datagrams from that peer only.
	peerConn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loop4, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer peerConn.Close()
	peerAP := addrPort(peerConn.LocalAddr())
	d := net.Dialer{LocalAddr: net.UDPAddrFromAddrPort(netip.AddrPortFrom(loop4, port)), Control: reusePort.Control}
	conn, err := d.Dial("udp4", peerAP.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	free, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loop4, 0)))
	if err != nil {
		t.Fatal(err)
	}
	freeAP := addrPort(free.LocalAddr())
	free.Close() // a just-freed port: nobody can be bound to it but a racing process

	other := netip.MustParseAddrPort("127.0.0.1:40001")
	tests := []struct {
		name     string
		src, dst netip.AddrPort
		inode    uint32
	}{
		{"specific beats wildcard", other, netip.AddrPortFrom(loop4, port), uint32(nstest.ConnInode(t, spec.(*net.UDPConn)))},
		{"wildcard", other, netip.MustParseAddrPort(fmt.Sprintf("127.0.0.2:%d", port)), uint32(nstest.ConnInode(t, wild.(*net.UDPConn)))},
		{"connected", peerAP, netip.AddrPortFrom(loop4, port), uint32(nstest.ConnInode(t, conn.(*net.UDPConn)))},
		{"free port", other, freeAP, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.LookupInet(unix.AF_INET, ProtoUDP, tt.src, tt.dst, 0)
			if tt.inode == 0 {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("got %+v, %v; want ErrNotFound", r, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Inode != tt.inode || r.Protocol != ProtoUDP {
				t.Errorf("inode %d (state %d, %s -> %s), want %d", r.Inode, r.State, recSrc(*r), recDst(*r), tt.inode)
			}
		})
	}
}

func TestDumpCallbackError(t *testing.T) {
	c := dial(t)
	// Enough sockets for the reply to span several datagrams, so that
	// stopping early leaves a reply to drain.
	const n = 400
	for range n {
		u, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loop4, 0)))
		if err != nil {
			t.Fatal(err)
		}
		defer u.Close()
	}
	stop := errors.New("stop")
	calls := 0
	err := c.DumpInet(InetRequest{Family: unix.AF_INET, Protocol: ProtoUDP}, func(*InetRecord) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Fatalf("DumpInet = %v after %d calls, want the callback's error after 1", err, calls)
	}
	// The rest of the reply was drained: the next dumps see everything.
	for range 2 {
		if got := len(dumpInet(t, c, InetRequest{Family: unix.AF_INET, Protocol: ProtoUDP})); got < n {
			t.Fatalf("dump after a stopped dump: %d records, want >= %d", got, n)
		}
	}
	// Stopping at the last record of a reply (here the only one) must not
	// wait for data that will never come (walkMessages' own tests cover a
	// NLMSG_DONE in the same datagram; Linux 6.18 sends it in the next).
	ln, _, _ := tcpPair(t, "tcp4", "127.0.0.1:0")
	start := time.Now()
	err = c.DumpInet(InetRequest{Family: unix.AF_INET, Protocol: ProtoTCP, States: 1 << 10, SPort: addrPort(ln.Addr()).Port()},
		func(*InetRecord) error { return stop })
	if err != stop || time.Since(start) > 2*time.Second {
		t.Fatalf("stop at the last record: %v after %v, want the callback's error at once", err, time.Since(start))
	}
	if got := dumpInet(t, c, InetRequest{Family: unix.AF_INET, Protocol: ProtoTCP, States: 1 << 10, SPort: addrPort(ln.Addr()).Port()}); len(got) != 1 {
		t.Fatalf("dump after stopping at the last record: %d records, want 1", len(got))
	}
	err = c.DumpUnix(UnixRequest{}, func(*UnixRecord) error { return stop })
	if err != stop && err != nil { // nil: no unix sockets at all
		t.Fatalf("DumpUnix = %v, want the callback's error", err)
	}
	dumpUnix(t, c, UnixRequest{})
}

func TestClose(t *testing.T) {
	c, err := Dial()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v, want net.ErrClosed", err)
	}
	if err := c.DumpInet(InetRequest{Family: unix.AF_INET, Protocol: ProtoTCP}, func(*InetRecord) error { return nil }); !errors.Is(err, net.ErrClosed) {
		t.Errorf("DumpInet after Close: %v, want net.ErrClosed", err)
	}
	if err := c.DumpUnix(UnixRequest{}, func(*UnixRecord) error { return nil }); !errors.Is(err, net.ErrClosed) {
		t.Errorf("DumpUnix after Close: %v, want net.ErrClosed", err)
	}
	if _, err := c.LookupInet(unix.AF_INET, ProtoTCP, netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("127.0.0.1:2"), 0); !errors.Is(err, net.ErrClosed) {
		t.Errorf("LookupInet after Close: %v, want net.ErrClosed", err)
	}
}

// TestDumpAllocs checks the documented promise: a dump allocates nothing
// per socket (nor per dump, on the error-free path).
func TestDumpAllocs(t *testing.T) {
	c := dial(t)
	for range 50 {
		tcpPair(t, "tcp4", "127.0.0.1:0")
	}
	req := InetRequest{Family: unix.AF_INET, Protocol: ProtoTCP}
	n := 0
	allocs := testing.AllocsPerRun(20, func() {
		n = 0
		if err := c.DumpInet(req, func(*InetRecord) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
	})
	if n < 150 || allocs != 0 {
		t.Errorf("DumpInet of %d sockets: %v allocs, want 0", n, allocs)
	}
}
