package sockscope_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/nstest"

	"github.com/sockscope/sockscope"
)

// sock is a test socket made with raw syscalls, so that every option and
// every step is explicit.
type sock struct {
	t  *testing.T
	fd int
}

func newSock(t *testing.T, family, typ int) *sock {
	t.Helper()
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	s := &sock{t: t, fd: fd}
	t.Cleanup(func() { s.close() })
	return s
}

func (s *sock) close() {
	if s.fd >= 0 {
		unix.Close(s.fd)
		s.fd = -1
	}
}

func (s *sock) reuseAddr() *sock {
	if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		s.t.Fatalf("SO_REUSEADDR: %v", err)
	}
	return s
}

func (s *sock) bind4(ip string, port int) *sock {
	a := netip.MustParseAddr(ip).As4()
	if err := unix.Bind(s.fd, &unix.SockaddrInet4{Port: port, Addr: a}); err != nil {
		s.t.Fatalf("bind %s:%d: %v", ip, port, err)
	}
	return s
}

func (s *sock) listen() *sock {
	if err := unix.Listen(s.fd, 16); err != nil {
		s.t.Fatalf("listen: %v", err)
	}
	return s
}

func (s *sock) connect4(ap netip.AddrPort) *sock {
	if err := unix.Connect(s.fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		s.t.Fatalf("connect %s: %v", ap, err)
	}
	return s
}

func (s *sock) accept() *sock {
	nfd, _, err := unix.Accept4(s.fd, unix.SOCK_CLOEXEC)
	if err != nil {
		s.t.Fatalf("accept: %v", err)
	}
	a := &sock{t: s.t, fd: nfd}
	s.t.Cleanup(func() { a.close() })
	return a
}

func (s *sock) local() netip.AddrPort {
	sa, err := unix.Getsockname(s.fd)
	if err != nil {
		s.t.Fatalf("getsockname: %v", err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
	}
	s.t.Fatalf("getsockname: unexpected %T", sa)
	return netip.AddrPort{}
}

func (s *sock) inode() uint64 {
	var st unix.Stat_t
	if err := unix.Fstat(s.fd, &st); err != nil {
		s.t.Fatalf("fstat: %v", err)
	}
	return st.Ino
}

func collect(t *testing.T, n *testNet, holders bool) *sockscope.Snapshot {
	t.Helper()
	o := n.Options()
	o.Holders = holders
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	snap, err := sockscope.Collect(ctx, o)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return snap
}

func byInode(snap *sockscope.Snapshot, ino uint64) *sockscope.Socket {
	for _, s := range snap.Sockets {
		if s.Inode == ino {
			return s
		}
	}
	return nil
}

func onPort(snap *sockscope.Snapshot, p sockscope.Proto, port uint16) []*sockscope.Socket {
	var out []*sockscope.Socket
	for _, s := range snap.Sockets {
		if s.Proto == p && s.Local.Port() == port {
			out = append(out, s)
		}
	}
	return out
}

func mustFind(t *testing.T, snap *sockscope.Snapshot, s *sock, what string) *sockscope.Socket {
	t.Helper()
	got := byInode(snap, s.inode())
	if got == nil {
		t.Fatalf("%s (inode %d) is missing from the snapshot of %d sockets", what, s.inode(), len(snap.Sockets))
	}
	return got
}

// TestSharedPort: a listener and N accepted sockets share one local
// endpoint; each accepted socket is paired with its client.
func TestSharedPort(t *testing.T) {
	n := newTestNet(t)
	const N = 3
	var l *sock
	var clients, accepted [N]*sock
	n.Do(func() {
		l = newSock(t, unix.AF_INET, unix.SOCK_STREAM).bind4("127.0.0.1", 0).listen()
		for i := range N {
			clients[i] = newSock(t, unix.AF_INET, unix.SOCK_STREAM).connect4(l.local())
			accepted[i] = l.accept()
		}
	})
	snap := collect(t, n, false)
	port := l.local().Port()
	share := onPort(snap, sockscope.TCP, port)
	if len(share) != N+1 {
		t.Fatalf("port %d: %d sockets share it, want %d (1 listener + %d accepted): %v", port, len(share), N+1, N, share)
	}
	ls := mustFind(t, snap, l, "listener")
	if ls.State != sockscope.Listen || ls.Local != l.local() || ls.Cookie == 0 {
		t.Errorf("listener = %+v, want LISTEN on %v with a cookie", ls, l.local())
	}
	cookies := map[uint64]bool{}
	for i := range N {
		a := mustFind(t, snap, accepted[i], "accepted socket")
		c := mustFind(t, snap, clients[i], "client socket")
		if a.State != sockscope.Established || a.Local.Port() != port {
			t.Errorf("accepted %d: state %v local %v, want ESTAB on port %d", i, a.State, a.Local, port)
		}
		if a.Local != l.local() {
			t.Errorf("accepted %d: local %v, want the listener's endpoint %v", i, a.Local, l.local())
		}
		if c.Remote != a.Local || a.Remote != c.Local {
			t.Errorf("pair %d: client %v->%v, accepted %v->%v: not mirror images", i, c.Local, c.Remote, a.Local, a.Remote)
		}
		if a.Peer != c || c.Peer != a {
			t.Errorf("pair %d: ends not linked (accepted.Peer=%p client=%p, client.Peer=%p accepted=%p)", i, a.Peer, c, c.Peer, a)
		}
		for _, k := range []uint64{a.Cookie, c.Cookie} {
			if k == 0 || cookies[k] {
				t.Errorf("cookie %d is zero or repeated", k)
			}
			cookies[k] = true
		}
	}
}

// TestSharedEphemeralPort: two client sockets share one local port while
// their connections (5-tuples) differ.
func TestSharedEphemeralPort(t *testing.T) {
	n := newTestNet(t)
	var l1, l2, c1, c2 *sock
	n.Do(func() {
		l1 = newSock(t, unix.AF_INET, unix.SOCK_STREAM).bind4("127.0.0.1", 0).listen()
		l2 = newSock(t, unix.AF_INET, unix.SOCK_STREAM).bind4("127.0.0.1", 0).listen()
		c1 = newSock(t, unix.AF_INET, unix.SOCK_STREAM).reuseAddr().bind4("127.0.0.1", 0)
		c2 = newSock(t, unix.AF_INET, unix.SOCK_STREAM).reuseAddr().bind4("127.0.0.1", int(c1.local().Port()))
		c1.connect4(l1.local())
		c2.connect4(l2.local())
	})
	snap := collect(t, n, false)
	s1, s2 := mustFind(t, snap, c1, "client 1"), mustFind(t, snap, c2, "client 2")
	if s1.Local != s2.Local {
		t.Fatalf("clients do not share a local endpoint: %v vs %v", s1.Local, s2.Local)
	}
	if s1.Connection() == s2.Connection() || s1.Remote != l1.local() || s2.Remote != l2.local() {
		t.Errorf("connections %v and %v: want distinct 5-tuples to %v and %v", s1.Connection(), s2.Connection(), l1.local(), l2.local())
	}
	if s1.Key() == s2.Key() {
		t.Errorf("two sockets with one key %+v", s1.Key())
	}
}

// TestNoHolder: TIME-WAIT after an active close, and an orphaned
// FIN-WAIT-2, have no inode and no holder, and still hold their port.
func TestNoHolder(t *testing.T) {
	n := newTestNet(t)
	var l, c, a, c2 *sock
	var twLocal, orphanLocal netip.AddrPort
	n.Do(func() {
		l = newSock(t, unix.AF_INET, unix.SOCK_STREAM).bind4("127.0.0.1", 0).listen()
		c = newSock(t, unix.AF_INET, unix.SOCK_STREAM).connect4(l.local())
		a = l.accept()
		twLocal = c.local()
		c.close() // active close: c goes FIN-WAIT-2, then TIME-WAIT once a closes
		a.close()
		c2 = newSock(t, unix.AF_INET, unix.SOCK_STREAM).connect4(l.local())
		l.accept() // kept open and silent: c2's close leaves an orphan in FIN-WAIT-2
		orphanLocal = c2.local()
		c2.close()
	})
	var tw, orphan *sockscope.Socket
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && (tw == nil || orphan == nil) {
		snap := collect(t, n, true)
		tw, orphan = nil, nil
		for _, s := range snap.Sockets {
			if s.Proto == sockscope.TCP && s.Local == twLocal && s.Remote == l.local() && s.State == sockscope.TimeWait {
				tw = s
			}
			if s.Proto == sockscope.TCP && s.Local == orphanLocal && s.Remote == l.local() && s.State == sockscope.FinWait2 {
				orphan = s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if tw == nil {
		t.Fatalf("no TIME-WAIT socket on %v", twLocal)
	}
	if tw.Inode != 0 || len(tw.Holders) != 0 || tw.Remote != l.local() {
		t.Errorf("TIME-WAIT = inode %d holders %v remote %v, want inode 0, no holders, remote %v", tw.Inode, tw.Holders, tw.Remote, l.local())
	}
	if orphan == nil {
		t.Fatalf("no orphaned FIN-WAIT-2 socket on %v", orphanLocal)
	}
	if orphan.Inode != 0 || len(orphan.Holders) != 0 {
		t.Errorf("orphan = inode %d holders %v, want inode 0 and no holders", orphan.Inode, orphan.Holders)
	}
}

// TestBoundInactive: a TCP socket that is bound but neither listening nor
// connected is listed (kernel 6.8+, TCP_BOUND_INACTIVE).
func TestBoundInactive(t *testing.T) {
	if !nstest.KernelAtLeast(6, 8) {
		t.Skip("bound-inactive TCP sockets are dumpable from Linux 6.8 on")
	}
	n := newTestNet(t)
	var b *sock
	n.Do(func() { b = newSock(t, unix.AF_INET, unix.SOCK_STREAM).bind4("127.0.0.1", 0) })
	snap := collect(t, n, false)
	s := mustFind(t, snap, b, "bound-only socket")
	if !s.BoundInactive() || s.State.String() != "UNCONN" || s.Local != b.local() {
		t.Errorf("bound-only socket = state %v local %v, want UNCONN (bound, inactive) on %v", s.State, s.Local, b.local())
	}
}

// TestUDP: an unconnected UDP socket is UNCONN with no remote; a connected
// one is ESTAB with its default remote endpoint.
func TestUDP(t *testing.T) {
	n := newTestNet(t)
	var srv, cli *sock
	n.Do(func() {
		srv = newSock(t, unix.AF_INET, unix.SOCK_DGRAM).bind4("127.0.0.1", 0)
		cli = newSock(t, unix.AF_INET, unix.SOCK_DGRAM).connect4(srv.local())
	})
	snap := collect(t, n, false)
	s := mustFind(t, snap, srv, "unconnected UDP socket")
	c := mustFind(t, snap, cli, "connected UDP socket")
	if s.Proto != sockscope.UDP || s.State != sockscope.Close || s.Connected() || s.Local != srv.local() {
		t.Errorf("unconnected = %v %v connected=%v local %v", s.Proto, s.State, s.Connected(), s.Local)
	}
	if c.State != sockscope.Established || c.Remote != srv.local() || c.Local != cli.local() {
		t.Errorf("connected = %v %v -> %v, want ESTAB %v -> %v", c.State, c.Local, c.Remote, cli.local(), srv.local())
	}
}

// TestUnix: Unix sockets have no port; they are named by a path, an
// abstract name or nothing, and connected ones are paired by peer inode.
func TestUnix(t *testing.T) {
	n := newTestNet(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")
	abstract := fmt.Sprintf("sockscope-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	var pl, al, pc, pa *sock
	var pair [2]*sock
	n.Do(func() {
		pl = newSock(t, unix.AF_UNIX, unix.SOCK_STREAM)
		if err := unix.Bind(pl.fd, &unix.SockaddrUnix{Name: path}); err != nil {
			t.Fatal(err)
		}
		pl.listen()
		al = newSock(t, unix.AF_UNIX, unix.SOCK_STREAM)
		if err := unix.Bind(al.fd, &unix.SockaddrUnix{Name: "@" + abstract}); err != nil {
			t.Fatal(err)
		}
		al.listen()
		pc = newSock(t, unix.AF_UNIX, unix.SOCK_STREAM)
		if err := unix.Connect(pc.fd, &unix.SockaddrUnix{Name: path}); err != nil {
			t.Fatal(err)
		}
		pa = pl.accept()
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range fds {
			pair[i] = &sock{t: t, fd: fds[i]}
			t.Cleanup(pair[i].close)
		}
	})
	snap := collect(t, n, false)
	l := mustFind(t, snap, pl, "path listener")
	if l.Path != path || l.State != sockscope.Listen || l.Port() != (sockscope.Port{}) {
		t.Errorf("path listener = %q %v port %v, want %q LISTEN and no port", l.Path, l.State, l.Port(), path)
	}
	a := mustFind(t, snap, al, "abstract listener")
	if a.Path != "@"+abstract {
		t.Errorf("abstract listener path = %q, want %q", a.Path, "@"+abstract)
	}
	c, acc := mustFind(t, snap, pc, "client"), mustFind(t, snap, pa, "accepted")
	if c.Peer != acc || acc.Peer != c || c.PeerInode != pa.inode() {
		t.Errorf("client/accepted not paired: client.PeerInode=%d accepted inode=%d", c.PeerInode, pa.inode())
	}
	if acc.Path != path {
		t.Errorf("accepted socket path = %q, want the listener's %q (a path is shared like a port)", acc.Path, path)
	}
	p0, p1 := mustFind(t, snap, pair[0], "socketpair 0"), mustFind(t, snap, pair[1], "socketpair 1")
	if p0.Path != "" || p1.Path != "" || p0.Peer != p1 || p1.Peer != p0 || p0.Type != sockscope.SockSeqpacket {
		t.Errorf("socketpair: paths %q %q type %v, peers linked %v/%v", p0.Path, p1.Path, p0.Type, p0.Peer == p1, p1.Peer == p0)
	}
}

// TestHeldByTwo: after a fork-like fd inheritance, one socket has two
// holders; a socket closed by its only holder is gone.
func TestHeldByTwo(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary to inherit the socket")
	}
	n := newTestNet(t)
	var l *sock
	n.Do(func() { l = newSock(t, unix.AF_INET, unix.SOCK_STREAM).bind4("127.0.0.1", 0).listen() })
	dfd, err := unix.FcntlInt(uintptr(l.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(dfd), "listener")
	cmd := exec.Command(sleep, "30")
	cmd.ExtraFiles = []*os.File{f} // fd 3 in the child
	err = cmd.Start()
	f.Close() // the child has its copy; this process keeps l.fd only
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	snap := collect(t, n, true)
	s := mustFind(t, snap, l, "inherited listener")
	want := map[int]int{os.Getpid(): l.fd, cmd.Process.Pid: 3}
	got := map[int]int{}
	for _, h := range s.Holders {
		got[h.PID()] = h.FD
	}
	for pid, fd := range want {
		if got[pid] != fd {
			t.Errorf("holder pid %d: fd %d, want %d (holders %v)", pid, got[pid], fd, got)
		}
	}
	if len(s.Holders) != 2 {
		t.Errorf("%d holders, want 2: %v", len(s.Holders), got)
	}
	for _, h := range s.Holders {
		if h.PID() == cmd.Process.Pid && (h.Proc == nil || h.Proc.Comm != "sleep" || !strings.Contains(strings.Join(h.Proc.Cmdline, " "), "30")) {
			t.Errorf("child holder = %+v, want comm sleep, cmdline with 30", h.Proc)
		}
	}
}

// TestLocalPort: asking for one local port (filtered in the kernel, or
// while reading /proc) returns every socket on that port, TIME-WAIT
// included, and nothing else.
func TestLocalPort(t *testing.T) {
	n := newTestNet(t)
	var l, other *sock
	var tw netip.AddrPort
	n.Do(func() {
		l = newSock(t, unix.AF_INET, unix.SOCK_STREAM).bind4("127.0.0.1", 0).listen()
		other = newSock(t, unix.AF_INET, unix.SOCK_STREAM).bind4("127.0.0.1", 0).listen()
		c := newSock(t, unix.AF_INET, unix.SOCK_STREAM).connect4(l.local())
		a := l.accept()
		tw = a.local()
		a.close() // the accepted side closes first: TIME-WAIT on the listener's port
		c.close()
	})
	port := l.local().Port()
	for _, src := range []sockscope.Source{sockscope.SourceNetlink, sockscope.SourceProc} {
		o := n.Options()
		o.Source = src
		o.LocalPort = port
		var snap *sockscope.Snapshot
		var sawTW bool
		// The TIME-WAIT needs the peer's FIN-ACK: poll for it, bounded.
		for deadline := time.Now().Add(5 * time.Second); !sawTW && time.Now().Before(deadline); {
			var err error
			if snap, err = sockscope.Collect(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			sawTW = false
			for _, s := range snap.Sockets {
				if s.State == sockscope.TimeWait && s.Local == tw {
					sawTW = true
				}
			}
			if !sawTW {
				time.Sleep(20 * time.Millisecond)
			}
		}
		var listen int
		for _, s := range snap.Sockets {
			if s.Proto.HasPorts() && s.Local.Port() != port {
				t.Errorf("source %d: LocalPort %d returned %v %v on %v", src, port, s.Proto, s.State, s.Local)
			}
			if s.Inode == other.inode() {
				t.Errorf("source %d: the listener on another port was returned", src)
			}
			if s.Inode == l.inode() {
				listen++
			}
		}
		if listen != 1 || !sawTW {
			t.Errorf("source %d: our listener seen %d times and TIME-WAIT seen %v on port %d, want 1 and true", src, listen, sawTW, port)
		}
	}
}
