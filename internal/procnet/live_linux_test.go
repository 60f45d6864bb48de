package procnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sockscope/sockscope/internal/nstest"
	"github.com/sockscope/sockscope/internal/sockdiag"
	"golang.org/x/sys/unix"
)

// waitInet reads file until a record satisfies ok, for at most 5 s.
func waitInet(t *testing.T, file string, family, proto uint8, what string, ok func(sockdiag.InetRecord) bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		for _, r := range readInet(t, file, family, proto) {
			if ok(r) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not in %s after 5s", what, file)
		}
	}
}

func readInet(t *testing.T, file string, family, proto uint8) []sockdiag.InetRecord {
	t.Helper()
	var got []sockdiag.InetRecord
	if err := (FS{}).Inet(file, family, proto, func(r *sockdiag.InetRecord) error {
		got = append(got, *r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

type wantInet struct {
	what     string
	src, dst netip.AddrPort
	state    uint8
	inode    uint32
}

// checkInet finds each wanted socket by its tuple and inode (or, for inode
// 0, by tuple and state) in the table.
func checkInet(t *testing.T, file string, family, proto uint8, wants []wantInet) {
	t.Helper()
	got := readInet(t, file, family, proto)
	for _, w := range wants {
		found := false
		for _, r := range got {
			if r.Inode != w.inode || netip.AddrPortFrom(r.Src, r.SrcPort) != w.src || netip.AddrPortFrom(r.Dst, r.DstPort) != w.dst {
				continue
			}
			if w.inode == 0 && r.State != w.state {
				continue
			}
			found = true
			if r.State != w.state || r.Family != family || r.Protocol != proto || r.V6Only != -1 || r.Cookie != 0 {
				t.Errorf("%s: %s: got state %d family %d proto %d v6only %d cookie %d, want state %d family %d proto %d v6only -1 cookie 0",
					file, w.what, r.State, r.Family, r.Protocol, r.V6Only, r.Cookie, w.state, family, proto)
			}
			if w.state == 6 && (r.Timer != 3 || r.Expires == 0 || r.Expires > 60000) {
				t.Errorf("%s: %s: TIME_WAIT timer %d expires %d ms, want timer 3 and 0 < expires <= 60000", file, w.what, r.Timer, r.Expires)
			}
		}
		if !found {
			t.Errorf("%s: %s (%s -> %s, state %d, inode %d) not found among %d rows", file, w.what, w.src, w.dst, w.state, w.inode, len(got))
		}
	}
}

func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	}
	panic(fmt.Sprintf("unexpected address type %T", a))
}

func mustClose(t *testing.T, c interface{ Close() error }) {
	t.Cleanup(func() { c.Close() })
}

func TestLiveTCP4(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, ln)
	client, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, client)
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, server)

	// A connection closed by the client first leaves the client's end in
	// TIME_WAIT: no file, inode 0.
	twc, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tws, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	twLocal := addrPort(twc.LocalAddr())
	twc.Close()
	buf := make([]byte, 1)
	tws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := tws.Read(buf); err == nil {
		t.Fatal("read after the peer closed returned data")
	}
	tws.Close()
	// The client's end turns TIME_WAIT when the server's FIN lands.
	waitInet(t, "net/tcp", afInet, protoTCP, "the client's end in TIME_WAIT", func(r sockdiag.InetRecord) bool {
		return netip.AddrPortFrom(r.Src, r.SrcPort) == twLocal && r.State == 6
	})

	lnAddr := addrPort(ln.Addr())
	wants := []wantInet{
		{"listener", lnAddr, netip.MustParseAddrPort("0.0.0.0:0"), 10, uint32(nstest.ConnInode(t, ln.(*net.TCPListener)))},
		{"client", addrPort(client.LocalAddr()), lnAddr, 1, uint32(nstest.ConnInode(t, client.(*net.TCPConn)))},
		{"accepted", lnAddr, addrPort(client.LocalAddr()), 1, uint32(nstest.ConnInode(t, server.(*net.TCPConn)))},
		{"time-wait", twLocal, lnAddr, 6, 0},
	}
	// /proc/net, /proc/self/net and /proc/thread-self/net agree here: this
	// test does not setns.
	for _, file := range []string{"net/tcp", "self/net/tcp", "thread-self/net/tcp"} {
		checkInet(t, file, afInet, protoTCP, wants)
	}
}

func TestLiveTCP6(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	mustClose(t, ln)
	client, err := net.Dial("tcp6", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, client)
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, server)

	// A dual-stack listener accepting an IPv4 connection: the accepted
	// socket is AF_INET6 with v4-mapped addresses, in tcp6.
	dual, err := net.Listen("tcp", "[::]:0")
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, dual)
	port := addrPort(dual.Addr()).Port()
	c4, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Skipf("no dual-stack listener (bindv6only=1?): %v", err)
	}
	mustClose(t, c4)
	s4, err := dual.Accept()
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, s4)

	lnAddr := addrPort(ln.Addr())
	mapped := func(ap netip.AddrPort) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom16(ap.Addr().As16()), ap.Port())
	}
	checkInet(t, "net/tcp6", afInet6, protoTCP, []wantInet{
		{"listener", lnAddr, netip.MustParseAddrPort("[::]:0"), 10, uint32(nstest.ConnInode(t, ln.(*net.TCPListener)))},
		{"client", addrPort(client.LocalAddr()), lnAddr, 1, uint32(nstest.ConnInode(t, client.(*net.TCPConn)))},
		{"accepted", lnAddr, addrPort(client.LocalAddr()), 1, uint32(nstest.ConnInode(t, server.(*net.TCPConn)))},
		{"dual-stack listener", netip.AddrPortFrom(netip.IPv6Unspecified(), port), netip.MustParseAddrPort("[::]:0"), 10, uint32(nstest.ConnInode(t, dual.(*net.TCPListener)))},
		{"v4-mapped accepted", mapped(netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", port))), mapped(addrPort(c4.LocalAddr())), 1, uint32(nstest.ConnInode(t, s4.(*net.TCPConn)))},
	})
	checkInet(t, "net/tcp", afInet, protoTCP, []wantInet{
		{"v4 client of the dual-stack listener", addrPort(c4.LocalAddr()), netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", port)), 1, uint32(nstest.ConnInode(t, c4.(*net.TCPConn)))},
	})
}

func TestLiveUDP(t *testing.T) {
	u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, u)
	uc, err := net.DialUDP("udp4", nil, u.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, uc)
	if _, err := uc.Write(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	uIno := uint32(nstest.ConnInode(t, u))
	waitInet(t, "net/udp", afInet, protoUDP, "the datagram queued on the bound socket", func(r sockdiag.InetRecord) bool {
		return r.Inode == uIno && r.RQueue != 0
	})
	uAddr := addrPort(u.LocalAddr())
	checkInet(t, "net/udp", afInet, protoUDP, []wantInet{
		{"bound", uAddr, netip.MustParseAddrPort("0.0.0.0:0"), 7, uint32(nstest.ConnInode(t, u))},
		{"connected", addrPort(uc.LocalAddr()), uAddr, 1, uint32(nstest.ConnInode(t, uc))},
	})
	// The datagram is queued on the bound socket.
	for _, r := range readInet(t, "net/udp", afInet, protoUDP) {
		if r.Inode == uint32(nstest.ConnInode(t, u)) && r.RQueue == 0 {
			t.Errorf("bound socket: rx_queue 0 with a datagram queued")
		}
	}

	u6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	mustClose(t, u6)
	checkInet(t, "net/udp6", afInet6, protoUDP, []wantInet{
		{"bound ::1", addrPort(u6.LocalAddr()), netip.MustParseAddrPort("[::]:0"), 7, uint32(nstest.ConnInode(t, u6))},
	})
}

// rawSocket opens a socket with unix.Socket, binds it to 127.0.0.1 and
// returns the fd; it skips the test when the kernel or privileges refuse.
func rawSocket(t *testing.T, typ, proto int) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, proto)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		t.Skipf("socket(AF_INET, %d, %d) needs privilege: %v", typ, proto, err)
	}
	if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.ESOCKTNOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) {
		t.Skipf("socket(AF_INET, %d, %d) not supported: %v", typ, proto, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	return fd
}

func TestLiveRaw(t *testing.T) {
	fd := rawSocket(t, unix.SOCK_RAW, unix.IPPROTO_ICMP)
	checkInet(t, "net/raw", afInet, protoRaw, []wantInet{
		{"raw icmp", netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("0.0.0.0:0"), 7, uint32(nstest.FDInode(t, fd))},
	})
}

func TestLiveUDPLite(t *testing.T) {
	fd := rawSocket(t, unix.SOCK_DGRAM, unix.IPPROTO_UDPLITE)
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*unix.SockaddrInet4).Port
	if _, err := os.Stat("/proc/net/udplite"); err != nil {
		t.Skipf("no /proc/net/udplite: %v", err)
	}
	checkInet(t, "net/udplite", afInet, protoUDPLite, []wantInet{
		{"udplite", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)), netip.MustParseAddrPort("0.0.0.0:0"), 7, uint32(nstest.FDInode(t, fd))},
	})
}

func TestLiveUnix(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "live sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, ln)
	abstract := fmt.Sprintf("@sockscope-procnet-%d", os.Getpid())
	aln, err := net.Listen("unix", abstract)
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, aln)
	nlPath := filepath.Join(dir, "new\nline")
	nln, err := net.Listen("unix", nlPath)
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, nln)
	client, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, client)
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, server)
	dg, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "dg"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, dg)

	want := map[uint32]sockdiag.UnixRecord{}
	for _, w := range []struct {
		c     syscall.Conn
		typ   uint8
		state uint8
		name  string
	}{
		{ln.(*net.UnixListener), 1, tcpListen, path},
		{aln.(*net.UnixListener), 1, tcpListen, abstract},
		{nln.(*net.UnixListener), 1, tcpListen, nlPath},
		{client.(*net.UnixConn), 1, tcpEstablished, ""},
		{server.(*net.UnixConn), 1, tcpEstablished, path}, // an accepted socket shows the listener's name
		{dg, 2, tcpClose, filepath.Join(dir, "dg")},
	} {
		ino := uint32(nstest.ConnInode(t, w.c))
		want[ino] = urec(w.typ, w.state, ino, w.name)
	}
	for _, fs := range []FS{{}, {Root: "/proc/thread-self"}} {
		got := map[uint32]sockdiag.UnixRecord{}
		if err := fs.Unix(func(r *sockdiag.UnixRecord) error {
			if _, ok := want[r.Inode]; ok {
				got[r.Inode] = *r
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for ino, w := range want {
			g, ok := got[ino]
			if !ok {
				t.Errorf("root %q: inode %d (%q) not found", fs.Root, ino, w.Name)
				continue
			}
			if g.Type != w.Type || g.State != w.State || g.Name != w.Name {
				t.Errorf("root %q: inode %d: got type %d state %d name %q, want type %d state %d name %q",
					fs.Root, ino, g.Type, g.State, g.Name, w.Type, w.State, w.Name)
			}
		}
	}
}
