package sockscope_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/internal/nstest"
)

// bpfSock makes a socket on the test thread with SO_REUSEADDR,
// SO_REUSEPORT and (AF_INET6) IPV6_V6ONLY set as given, bound to bind.
func bpfSock(t *testing.T, typ int, bind netip.AddrPort, reuseAddr, reusePort, v6only bool) int {
	t.Helper()
	family := unix.AF_INET6
	var sa unix.Sockaddr = &unix.SockaddrInet6{Addr: bind.Addr().As16(), Port: int(bind.Port())}
	if bind.Addr().Is4() {
		family = unix.AF_INET
		sa = &unix.SockaddrInet4{Addr: bind.Addr().As4(), Port: int(bind.Port())}
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	set := func(level, opt int, on bool) {
		v := 0
		if on {
			v = 1
		}
		if err := unix.SetsockoptInt(fd, level, opt, v); err != nil {
			t.Fatal(err)
		}
	}
	set(unix.SOL_SOCKET, unix.SO_REUSEADDR, reuseAddr)
	set(unix.SOL_SOCKET, unix.SO_REUSEPORT, reusePort)
	if family == unix.AF_INET6 {
		set(unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only)
	}
	if err := unix.Bind(fd, sa); err != nil {
		t.Fatal(err)
	}
	return fd
}

func sockCookie(t *testing.T, fd int) uint64 {
	t.Helper()
	c, err := unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_COOKIE)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sockName(t *testing.T, fd int) netip.AddrPort {
	t.Helper()
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
	}
	t.Fatalf("getsockname: %T", sa)
	return netip.AddrPort{}
}

// TestCollectBPF collects a namespace of the test's own with SourceBPF and
// checks, for a listener, a bound-only TCP socket, a TIME-WAIT socket and
// UDP sockets, that ReuseAddr, ReusePort and V6Only are the options the
// test set, that TCP sockets carry their port's bind bucket, and that the
// holders found through iter/task_file are those the /proc scan finds.
func TestCollectBPF(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the BPF source needs root")
	}
	// In private PID and mount namespaces the holder scans see only this
	// test's processes (and task_file's pids must be this namespace's).
	if !nstest.Isolate(t) {
		return
	}
	n := newTestNet(t)
	v4, v6 := netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()
	type want struct {
		name                         string
		cookie                       uint64
		local, remote                netip.AddrPort
		state                        sockscope.State
		reuseAddr, reusePort, v6only bool
		bucket                       bool
	}
	var wants []want
	n.Do(func() {
		l := bpfSock(t, unix.SOCK_STREAM, netip.AddrPortFrom(v4, 0), true, false, false)
		if err := unix.Listen(l, 8); err != nil {
			t.Fatal(err)
		}
		b := bpfSock(t, unix.SOCK_STREAM, netip.AddrPortFrom(v6, 0), false, true, true)
		u := bpfSock(t, unix.SOCK_DGRAM, netip.AddrPortFrom(netip.IPv6Unspecified(), 0), true, true, false)
		wants = append(wants,
			want{name: "listener", cookie: sockCookie(t, l), local: sockName(t, l), state: sockscope.Listen, reuseAddr: true, bucket: true},
			want{name: "bound-only", cookie: sockCookie(t, b), local: sockName(t, b), state: sockscope.Close, reusePort: true, v6only: true, bucket: true},
			want{name: "udp", cookie: sockCookie(t, u), local: sockName(t, u), state: sockscope.Close, reuseAddr: true, reusePort: true})
		// A TIME-WAIT socket: the client, with SO_REUSEPORT, closes first.
		c := bpfSock(t, unix.SOCK_STREAM, netip.AddrPortFrom(v4, 0), false, true, false)
		if err := unix.Connect(c, &unix.SockaddrInet4{Addr: v4.As4(), Port: int(sockName(t, l).Port())}); err != nil {
			t.Fatal(err)
		}
		a, _, err := unix.Accept4(l, unix.SOCK_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		cl := sockName(t, c)
		unix.Close(c)
		unix.Close(a)
		wants = append(wants, want{name: "TIME-WAIT", local: cl, remote: sockName(t, l), state: sockscope.TimeWait, reusePort: true, bucket: true})
	})
	opts := n.Options()
	opts.Source = sockscope.SourceBPF
	opts.Holders = true
	opts.Protos = []sockscope.Proto{sockscope.TCP, sockscope.UDP}
	var snap *sockscope.Snapshot
	// The client's FIN-WAIT-2 becomes TIME-WAIT when the server's FIN
	// arrives: poll, bounded.
	for deadline := time.Now().Add(5 * time.Second); ; {
		var err error
		snap, err = sockscope.Collect(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Source != sockscope.SourceBPF {
			t.Skipf("BPF unavailable here: %v", snap.Warnings)
		}
		if slices.ContainsFunc(snap.Sockets, func(s *sockscope.Socket) bool { return s.State == sockscope.TimeWait }) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, w := range wants {
		i := slices.IndexFunc(snap.Sockets, func(s *sockscope.Socket) bool {
			if w.cookie != 0 {
				return s.Cookie == w.cookie
			}
			return s.Local == w.local && s.Remote == w.remote
		})
		if i < 0 {
			t.Errorf("%s %v: not collected", w.name, w.local)
			continue
		}
		s := snap.Sockets[i]
		if s.State != w.state {
			t.Errorf("%s: state %v, want %v", w.name, s.State, w.state)
		}
		if s.ReuseAddr != sockscope.TristateOf(w.reuseAddr) || s.ReusePort != sockscope.TristateOf(w.reusePort) {
			t.Errorf("%s: reuseaddr %v reuseport %v, want %v %v", w.name, s.ReuseAddr, s.ReusePort, w.reuseAddr, w.reusePort)
		}
		if s.Family == sockscope.FamilyInet6 && s.V6Only != sockscope.TristateOf(w.v6only) {
			t.Errorf("%s: v6only %v, want %v", w.name, s.V6Only, w.v6only)
		}
		if w.bucket != (s.BindBucket != nil) || (s.BindBucket != nil && s.BindBucket.Port != w.local.Port()) {
			t.Errorf("%s: bind bucket %+v, want one: %v", w.name, s.BindBucket, w.bucket)
		}
		if w.cookie != 0 && !slices.ContainsFunc(s.Holders, func(h sockscope.Holder) bool { return h.PID() == os.Getpid() }) {
			t.Errorf("%s: holders %v, want this process", w.name, s.Holders)
		}
	}

	// Without the holder scan, bound-only sockets' flags still come (the
	// fd tables are walked for them alone).
	noHolders := opts
	noHolders.Holders = false
	bare, err := sockscope.Collect(t.Context(), noHolders)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range wants {
		if w.state != sockscope.Close || w.cookie == 0 || !w.bucket { // bound-only TCP
			continue
		}
		for _, s := range bare.Sockets {
			if s.Cookie == w.cookie && (s.ReuseAddr != sockscope.TristateOf(w.reuseAddr) || s.ReusePort != sockscope.TristateOf(w.reusePort) || s.BindBucket == nil) {
				t.Errorf("%s without holders: reuseaddr %v reuseport %v bucket %v", w.name, s.ReuseAddr, s.ReusePort, s.BindBucket)
			}
		}
	}

	// The same sockets' holders through /proc.
	opts.Source = sockscope.SourceNetlink
	plain, err := sockscope.Collect(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	holdersOf := func(snap *sockscope.Snapshot, cookie uint64) [][2]int {
		var out [][2]int
		for _, s := range snap.Sockets {
			if s.Cookie == cookie {
				for _, h := range s.Holders {
					out = append(out, [2]int{h.PID(), h.FD})
				}
			}
		}
		return out
	}
	for _, w := range wants {
		if w.cookie == 0 {
			continue
		}
		if a, b := holdersOf(snap, w.cookie), holdersOf(plain, w.cookie); !slices.Equal(a, b) || len(a) == 0 {
			t.Errorf("%s: holders through BPF %v, through /proc %v", w.name, a, b)
		}
	}
	for _, s := range plain.Sockets {
		if s.ReuseAddr != sockscope.Unknown || s.BindBucket != nil {
			t.Errorf("netlink source: %v has reuseaddr %v bucket %v, want unknown", s.Local, s.ReuseAddr, s.BindBucket)
		}
	}
}

// TestCollectBPFFallback: without privilege, SourceBPF reads as
// SourceNetlink does and says why in one WarnSource warning.
func TestCollectBPFFallback(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("as root BPF loads; the fallback is for unprivileged users")
	}
	snap, err := sockscope.Collect(t.Context(), sockscope.Options{Source: sockscope.SourceBPF, Protos: []sockscope.Proto{sockscope.TCP}})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Source != sockscope.SourceNetlink {
		t.Errorf("source %v, want netlink", snap.Source)
	}
	n := 0
	for _, w := range snap.Warnings {
		if w.Kind == sockscope.WarnSource {
			n++
			t.Log(w.Msg)
		}
	}
	if n != 1 {
		t.Errorf("warnings %v, want one of kind source", snap.Warnings)
	}
	if _, err := sockscope.LoadBPF(); !errors.Is(err, sockscope.ErrNotSupported) {
		t.Errorf("LoadBPF: %v, want ErrNotSupported", err)
	}
}

// TestCollectBPFCancelManyNetNS: cancelled while the BPF iterators read 50
// namespaces, Collect returns within 200 ms with an *OpError wrapping
// context.Canceled.
func TestCollectBPFCancelManyNetNS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the BPF source needs root")
	}
	if !nstest.Isolate(t) {
		return
	}
	bp, err := sockscope.LoadBPF()
	if err != nil {
		t.Skipf("BPF does not load here: %v", err)
	}
	defer bp.Close()
	nstest.Many(t, fmt.Sprintf("bpfcancel-%d", os.Getpid()), 50)
	opts := sockscope.Options{AllNetNS: true, Holders: true, Source: sockscope.SourceBPF, BPF: bp}
	start := time.Now()
	if _, err := sockscope.Collect(t.Context(), opts); err != nil {
		t.Fatalf("uncancelled collection: %v", err)
	}
	at := time.Since(start) / 4
	for try := range 5 {
		ctx, cancel := context.WithCancel(t.Context())
		var cancelled time.Time
		timer := time.AfterFunc(at, func() { cancelled = time.Now(); cancel() })
		_, err := sockscope.Collect(ctx, opts)
		returned := time.Now()
		stopped := timer.Stop()
		cancel()
		if stopped || err == nil {
			t.Logf("try %d: finished before the cancellation at %v", try, at)
			at /= 2
			continue
		}
		var op *sockscope.OpError
		if !errors.Is(err, context.Canceled) || !errors.As(err, &op) {
			t.Fatalf("err = %v (%T), want an *OpError wrapping context.Canceled", err, err)
		}
		if lat := returned.Sub(cancelled); lat > 200*time.Millisecond {
			t.Errorf("Collect returned %v after the cancellation (%v), want <= 200ms", lat, err)
		}
		return
	}
	t.Fatal("Collect never saw the cancellation in 5 tries")
}

// TestCollectBPFCancelled: a collection through BPF cancelled before it
// starts returns an *OpError wrapping context.Canceled, as without BPF.
func TestCollectBPFCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := sockscope.Collect(ctx, sockscope.Options{Source: sockscope.SourceBPF, Holders: true})
	var op *sockscope.OpError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &op) {
		t.Fatalf("err = %v, want an *OpError wrapping context.Canceled", err)
	}
}

// TestCollectBPFSkipFlags: SkipFlags does not apply to SourceBPF, which
// always reads the flags (readBPF's own test covers auto).
func TestCollectBPFSkipFlags(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the BPF source needs root")
	}
	if !nstest.Isolate(t) {
		return
	}
	n := newTestNet(t)
	var cookie uint64
	n.Do(func() {
		l := bpfSock(t, unix.SOCK_STREAM, netip.MustParseAddrPort("127.0.0.1:0"), true, true, false)
		if err := unix.Listen(l, 8); err != nil {
			t.Fatal(err)
		}
		cookie = sockCookie(t, l)
	})
	opts := n.Options()
	opts.Source, opts.SkipFlags, opts.Holders = sockscope.SourceBPF, true, true
	opts.Protos = []sockscope.Proto{sockscope.TCP}
	snap, err := sockscope.Collect(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Source != sockscope.SourceBPF {
		t.Skipf("BPF did not load: %v", snap.Warnings)
	}
	i := slices.IndexFunc(snap.Sockets, func(s *sockscope.Socket) bool { return s.Cookie == cookie })
	if i < 0 {
		t.Fatalf("the listener (cookie %d) is missing", cookie)
	}
	s := snap.Sockets[i]
	if s.ReuseAddr != sockscope.Yes || s.ReusePort != sockscope.Yes || s.BindBucket == nil || len(s.Holders) != 1 {
		t.Errorf("listener: reuseaddr %v reuseport %v bucket %v holders %v; want yes, yes, a bucket and this process", s.ReuseAddr, s.ReusePort, s.BindBucket != nil, s.Holders)
	}
}

// TestCollectBPFFlagStates: with FlagStates, the flags read through BPF
// are kept for sockets in those states only: a listener's are, the
// connection's two ends' are not (and are, without FlagStates).
func TestCollectBPFFlagStates(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the BPF source needs root")
	}
	if !nstest.Isolate(t) {
		return
	}
	n := newTestNet(t)
	var lc, cc uint64
	n.Do(func() {
		l := bpfSock(t, unix.SOCK_STREAM, netip.MustParseAddrPort("127.0.0.1:0"), true, false, false)
		if err := unix.Listen(l, 8); err != nil {
			t.Fatal(err)
		}
		c := bpfSock(t, unix.SOCK_STREAM, netip.MustParseAddrPort("127.0.0.1:0"), true, true, false)
		if err := unix.Connect(c, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: int(sockName(t, l).Port())}); err != nil {
			t.Fatal(err)
		}
		lc, cc = sockCookie(t, l), sockCookie(t, c)
	})
	for _, c := range []struct {
		states            sockscope.StateSet
		listener, connEnd bool // flags known
	}{
		{sockscope.StateSet(0).With(sockscope.Listen, sockscope.Close, sockscope.TimeWait), true, false},
		{0, true, true},
	} {
		opts := n.Options()
		opts.Source, opts.FlagStates = sockscope.SourceBPF, c.states
		opts.Protos = []sockscope.Proto{sockscope.TCP}
		snap, err := sockscope.Collect(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Source != sockscope.SourceBPF {
			t.Skipf("BPF did not load: %v", snap.Warnings)
		}
		known := map[uint64]bool{}
		for _, s := range snap.Sockets {
			known[s.Cookie] = s.ReuseAddr != sockscope.Unknown || s.ReusePort != sockscope.Unknown || s.BindBucket != nil
		}
		if known[lc] != c.listener || known[cc] != c.connEnd {
			t.Errorf("FlagStates %b: flags known for the listener %v, the client %v; want %v, %v", c.states, known[lc], known[cc], c.listener, c.connEnd)
		}
	}
}
