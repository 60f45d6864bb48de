package bpfiter

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/holders"
	"github.com/sockscope/sockscope/internal/nstest"
)

// load loads the iterators or skips the test with the reason.
func load(t *testing.T) *Iters {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("BPF iterators need root (CAP_BPF, CAP_PERFMON)")
	}
	it, err := Load()
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("kernel cannot run the iterators: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := it.Close(); err != nil {
			t.Error(err)
		}
	})
	return it
}

// inNewNetNS runs fn on a locked thread in a new network namespace with
// loopback up. The thread is never unlocked: Go ends it with the goroutine.
func inNewNetNS(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
			return
		}
		if err := nstest.LoUp(); err != nil {
			done <- err
			return
		}
		defer func() {
			if v := recover(); v != nil {
				done <- fmt.Errorf("panic: %v", v)
			}
		}()
		fn()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// flags are the options a test sets on a socket.
type flags struct {
	reuseAddr, reusePort, v6only bool
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sock makes a socket of family (AF_INET, AF_INET6) and type with f set.
func sock(t *testing.T, family, typ int, f flags) int {
	t.Helper()
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	must(t, unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, b2i(f.reuseAddr)))
	must(t, unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, b2i(f.reusePort)))
	if family == unix.AF_INET6 {
		must(t, unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, b2i(f.v6only)))
	}
	return fd
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sa(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}
	}
	return &unix.SockaddrInet6{Addr: ap.Addr().As16(), Port: int(ap.Port())}
}

func local(t *testing.T, fd int) netip.AddrPort {
	t.Helper()
	s, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	switch s := s.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(s.Addr), uint16(s.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(s.Addr), uint16(s.Port))
	}
	t.Fatalf("getsockname: %T", s)
	return netip.AddrPort{}
}

func cookie(t *testing.T, fd int) uint64 {
	t.Helper()
	c, err := unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_COOKIE)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// want is one socket the test made and what the iterator must report.
type want struct {
	name          string
	proto         uint8
	state         uint8 // 0: any
	local, remote netip.AddrPort
	cookie        uint64 // 0: match by addresses
	held          bool   // seen through Holders, not Sockets
	f             flags
	bucket        bool // a TCP bind bucket must be reported
}

// TCP states.
const (
	stEstablished = 1
	stFinWait1    = 4
	stTimeWait    = 6
	stClose       = 7
	stListen      = 10
)

// TestFlagsEveryState sets SO_REUSEADDR, SO_REUSEPORT and IPV6_V6ONLY on
// sockets in every state, in a network namespace of its own, and checks
// that the iterators report them: listeners, a bound-only TCP socket (seen
// through iter/task_file), established connections (the accepted end
// inherits its listener's flags), TIME-WAIT sockets, an orphan (closed
// with unsent data, in FIN-WAIT-1 with no fd) and UDP sockets.
func TestFlagsEveryState(t *testing.T) {
	it := load(t)
	v4 := netip.MustParseAddr("127.0.0.1")
	v6 := netip.IPv6Loopback()
	var wants []want
	var got []Sock
	var held []Sock
	var hs []Holder
	inNewNetNS(t, func() {
		// Listeners: v4 with SO_REUSEADDR, v6 with SO_REUSEPORT and v6only.
		l4f := flags{reuseAddr: true}
		l4 := sock(t, unix.AF_INET, unix.SOCK_STREAM, l4f)
		must(t, unix.Bind(l4, sa(netip.AddrPortFrom(v4, 0))))
		must(t, unix.Listen(l4, 16))
		l6f := flags{reusePort: true, v6only: true}
		l6 := sock(t, unix.AF_INET6, unix.SOCK_STREAM, l6f)
		must(t, unix.Bind(l6, sa(netip.AddrPortFrom(v6, 0))))
		must(t, unix.Listen(l6, 16))
		wants = append(wants,
			want{name: "v4 listener", proto: TCP, state: stListen, local: local(t, l4), cookie: cookie(t, l4), f: l4f, bucket: true},
			want{name: "v6 listener", proto: TCP, state: stListen, local: local(t, l6), cookie: cookie(t, l6), f: l6f, bucket: true})

		// Bound only.
		bf := flags{reuseAddr: true, reusePort: true, v6only: true}
		bo := sock(t, unix.AF_INET6, unix.SOCK_STREAM, bf)
		must(t, unix.Bind(bo, sa(netip.AddrPortFrom(v6, 0))))
		wants = append(wants, want{name: "v6 bound-only", proto: TCP, state: stClose, local: local(t, bo), cookie: cookie(t, bo), held: true, f: bf, bucket: true})

		// Established pairs, then TIME-WAIT: the client closes first.
		connect := func(name string, family int, l int, cf flags, lf flags, closeFirst bool) {
			c := sock(t, family, unix.SOCK_STREAM, cf)
			must(t, unix.Connect(c, sa(local(t, l))))
			a, _, err := unix.Accept4(l, unix.SOCK_CLOEXEC)
			must(t, err)
			t.Cleanup(func() { unix.Close(a) })
			cl, al := local(t, c), local(t, a)
			if !closeFirst {
				wants = append(wants,
					want{name: name + " client", proto: TCP, state: stEstablished, local: cl, remote: al, cookie: cookie(t, c), f: cf, bucket: true},
					want{name: name + " accepted", proto: TCP, state: stEstablished, local: al, remote: cl, cookie: cookie(t, a), f: lf, bucket: true})
				return
			}
			must(t, unix.Close(c))
			must(t, unix.Close(a))
			wants = append(wants, want{name: name + " TIME-WAIT", proto: TCP, state: stTimeWait, local: cl, remote: al, f: cf, bucket: true})
		}
		connect("v4", unix.AF_INET, l4, flags{reuseAddr: true}, l4f, false)
		connect("v6", unix.AF_INET6, l6, flags{reusePort: true, v6only: true}, l6f, false)
		connect("v4", unix.AF_INET, l4, flags{reuseAddr: true, reusePort: true}, l4f, true)
		connect("v6", unix.AF_INET6, l6, flags{v6only: true, reusePort: true}, l6f, true)

		// An orphan: the client closes with data the server never reads.
		// The server's receive buffer is tiny, so its window closes and
		// the client keeps unsent data: after close() it stays in
		// FIN-WAIT-1 with no fd (probing the zero window for minutes).
		// With room at the server it would reach FIN-WAIT-2 and become a
		// TIME-WAIT socket at once (fin_timeout <= TIME-WAIT's length).
		ol4 := sock(t, unix.AF_INET, unix.SOCK_STREAM, flags{})
		must(t, unix.SetsockoptInt(ol4, unix.SOL_SOCKET, unix.SO_RCVBUF, 1))
		must(t, unix.Bind(ol4, sa(netip.AddrPortFrom(v4, 0))))
		must(t, unix.Listen(ol4, 4))
		of := flags{reuseAddr: true, reusePort: true}
		o := sock(t, unix.AF_INET, unix.SOCK_STREAM, of)
		must(t, unix.SetsockoptInt(o, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096))
		must(t, unix.Connect(o, sa(local(t, ol4))))
		oa, _, err := unix.Accept4(ol4, unix.SOCK_CLOEXEC)
		must(t, err)
		t.Cleanup(func() { unix.Close(oa) })
		must(t, unix.SetNonblock(o, true))
		chunk := make([]byte, 64<<10)
		unsent := 0
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			if _, err := unix.Write(o, chunk); err != nil && !errors.Is(err, unix.EAGAIN) {
				t.Fatal(err)
			}
			// Unsent bytes left while the server's window is zero.
			if unsent, err = unix.IoctlGetInt(o, unix.SIOCOUTQNSD); err != nil {
				t.Fatal(err)
			}
			if unsent > 0 {
				var inq int
				if inq, err = unix.IoctlGetInt(oa, unix.SIOCINQ); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond)
				inq2, err := unix.IoctlGetInt(oa, unix.SIOCINQ)
				if err != nil {
					t.Fatal(err)
				}
				if inq2 == inq { // the window stays closed
					break
				}
			}
		}
		if unsent == 0 {
			t.Fatal("orphan: the client has no unsent data after 5 s")
		}
		ol, oal := local(t, o), local(t, oa)
		must(t, unix.Close(o))
		wants = append(wants, want{name: "v4 orphan", proto: TCP, state: stFinWait1, local: ol, remote: oal, f: of, bucket: true})

		// UDP: bound, and connected.
		u4f := flags{reuseAddr: true}
		u4 := sock(t, unix.AF_INET, unix.SOCK_DGRAM, u4f)
		must(t, unix.Bind(u4, sa(netip.AddrPortFrom(v4, 0))))
		u6f := flags{reusePort: true, v6only: true}
		u6 := sock(t, unix.AF_INET6, unix.SOCK_DGRAM, u6f)
		must(t, unix.Bind(u6, sa(netip.AddrPortFrom(netip.IPv6Unspecified(), 0))))
		ucf := flags{reuseAddr: true, reusePort: true}
		uc := sock(t, unix.AF_INET, unix.SOCK_DGRAM, ucf)
		must(t, unix.Connect(uc, sa(local(t, u4))))
		wants = append(wants,
			want{name: "v4 udp", proto: UDP, local: local(t, u4), cookie: cookie(t, u4), f: u4f},
			want{name: "v6 udp", proto: UDP, local: local(t, u6), cookie: cookie(t, u6), f: u6f},
			want{name: "v4 udp connected", proto: UDP, local: local(t, uc), remote: local(t, u4), cookie: cookie(t, uc), f: ucf})

		// Wait (bounded) until both TIME-WAIT sockets are there.
		deadline := time.Now().Add(5 * time.Second)
		for {
			tcp, err := it.Sockets(TCP)
			must(t, err)
			n := 0
			for _, s := range tcp {
				if s.State == stTimeWait {
					n++
				}
			}
			if n >= 2 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		tcp, err := it.Sockets(TCP)
		must(t, err)
		udp, err := it.Sockets(UDP)
		must(t, err)
		got = append(tcp, udp...)
		hs, held, err = it.Holders()
		must(t, err)
	})

	for _, w := range wants {
		from := got
		if w.held {
			from = held
		}
		i := slices.IndexFunc(from, func(s Sock) bool {
			if w.cookie != 0 {
				return s.Cookie == w.cookie
			}
			return s.Proto == w.proto && s.Local == w.local && s.Remote == w.remote
		})
		if i < 0 {
			t.Errorf("%s %v: not reported", w.name, w.local)
			continue
		}
		s := from[i]
		if s.Proto != w.proto || (w.state != 0 && s.State != w.state) || s.Local != w.local {
			t.Errorf("%s: got proto %d state %d local %v, want %d %d %v", w.name, s.Proto, s.State, s.Local, w.proto, w.state, w.local)
		}
		if w.remote.IsValid() && s.Remote != w.remote {
			t.Errorf("%s: remote %v, want %v", w.name, s.Remote, w.remote)
		}
		if (s.ReuseAddr != 0) != w.f.reuseAddr || s.ReusePort != w.f.reusePort || s.V6Only != w.f.v6only {
			t.Errorf("%s: reuseaddr=%d reuseport=%v v6only=%v, want %v %v %v", w.name, s.ReuseAddr, s.ReusePort, s.V6Only, w.f.reuseAddr, w.f.reusePort, w.f.v6only)
		}
		if w.bucket && (s.Bucket == nil || s.Bucket.Port != w.local.Port()) {
			t.Errorf("%s: bind bucket %+v, want one for port %d", w.name, s.Bucket, w.local.Port())
		}
		if !w.bucket && s.Bucket != nil {
			t.Errorf("%s: bind bucket %+v, want none", w.name, s.Bucket)
		}
		if w.state == stFinWait1 && s.Inode != 0 {
			t.Errorf("%s: inode %d, want 0 for an orphan", w.name, s.Inode)
		}
		t.Logf("%s: %+v bucket %+v", w.name, s, s.Bucket)
	}
	// The holders of this process's own sockets are its fds.
	self := int32(os.Getpid())
	for _, w := range wants {
		if w.cookie == 0 {
			continue
		}
		if !slices.ContainsFunc(hs, func(h Holder) bool { return h.Cookie == w.cookie && h.PID == self }) {
			t.Errorf("%s: no holder with its cookie in this process", w.name)
		}
	}
}

// TestHoldersEqualProcScan compares iter/task_file with the /proc scan for
// the sockets this test makes: the same (pid, fd) for every inode.
func TestHoldersEqualProcScan(t *testing.T) { holdersEqualProcScan(t) }

// TestHoldersEqualProcScanPIDNS is TestHoldersEqualProcScan in a PID
// namespace of its own, where the kernel's process ids differ from the
// ones /proc shows: iter/task_file must report the latter.
func TestHoldersEqualProcScanPIDNS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("BPF iterators need root (CAP_BPF, CAP_PERFMON)")
	}
	if !nstest.Isolate(t) {
		return
	}
	if os.Getpid() > 100 {
		t.Fatalf("pid %d: not in a new PID namespace", os.Getpid())
	}
	holdersEqualProcScan(t)
}

func holdersEqualProcScan(t *testing.T) {
	it := load(t)
	inodes := map[uint64]bool{}
	for range 5 {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		must(t, err)
		t.Cleanup(func() { unix.Close(fd) })
		dup, err := unix.Dup(fd) // two holders of one socket
		must(t, err)
		t.Cleanup(func() { unix.Close(dup) })
		inodes[nstest.FDInode(t, fd)] = true
	}
	hs, _, err := it.Holders()
	must(t, err)
	res, err := holders.Scan(t.Context(), holders.Options{WantInode: func(ino uint64) bool { return inodes[ino] }})
	must(t, err)
	type ref struct {
		ino     uint64
		pid, fd int
	}
	var fromBPF, fromProc []ref
	for _, h := range hs {
		if inodes[h.Inode] {
			fromBPF = append(fromBPF, ref{h.Inode, int(h.PID), int(h.FD)})
		}
	}
	for _, r := range res.Refs {
		if inodes[r.Inode] {
			fromProc = append(fromProc, ref{r.Inode, res.Procs[r.Proc].PID, int(r.FD)})
		}
	}
	byRef := func(a, b ref) int {
		return cmp.Or(cmp.Compare(a.ino, b.ino), cmp.Compare(a.pid, b.pid), cmp.Compare(a.fd, b.fd))
	}
	slices.SortFunc(fromBPF, byRef)
	slices.SortFunc(fromProc, byRef)
	if len(fromProc) != 10 || !slices.Equal(fromBPF, fromProc) {
		t.Errorf("task_file holders %v\n/proc holders %v", fromBPF, fromProc)
	}
}
