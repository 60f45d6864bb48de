package demux

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/nstest"

	"github.com/sockscope/sockscope"
)

var (
	propN    = flag.Int("demux.scenarios", 150, "number of random kernel scenarios in TestPropertyKernel")
	propSeed = flag.Uint64("demux.seed", 0, "seed of TestPropertyKernel (0: from the clock)")
	propTime = flag.Duration("demux.time", 60*time.Second, "time bound of TestPropertyKernel")
)

// The addresses scenarios bind; all are local once lo is up.
var propAddrs = []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "0.0.0.0", "::", "::1", "::ffff:127.0.0.1", "::ffff:127.0.0.2"}

const (
	propPort   = 7000
	helperPort = 9
)

// otherUIDs are the owners other than root a scenario's socket may have:
// an ordinary user and nobody (65534, as issue 10 asks).
var otherUIDs = []uint32{1000, 65534}

// propUIDs counts the sockets the scenarios created by owner. Scenarios
// run one at a time (runInNetNS waits), so it needs no lock.
var propUIDs = map[uint32]int{}

// psock is a socket a scenario created, with the options it set.
type psock struct {
	fd       int
	addr     netip.Addr
	v6only   bool
	ra, rp   bool
	uid      uint32
	dev      bool // bound to lo
	state    string
	inode    uint64
	local    netip.AddrPort // for TIME-WAIT matching
	remote   netip.AddrPort
	listened bool
}

func (p *psock) String() string {
	fam := "inet"
	if p.addr.Is6() {
		fam = "inet6"
	}
	return fmt.Sprintf("{%s %s %s ra=%v rp=%v v6only=%v uid=%d lo=%v}", fam, netip.AddrPortFrom(p.addr, propPort), p.state, p.ra, p.rp, p.v6only, p.uid, p.dev)
}

// propStats are the figures the property test reports.
type propStats struct {
	scenarios, binds, lookups                   int
	hiddenOK, hiddenFail, hiddenDepends         int
	truthDefinite, truthCache                   int
	lookOne, lookOneOf, lookNone, lookOneOfHW   int
	kernelOK, kernelFail                        int
	bpfOK, bpfFail, bpfDepends                  int // with --source bpf's snapshot
	bpfDependsWhy                               map[string]int
	lookKernelPick, lookOneOfKernel             int
	lookHiddenKernelPick, lookHiddenOneOfKernel int
}

// TestPropertyKernel runs random scenarios for real in private network
// namespaces and compares CheckBind and Lookup with what the kernel did.
// Every definite answer must match; "depends" is allowed only where a
// hidden input decides, and with the true flags supplied the bind answer
// must be definite and right unless it turns on the bind-bucket cache.
func TestPropertyKernel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and sockets of another uid")
	}
	if err := probeUnshare(); err != nil {
		t.Skipf("cannot create a network namespace here: %v", err)
	}
	// In a private PID namespace the BPF pass's task_file iterator walks
	// only this test's processes, not every fd of a busy host (the flags
	// of bound-only sockets come from there). The flags travel in the
	// environment.
	const flagsEnv = "SOCKSCOPE_TEST_DEMUX_PROPERTY"
	if v, ok := os.LookupEnv(flagsEnv); ok {
		var ns int64
		if _, err := fmt.Sscanf(v, "%d %d %d", propN, propSeed, &ns); err != nil {
			t.Fatalf("%s=%q: %v", flagsEnv, v, err)
		}
		*propTime = time.Duration(ns)
	}
	if !nstest.Isolate(t, fmt.Sprintf("%s=%d %d %d", flagsEnv, *propN, *propSeed, int64(*propTime))) {
		return
	}
	seed := *propSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -demux.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	if bp, err := sockscope.LoadBPF(); err == nil {
		propBPF = bp
		defer func() { bp.Close(); propBPF = nil }()
	} else {
		t.Logf("BPF does not load, its pass is skipped: %v", err)
	}
	deadline := time.Now().Add(*propTime)
	var st propStats
	failures := 0
	for i := 0; i < *propN && time.Now().Before(deadline) && failures < 10; i++ {
		sc := newScenario(rng, i)
		errs := runInNetNS(func() []string { return sc.run(&st) })
		st.scenarios++
		for _, e := range errs {
			failures++
			t.Errorf("scenario %d (seed %d):\n%s\n%s", i, seed, sc.describe(), e)
		}
	}
	t.Logf("scenarios %d: binds %d (kernel ok %d, fail %d), lookups %d", st.scenarios, st.binds, st.kernelOK, st.kernelFail, st.lookups)
	t.Logf("binds, flags hidden: ok %d, fail %d, depends %d ", st.hiddenOK, st.hiddenFail, st.hiddenDepends)
	t.Logf("binds, true flags: definite and right %d, depends on the bind-bucket cache %d", st.truthDefinite, st.truthCache)
	if propBPF != nil {
		t.Logf("binds, flags and bind bucket read through BPF: ok %d, fail %d, depends %d %v", st.bpfOK, st.bpfFail, st.bpfDepends, st.bpfDependsWhy)
		if b := st.bpfOK + st.bpfFail + st.bpfDepends; b > 20 && st.bpfDepends*100 > b {
			t.Errorf("BPF source: %d of %d binds depend, want at most 1%%", st.bpfDepends, b)
		}
	}
	t.Logf("lookups: socket %d, one-of %d (reuseport group or hidden flag %d), none %d", st.lookOne, st.lookOneOf, st.lookOneOfHW, st.lookNone)
	t.Logf("lookups with the kernel asked (true flags): the kernel named the member %d times, one-of left %d", st.lookKernelPick, st.lookOneOfKernel)
	t.Logf("lookups with the kernel asked (flags hidden): the kernel named the receiver %d times, one-of left %d", st.lookHiddenKernelPick, st.lookHiddenOneOfKernel)
	t.Logf("sockets created by owner uid: %v", propUIDs)
	if st.scenarios == 0 {
		t.Error("no scenario ran")
	}
	if st.binds > 20 && st.truthCache*4 > st.binds {
		t.Errorf("too many cache-dependent answers: %d of %d", st.truthCache, st.binds)
	}
}

func probeUnshare() error {
	return runErr(func() error {
		return unix.Unshare(unix.CLONE_NEWNET)
	})
}

// runErr runs fn on a fresh locked thread that is discarded afterwards.
func runErr(fn func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread may have changed namespace, and is
		// discarded when this goroutine ends.
		ch <- fn()
	}()
	return <-ch
}

// runInNetNS runs fn in a new network namespace with lo up, on a thread
// that is discarded afterwards.
func runInNetNS(fn func() []string) []string {
	ch := make(chan []string, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- []string{"unshare: " + err.Error()}
			return
		}
		if err := nstest.LoUp(); err != nil {
			ch <- []string{"lo up: " + err.Error()}
			return
		}
		ch <- fn()
	}()
	return <-ch
}

// scenario is one random experiment.
type scenario struct {
	id     int
	rng    *rand.Rand
	proto  sockscope.Proto
	specs  []psock // what to create
	made   []*psock
	req    *BindRequest
	seg    *Segment
	log    []string
	helper map[bool]int // family(v6) -> helper listener fd
}

func newScenario(rng *rand.Rand, id int) *scenario {
	sc := &scenario{id: id, rng: rng, proto: sockscope.TCP}
	if rng.IntN(2) == 0 {
		sc.proto = sockscope.UDP
	}
	lookup := rng.IntN(10) >= 6
	n := 1 + rng.IntN(4)
	for range n {
		p := sc.randSock(true)
		if lookup && rng.IntN(3) > 0 {
			// Lookups need receivers: mostly listeners and bound UDP sockets.
			p.state = "listen"
			if sc.proto == sockscope.UDP {
				p.state = "bound"
			}
		}
		sc.specs = append(sc.specs, p)
	}
	if !lookup {
		p := sc.randSock(false)
		req := &BindRequest{Proto: sc.proto, Addr: netip.AddrPortFrom(p.addr, propPort), ReuseAddr: p.ra, ReusePort: p.rp, V6Only: tri(p.v6only), UID: p.uid, Listen: sc.proto == sockscope.TCP && rng.IntN(2) == 0}
		if !p.addr.Is6() || p.addr.Is4In6() {
			req.V6Only = unknown
			if p.addr.Is4In6() {
				req.V6Only = no
			}
		}
		if p.dev {
			req.Device = 1
		}
		sc.req = req
	} else {
		dsts := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "::1"}
		dst := netip.MustParseAddr(dsts[rng.IntN(len(dsts))])
		src := netip.MustParseAddrPort("127.0.0.5:40000")
		if dst.Is6() {
			src = netip.MustParseAddrPort("[::1]:40000")
		}
		if rng.IntN(2) == 0 {
			src = netip.AddrPortFrom(src.Addr(), 40001)
		}
		sc.seg = &Segment{Proto: sc.proto, Src: src, Dst: netip.AddrPortFrom(dst, propPort), Ifindex: 1}
	}
	return sc
}

func (sc *scenario) randSock(existing bool) psock {
	r := sc.rng
	p := psock{addr: netip.MustParseAddr(propAddrs[r.IntN(len(propAddrs))])}
	p.ra = r.IntN(2) == 0
	p.rp = r.IntN(2) == 0
	if p.addr.Is6() && !p.addr.Is4In6() {
		p.v6only = r.IntN(2) == 0
	}
	if r.IntN(4) == 0 {
		p.uid = otherUIDs[r.IntN(len(otherUIDs))]
	}
	p.dev = r.IntN(7) == 0
	if existing {
		states := []string{"listen", "bound", "estab", "timewait", "orphan"}
		if sc.proto == sockscope.UDP {
			states = []string{"bound", "bound", "connected"}
		}
		p.state = states[r.IntN(len(states))]
	}
	return p
}

func (sc *scenario) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "proto %s\n", sc.proto)
	for _, p := range sc.made {
		fmt.Fprintf(&b, "  existing %s inode %d\n", p, p.inode)
	}
	if sc.req != nil {
		fmt.Fprintf(&b, "  request %+v\n", *sc.req)
	}
	if sc.seg != nil {
		fmt.Fprintf(&b, "  segment %s %s -> %s\n", sc.seg.Proto, sc.seg.Src, sc.seg.Dst)
	}
	for _, l := range sc.log {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

func errnoName(err error) string {
	var e unix.Errno
	if errors.As(err, &e) {
		return unix.ErrnoName(e)
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// newSocket creates and configures a socket as p says, owned by p.uid.
func (sc *scenario) newSocket(p *psock) (int, error) {
	fam := unix.AF_INET
	if p.addr.Is6() {
		fam = unix.AF_INET6
	}
	typ := unix.SOCK_STREAM
	if sc.proto == sockscope.UDP {
		typ = unix.SOCK_DGRAM
	}
	if p.uid != 0 {
		unix.Setfsuid(int(p.uid))
	}
	fd, err := unix.Socket(fam, typ|unix.SOCK_CLOEXEC, 0)
	if p.uid != 0 {
		unix.Setfsuid(0)
	}
	if err != nil {
		return -1, err
	}
	propUIDs[p.uid]++
	set := func(level, opt int, v bool) {
		x := 0
		if v {
			x = 1
		}
		if err == nil {
			err = unix.SetsockoptInt(fd, level, opt, x)
		}
	}
	set(unix.SOL_SOCKET, unix.SO_REUSEADDR, p.ra)
	set(unix.SOL_SOCKET, unix.SO_REUSEPORT, p.rp)
	if fam == unix.AF_INET6 {
		set(unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, p.v6only)
	}
	if p.dev && err == nil {
		err = unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, "lo")
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// helperListener returns a listener on 127.0.0.1:9 or [::1]:9 that the
// ESTAB and TIME-WAIT sockets connect to.
func (sc *scenario) helperListener(v6 bool) (int, error) {
	if fd, ok := sc.helper[v6]; ok {
		return fd, nil
	}
	fam, ap := unix.AF_INET, netip.MustParseAddrPort("127.0.0.1:9")
	if v6 {
		fam, ap = unix.AF_INET6, netip.MustParseAddrPort("[::1]:9")
	}
	fd, err := unix.Socket(fam, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	// A tiny receive window (inherited by accepted sockets) lets an orphan
	// keep unsent data (stuffUnsent).
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := unix.Bind(fd, sockaddr(ap)); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := unix.Listen(fd, 64); err != nil {
		unix.Close(fd)
		return -1, err
	}
	sc.helper[v6] = fd
	return fd, nil
}

// create makes the existing sockets. Sockets whose bind fails are dropped.
func (sc *scenario) create() (closers []int) {
	sc.helper = map[bool]int{}
	for i := range sc.specs {
		p := sc.specs[i]
		fd, err := sc.newSocket(&p)
		if err != nil {
			sc.log = append(sc.log, fmt.Sprintf("socket %s: %v", &p, err))
			continue
		}
		if err := unix.Bind(fd, sockaddr(netip.AddrPortFrom(p.addr, propPort))); err != nil {
			sc.log = append(sc.log, fmt.Sprintf("existing %s: bind %s (dropped)", &p, errnoName(err)))
			unix.Close(fd)
			continue
		}
		p.fd = fd
		p.inode, _ = nstest.Inode(fd) // 0, never a socket inode, if fstat fails
		if p.addr.Is6() {
			// The kernel forces IPV6_V6ONLY on for a specific IPv6 address:
			// record what it holds, not what was asked.
			if v, err := unix.GetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); err == nil {
				p.v6only = v != 0
			}
		}
		want := p.state
		p.state = "bound"
		switch want {
		case "listen":
			if err := unix.Listen(fd, 64); err != nil {
				sc.log = append(sc.log, fmt.Sprintf("existing %s: listen %s (stays bound)", &p, errnoName(err)))
			} else {
				p.state, p.listened = "listen", true
			}
		case "estab", "timewait", "orphan":
			v6 := p.addr.Is6() && !p.addr.Is4In6() && (p.v6only || sc.rng.IntN(2) == 0)
			h, err := sc.helperListener(v6)
			if err != nil {
				sc.log = append(sc.log, "helper: "+err.Error())
				break
			}
			dst := netip.MustParseAddrPort("127.0.0.1:9")
			if v6 {
				dst = netip.MustParseAddrPort("[::1]:9")
			} else if p.addr.Is6() {
				dst = netip.MustParseAddrPort("[::ffff:127.0.0.1]:9")
			}
			if err := unix.Connect(fd, sockaddr(dst)); err != nil {
				sc.log = append(sc.log, fmt.Sprintf("existing %s: connect %s (stays bound)", &p, errnoName(err)))
				break
			}
			nfd, _, err := unix.Accept4(h, unix.SOCK_CLOEXEC)
			if err != nil {
				sc.log = append(sc.log, "helper accept: "+err.Error())
				break
			}
			if la, err := unix.Getsockname(fd); err == nil {
				p.local = apOf(la)
			}
			p.remote = dst
			if want == "estab" {
				p.state = "estab"
				closers = append(closers, nfd)
				break
			}
			if want == "orphan" {
				// The peer stays open and never reads: p closes with
				// unsent data and stays in FIN-WAIT-1 with no fd.
				closers = append(closers, nfd)
				if err := stuffUnsent(fd, nfd); err != nil {
					sc.log = append(sc.log, fmt.Sprintf("existing %s: no orphan (%v), stays established", &p, err))
					p.state = "estab"
					break
				}
				unix.Close(fd)
				p.fd, p.state = -1, "orphan"
				break
			}
			// Active close first, then the peer: p's side ends in TIME-WAIT.
			unix.Close(fd)
			unix.Close(nfd)
			p.fd, p.state = -1, "timewait"
		}
		if sc.proto == sockscope.UDP && want == "connected" {
			dst := netip.MustParseAddrPort("127.0.0.5:40000")
			if p.addr.Is6() && !p.addr.Is4In6() && (p.v6only || sc.rng.IntN(2) == 0) {
				dst = netip.MustParseAddrPort("[::1]:40000")
			} else if p.addr.Is6() {
				dst = netip.MustParseAddrPort("[::ffff:127.0.0.5]:40000")
			}
			if err := unix.Connect(fd, sockaddr(dst)); err != nil {
				sc.log = append(sc.log, fmt.Sprintf("existing %s: connect %s (stays unconnected)", &p, errnoName(err)))
			} else {
				p.state = "connected"
			}
		}
		sc.made = append(sc.made, &p)
	}
	for _, fd := range sc.helper {
		closers = append(closers, fd)
	}
	return closers
}

func apOf(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// truth is the FlagFunc that knows what the scenario set.
func (sc *scenario) truth(s *sockscope.Socket) Flags {
	// Newest first: a later connect from the same 4-tuple recycles an
	// earlier TIME-WAIT (tcp_tw_reuse), so a TIME-WAIT is the last one's.
	for i := len(sc.made) - 1; i >= 0; i-- {
		p := sc.made[i]
		match := p.inode != 0 && s.Inode == p.inode
		if (s.State == sockscope.TimeWait && p.state == "timewait") || (s.Inode == 0 && s.State != sockscope.TimeWait && p.state == "orphan") {
			match = s.Local.Addr().Unmap() == p.local.Addr().Unmap() && s.Local.Port() == p.local.Port() &&
				s.Remote.Addr().Unmap() == p.remote.Addr().Unmap() && s.Remote.Port() == p.remote.Port()
		}
		if match {
			f := Flags{ReuseAddr: tri(p.ra), ReusePort: tri(p.rp)}
			if p.addr.Is6() {
				f.V6Only = tri(p.v6only)
			}
			return f
		}
	}
	return Flags{}
}

// propBPF is the BPF programs TestPropertyKernel loaded, nil if none.
var propBPF *sockscope.BPF

// snapFlags is the FlagFunc of a snapshot read through BPF: the flags it
// holds.
func snapFlags(s *sockscope.Socket) Flags {
	return Flags{ReuseAddr: s.ReuseAddr, ReusePort: s.ReusePort, V6Only: s.V6Only}
}

func (sc *scenario) snapshotBPF() (*sockscope.Snapshot, error) {
	path := "/proc/self/task/" + strconv.Itoa(unix.Gettid()) + "/ns/net"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return sockscope.Collect(ctx, sockscope.Options{NetNS: []string{path}, Protos: []sockscope.Proto{sockscope.TCP, sockscope.UDP}, Source: sockscope.SourceBPF, BPF: propBPF})
}

// stuffUnsent fills fd's connection until the peer's window is closed and
// fd holds unsent data (bounded in time), so that closing fd leaves an
// orphan in FIN-WAIT-1 rather than one that reaches TIME-WAIT at once.
func stuffUnsent(fd, peer int) error {
	// The peer's receive buffer is tiny (helperListener).
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096); err != nil {
		return err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return err
	}
	chunk := make([]byte, 64<<10)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if _, err := unix.Write(fd, chunk); err != nil && !errors.Is(err, unix.EAGAIN) {
			return err
		}
		unsent, err := unix.IoctlGetInt(fd, unix.SIOCOUTQNSD)
		if err != nil {
			return err
		}
		if unsent == 0 {
			continue
		}
		in1, err := unix.IoctlGetInt(peer, unix.SIOCINQ)
		if err != nil {
			return err
		}
		time.Sleep(10 * time.Millisecond)
		in2, err := unix.IoctlGetInt(peer, unix.SIOCINQ)
		if err != nil {
			return err
		}
		if in1 == in2 {
			return nil
		}
	}
	return errors.New("the peer's window did not close within 5 s")
}

func (sc *scenario) snapshot() (*sockscope.Snapshot, error) {
	path := "/proc/self/task/" + strconv.Itoa(unix.Gettid()) + "/ns/net"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return sockscope.Collect(ctx, sockscope.Options{NetNS: []string{path}, Protos: []sockscope.Proto{sockscope.TCP, sockscope.UDP}})
}

func (sc *scenario) run(st *propStats) (errs []string) {
	closers := sc.create()
	defer func() {
		for _, p := range sc.made {
			if p.fd >= 0 {
				unix.Close(p.fd)
			}
		}
		for _, fd := range closers {
			unix.Close(fd)
		}
	}()
	snap, err := sc.snapshot()
	if err != nil {
		return []string{"collect: " + err.Error()}
	}
	// Every socket created must be in the snapshot.
	for _, p := range sc.made {
		if p.inode == 0 || p.fd < 0 {
			continue
		}
		found := false
		for _, s := range snap.Sockets {
			found = found || s.Inode == p.inode
		}
		if !found {
			errs = append(errs, fmt.Sprintf("socket %s (inode %d) missing from the snapshot", p, p.inode))
		}
	}
	// A fresh namespace with lo up has the defaults DefaultEnv describes
	// (internal/sysenv's TestLoadFreshNamespace reads one and compares);
	// the test runs as root.
	env := DefaultEnv()
	env.CanBindPrivileged = true
	if sc.req != nil {
		errs = append(errs, sc.checkBind(snap, env, st)...)
	} else {
		errs = append(errs, sc.checkLookup(snap, st)...)
	}
	return errs
}

func (sc *scenario) checkBind(snap *sockscope.Snapshot, env Env, st *propStats) []string {
	var errs []string
	hidden := CheckBind(snap, *sc.req, env, nil)
	truth := CheckBind(snap, *sc.req, env, sc.truth)
	var viaBPF *BindResult
	var snapBPF *sockscope.Snapshot
	if propBPF != nil {
		var err error
		if snapBPF, err = sc.snapshotBPF(); err != nil {
			return []string{"collect through BPF: " + err.Error()}
		}
		r := CheckBind(snapBPF, *sc.req, env, snapFlags)
		viaBPF = &r
	}

	// Perform it.
	p := psock{addr: sc.req.Addr.Addr(), ra: sc.req.ReuseAddr, rp: sc.req.ReusePort, v6only: sc.req.V6Only == yes, uid: sc.req.UID, dev: sc.req.Device != 0}
	fd, err := sc.newSocket(&p)
	if err != nil {
		return []string{"request socket: " + err.Error()}
	}
	defer unix.Close(fd)
	kerr := unix.Bind(fd, sockaddr(sc.req.Addr))
	if kerr == nil && sc.req.Listen {
		kerr = unix.Listen(fd, 8)
	}
	kernel := errnoName(kerr)
	st.binds++
	if kerr == nil {
		st.kernelOK++
	} else {
		st.kernelFail++
	}
	agree := func(r BindResult) bool {
		if kerr == nil {
			return r.Verdict == OK
		}
		return r.Verdict == Fail && r.Errno == kernel
	}
	show := func(name string, r BindResult) string {
		return fmt.Sprintf("%s: %s %s (%s) rule: %s; depends on %v; cache %v\n%s", name, r.Verdict, r.Errno, r.Phase, r.Rule, r.DependsOn, r.CacheDependent, snapText(snap))
	}
	switch hidden.Verdict {
	case OK:
		st.hiddenOK++
	case Fail:
		st.hiddenFail++
	default:
		st.hiddenDepends++
		if len(hidden.DependsOn) == 0 {
			errs = append(errs, "depends on nothing: "+show("hidden", hidden))
		}
	}
	if hidden.Verdict != Depends && !agree(hidden) {
		errs = append(errs, fmt.Sprintf("kernel: %q\n%s", kernel, show("flags hidden", hidden)))
	}
	switch {
	case truth.Verdict == Depends && truth.CacheDependent:
		st.truthCache++
	case truth.Verdict == Depends:
		errs = append(errs, fmt.Sprintf("true flags still depend; kernel: %q\n%s", kernel, show("true flags", truth)))
	case !agree(truth):
		errs = append(errs, fmt.Sprintf("kernel: %q\n%s", kernel, show("true flags", truth)))
	default:
		st.truthDefinite++
	}
	if viaBPF != nil {
		switch viaBPF.Verdict {
		case OK:
			st.bpfOK++
		case Fail:
			st.bpfFail++
		default:
			st.bpfDepends++
			if st.bpfDependsWhy == nil {
				st.bpfDependsWhy = map[string]int{}
			}
			for _, d := range viaBPF.DependsOn {
				st.bpfDependsWhy[d]++
			}
		}
		if viaBPF.Verdict != Depends && !agree(*viaBPF) {
			errs = append(errs, fmt.Sprintf("kernel: %q\n%s", kernel, show("through BPF", *viaBPF)+"\n"+snapText(snapBPF)+bucketText(snapBPF)))
		}
	}
	// A definite answer without flags must agree with the one with flags.
	if hidden.Verdict != Depends && truth.Verdict != Depends && hidden.Verdict != truth.Verdict {
		errs = append(errs, show("hidden", hidden)+"\n"+show("truth", truth))
	}
	return errs
}

// bucketText lists the bind buckets and flags of a BPF snapshot.
func bucketText(snap *sockscope.Snapshot) string {
	var b strings.Builder
	for _, s := range snap.Sockets {
		fmt.Fprintf(&b, "  %s %s %s ra=%v rp=%v v6only=%v uid=%d", s.Proto, s.LocalString(), s.State, s.ReuseAddr, s.ReusePort, s.V6Only, s.UID)
		if tb := s.BindBucket; tb != nil {
			fmt.Fprintf(&b, " bucket %+v", *tb)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (sc *scenario) checkLookup(snap *sockscope.Snapshot, st *propStats) []string {
	seg := *sc.seg
	truth := Lookup(snap, seg, sc.truth)
	hidden := Lookup(snap, seg, nil)
	// The demux command's path: the kernel's own lookup, asked before the
	// segment is sent, names the member of a reuseport group (WithKernel).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := sockscope.Options{NetNS: []string{"/proc/self/task/" + strconv.Itoa(unix.Gettid()) + "/ns/net"}}
	reply, kerr := sockscope.LookupSocket(ctx, opts, sockscope.LookupRequest{Proto: seg.Proto, Src: seg.Src, Dst: seg.Dst, Ifindex: seg.Ifindex})
	truthK := WithKernel(truth, CompareKernel(truth, reply, kerr))
	hiddenK := WithKernel(hidden, CompareKernel(hidden, reply, kerr))

	got, err := sc.deliver(seg)
	if err != nil {
		return []string{"deliver: " + err.Error()}
	}
	st.lookups++
	var gotSock *sockscope.Socket
	if got != nil {
		for _, s := range snap.Sockets {
			if s.Inode == got.inode {
				gotSock = s
			}
		}
		if gotSock == nil {
			return []string{fmt.Sprintf("receiver %s not in the snapshot", got)}
		}
	}
	var errs []string
	for _, r := range []struct {
		name string
		res  LookupResult
	}{{"true flags", truth}, {"flags hidden", hidden}, {"true flags, kernel asked", truthK}, {"flags hidden, kernel asked", hiddenK}} {
		bad := false
		switch {
		case gotSock == nil:
			bad = r.res.Verdict != None
		case r.res.Verdict == One:
			bad = r.res.Socket != gotSock
		case r.res.Verdict == OneOf:
			bad = true
			for _, c := range r.res.Candidates {
				bad = bad && c != gotSock
			}
		default:
			bad = true
		}
		if bad {
			recv := "nobody"
			if gotSock != nil {
				recv = describe(gotSock)
			}
			errs = append(errs, fmt.Sprintf("%s: predicted %s %v; kernel delivered to %s\n%s%s", r.name, r.res.Verdict, names(r.res.Candidates), recv, steps(r.res), snapText(snap)))
		}
	}
	switch truth.Verdict {
	case One:
		st.lookOne++
	case OneOf:
		st.lookOneOf++
		if hidden.Verdict == OneOf {
			st.lookOneOfHW++
		}
	case None:
		st.lookNone++
	}
	if truthK.KernelPick {
		st.lookKernelPick++
	}
	if truthK.Verdict == OneOf {
		st.lookOneOfKernel++
	}
	if hidden.Verdict == OneOf && hiddenK.Verdict == One {
		st.lookHiddenKernelPick++
	}
	if hiddenK.Verdict == OneOf {
		st.lookHiddenOneOfKernel++
	}
	return errs
}

// deliver sends a connection or datagram from seg.Src to seg.Dst and
// returns the existing socket that received it, or nil.
func (sc *scenario) deliver(seg Segment) (*psock, error) {
	fam := unix.AF_INET
	if seg.Dst.Addr().Is6() {
		fam = unix.AF_INET6
	}
	typ := unix.SOCK_STREAM
	if seg.Proto == sockscope.UDP {
		typ = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(fam, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, sockaddr(seg.Src)); err != nil {
		return nil, fmt.Errorf("bind client %s: %w", seg.Src, err)
	}
	if seg.Proto == sockscope.TCP {
		if err := unix.Connect(fd, sockaddr(seg.Dst)); err != nil {
			if errors.Is(err, unix.ECONNREFUSED) {
				return nil, nil
			}
			return nil, fmt.Errorf("connect %s: %w", seg.Dst, err)
		}
		for _, p := range sc.made {
			if !p.listened || p.fd < 0 {
				continue
			}
			unix.SetNonblock(p.fd, true)
			nfd, _, err := unix.Accept4(p.fd, unix.SOCK_CLOEXEC)
			if err == nil {
				unix.Close(nfd)
				return p, nil
			}
		}
		return nil, errors.New("connected, but no listener has it in its accept queue")
	}
	// With IP_RECVERR the kernel's port unreachable, sent when no socket
	// takes the datagram, comes back to this socket's error queue: both
	// outcomes can then be waited for.
	if fam == unix.AF_INET6 {
		err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1)
	} else {
		err = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_RECVERR, 1)
	}
	if err != nil {
		return nil, fmt.Errorf("IP_RECVERR: %w", err)
	}
	if err := unix.Sendto(fd, []byte("x"), 0, sockaddr(seg.Dst)); err != nil {
		return nil, fmt.Errorf("sendto %s: %w", seg.Dst, err)
	}
	return sc.received(fd, 2*time.Second)
}

// received waits until one of the existing sockets can read the datagram
// just sent from client (it returns that socket) or the client got an
// error back (nobody took it: it returns nil), for at most limit.
func (sc *scenario) received(client int, limit time.Duration) (*psock, error) {
	pfds := []unix.PollFd{{Fd: int32(client)}} // POLLERR is always reported
	socks := []*psock{nil}
	for _, p := range sc.made {
		if p.fd >= 0 {
			pfds = append(pfds, unix.PollFd{Fd: int32(p.fd), Events: unix.POLLIN})
			socks = append(socks, p)
		}
	}
	buf := make([]byte, 16)
	for deadline := time.Now().Add(limit); ; {
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms <= 0 {
			return nil, nil
		}
		n, err := unix.Poll(pfds, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("poll: %w", err)
		}
		if n == 0 {
			return nil, nil
		}
		for i := 1; i < len(pfds); i++ {
			if pfds[i].Revents&unix.POLLIN == 0 {
				continue
			}
			if n, _, err := unix.Recvfrom(socks[i].fd, buf, unix.MSG_DONTWAIT); err == nil && n > 0 {
				return socks[i], nil
			}
		}
		if pfds[0].Revents&unix.POLLERR != 0 {
			return nil, nil
		}
	}
}

// snapText lists the snapshot's sockets on the scenario port.
func snapText(snap *sockscope.Snapshot) string {
	var b strings.Builder
	b.WriteString("snapshot:\n")
	for _, s := range snap.Sockets {
		if s.Local.Port() == propPort {
			fmt.Fprintf(&b, "  %s inode %d seq %d v6only %s uid %d\n", describe(s), s.Inode, s.Seq, s.V6Only, s.UID)
		}
	}
	return b.String()
}
