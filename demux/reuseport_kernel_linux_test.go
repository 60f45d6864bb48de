package demux

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/internal/nstest"
)

// rpMember is a socket of a SO_REUSEPORT group a test binds.
type rpMember struct {
	fd    int
	inode uint64
	got   int // connections accepted or datagrams received
}

// rpGroup is a SO_REUSEPORT group on one address and port, and how to ask
// and deliver to it.
type rpGroup struct {
	proto   sockscope.Proto
	bind    netip.AddrPort // the group's address (maybe the wildcard)
	dst     netip.AddrPort // where segments are sent
	members []*rpMember
}

// TestReuseportKernelPick proves that the kernel's get-one lookup names
// the member of a SO_REUSEPORT group that really receives (issue 10,
// "demux names one socket"): in a private namespace a group of 2-4 TCP
// listeners (or UDP sockets) shares one port; for random source addresses
// and ports the library path (Lookup, sockscope.LookupSocket, CompareKernel,
// WithKernel) must answer one socket, and a connection (a datagram) really
// sent from that source must land on exactly that socket. The sender is
// pinned to each CPU in turn: the choice must not depend on it.
func TestReuseportKernelPick(t *testing.T) {
	requireNetNS(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0x4e05))
	const perCase = 24
	for _, tc := range []struct {
		name   string
		proto  sockscope.Proto
		binds  []string // one is chosen at random
		dst    string
		v6Srcs bool
	}{
		{"tcp4", sockscope.TCP, []string{"127.0.0.1:7300", "0.0.0.0:7300"}, "127.0.0.1:7300", false},
		{"tcp6", sockscope.TCP, []string{"[::1]:7301", "[::]:7301"}, "[::1]:7301", true},
		{"udp4", sockscope.UDP, []string{"127.0.0.1:7302", "0.0.0.0:7302"}, "127.0.0.1:7302", false},
		{"udp6", sockscope.UDP, []string{"[::1]:7303", "[::]:7303"}, "[::1]:7303", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &rpGroup{
				proto: tc.proto,
				bind:  netip.MustParseAddrPort(tc.binds[rng.IntN(len(tc.binds))]),
				dst:   netip.MustParseAddrPort(tc.dst),
			}
			n := 2 + rng.IntN(3)
			caseSeed := rng.Uint64()
			errs := runInNetNS(func() []string { return g.run(n, perCase, caseSeed) })
			for _, e := range errs {
				t.Errorf("group of %d on %s: %s", n, g.bind, e)
			}
			var spread []int
			for _, m := range g.members {
				spread = append(spread, m.got)
			}
			t.Logf("group of %d on %s: %d segments; received per member %v", n, g.bind, perCase, spread)
		})
	}
}

// open creates the group's n members on the calling (namespaced) thread.
func (g *rpGroup) open(n int) error {
	fam := unix.AF_INET
	if g.bind.Addr().Is6() {
		fam = unix.AF_INET6
	}
	typ := unix.SOCK_STREAM
	if g.proto == sockscope.UDP {
		typ = unix.SOCK_DGRAM
	}
	for range n {
		fd, err := unix.Socket(fam, typ|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			return err
		}
		m := &rpMember{fd: fd}
		g.members = append(g.members, m)
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fmt.Errorf("SO_REUSEPORT: %w", err)
		}
		if fam == unix.AF_INET6 {
			if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
				return fmt.Errorf("IPV6_V6ONLY: %w", err)
			}
		}
		if err := unix.Bind(fd, sockaddr(g.bind)); err != nil {
			return fmt.Errorf("bind %s: %w", g.bind, err)
		}
		if g.proto == sockscope.TCP {
			if err := unix.Listen(fd, 64); err != nil {
				return fmt.Errorf("listen: %w", err)
			}
		}
		if m.inode, err = nstest.Inode(fd); err != nil {
			return err
		}
	}
	return nil
}

func (g *rpGroup) close() {
	for _, m := range g.members {
		unix.Close(m.fd)
	}
}

// flags knows what open set.
func (g *rpGroup) flags(s *sockscope.Socket) Flags {
	for _, m := range g.members {
		if m.inode == s.Inode {
			f := Flags{ReuseAddr: no, ReusePort: yes}
			if g.bind.Addr().Is6() {
				f.V6Only = yes
			}
			return f
		}
	}
	return Flags{}
}

// ask is the library path of the demux command: the model, then the
// kernel's own lookup, compared and applied.
func (g *rpGroup) ask(ctx context.Context, opts sockscope.Options, snap *sockscope.Snapshot, ifaces []sockscope.Interface, src netip.AddrPort) (LookupResult, KernelCheck) {
	seg := Segment{Proto: g.proto, Src: src, Dst: g.dst, Local: LocalPrefixes(ifaces), Ifindex: IngressDevice(ifaces, g.dst.Addr())}
	res := Lookup(snap, seg, g.flags)
	reply, err := sockscope.LookupSocket(ctx, opts, sockscope.LookupRequest{Proto: seg.Proto, Src: seg.Src, Dst: seg.Dst, Ifindex: seg.Ifindex})
	k := CompareKernel(res, reply, err)
	return WithKernel(res, k), k
}

// run opens the group, then for count random sources asks and delivers.
// It runs on a locked thread inside a fresh namespace.
func (g *rpGroup) run(n, count int, seed uint64) (errs []string) {
	defer g.close()
	if err := g.open(n); err != nil {
		return []string{err.Error()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := sockscope.Options{NetNS: []string{"/proc/self/task/" + strconv.Itoa(unix.Gettid()) + "/ns/net"}, Protos: []sockscope.Proto{g.proto}}
	snap, err := sockscope.Collect(ctx, opts)
	if err != nil {
		return []string{"collect: " + err.Error()}
	}
	ifaces, err := sockscope.Interfaces(ctx, opts)
	if err != nil {
		return []string{"interfaces: " + err.Error()}
	}
	ncpu := runtime.NumCPU()
	var orig unix.CPUSet
	if err := unix.SchedGetaffinity(0, &orig); err == nil {
		defer unix.SchedSetaffinity(0, &orig)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	used := map[netip.AddrPort]bool{}
	for i := 0; i < count && ctx.Err() == nil; i++ {
		src := g.randSrc(rng)
		for try := 0; used[src] && try < 100; try++ {
			src = g.randSrc(rng)
		}
		used[src] = true
		res, k := g.ask(ctx, opts, snap, ifaces, src)
		if ncpu > 1 {
			var set unix.CPUSet
			set.Set(i % ncpu)
			unix.SchedSetaffinity(0, &set)
		}
		got, err := g.deliver(ctx, src, i)
		if err != nil {
			return append(errs, fmt.Sprintf("%s from %s: %v", g.proto, src, err))
		}
		got.got++
		switch {
		case k.Err != nil || !k.Found:
			errs = append(errs, fmt.Sprintf("from %s: the kernel's lookup gave no socket (%v)", src, k.Err))
		case res.Verdict != One || !res.KernelPick || len(res.Group) != n:
			errs = append(errs, fmt.Sprintf("from %s: verdict %s kernel_pick %v, group of %d; want one socket picked by the kernel from %d\n%s", src, res.Verdict, res.KernelPick, len(res.Group), n, steps(res)))
		case res.Socket.Inode != got.inode:
			errs = append(errs, fmt.Sprintf("from %s: sockscope named inode %d (cookie %d), the segment landed on inode %d", src, res.Socket.Inode, res.Socket.Cookie, got.inode))
		}
		if len(errs) > 3 {
			return errs
		}
	}
	if ctx.Err() != nil {
		errs = append(errs, "time limit reached")
	}
	return errs
}

// randSrc is a random source: any 127.0.0.0/8 address for IPv4 (all are
// local on lo), ::1 for IPv6, and a random port.
func (g *rpGroup) randSrc(rng *rand.Rand) netip.AddrPort {
	port := uint16(20000 + rng.IntN(40000))
	if g.dst.Addr().Is6() {
		return netip.AddrPortFrom(netip.IPv6Loopback(), port)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, byte(rng.IntN(256)), byte(rng.IntN(256)), byte(1 + rng.IntN(254))}), port)
}

// deliver connects (TCP) or sends a datagram (UDP) from src to the group
// and returns the member that accepted or received it.
func (g *rpGroup) deliver(ctx context.Context, src netip.AddrPort, i int) (*rpMember, error) {
	fam := unix.AF_INET
	if src.Addr().Is6() {
		fam = unix.AF_INET6
	}
	typ := unix.SOCK_STREAM
	if g.proto == sockscope.UDP {
		typ = unix.SOCK_DGRAM
	}
	c, err := unix.Socket(fam, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(c)
	// No TIME-WAIT left behind: close with a reset.
	unix.SetsockoptLinger(c, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	if err := unix.Bind(c, sockaddr(src)); err != nil {
		return nil, fmt.Errorf("bind client: %w", err)
	}
	payload := []byte("seg " + strconv.Itoa(i))
	if g.proto == sockscope.TCP {
		if err := unix.Connect(c, sockaddr(g.dst)); err != nil {
			return nil, fmt.Errorf("connect: %w", err)
		}
	} else if err := unix.Sendto(c, payload, 0, sockaddr(g.dst)); err != nil {
		return nil, fmt.Errorf("sendto: %w", err)
	}
	pfds := make([]unix.PollFd, len(g.members))
	for j, m := range g.members {
		pfds[j] = unix.PollFd{Fd: int32(m.fd), Events: unix.POLLIN}
	}
	buf := make([]byte, 32)
	deadline := time.Now().Add(5 * time.Second)
	for ctx.Err() == nil {
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms <= 0 {
			break
		}
		_, err := unix.Poll(pfds, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("poll: %w", err)
		}
		var got *rpMember
		for j, m := range g.members {
			if pfds[j].Revents&unix.POLLIN == 0 {
				continue
			}
			if g.proto == sockscope.TCP {
				nfd, _, err := unix.Accept4(m.fd, unix.SOCK_CLOEXEC)
				if err != nil {
					continue
				}
				unix.Close(nfd)
			} else {
				k, _, err := unix.Recvfrom(m.fd, buf, unix.MSG_DONTWAIT)
				if err != nil {
					continue
				}
				if string(buf[:k]) != string(payload) {
					return nil, fmt.Errorf("member inode %d read %q, want %q (a stray datagram)", m.inode, buf[:k], payload)
				}
			}
			if got != nil {
				return nil, fmt.Errorf("two members got it: inodes %d and %d", got.inode, m.inode)
			}
			got = m
		}
		if got != nil {
			return got, nil
		}
	}
	return nil, errors.New("no member accepted or received it within 5s")
}

// TestReuseportBPFNotAsked proves the limit of WithKernel: a reuseport BPF
// program attached to the group (here a classic one, SO_ATTACH_REUSEPORT_CBPF,
// that always answers index 0) decides for real traffic, but the kernel's
// get-one lookup, which has no packet to run it on, still answers by the
// hash; and no getsockopt reveals the program. So demux says, in its
// "reuseport" step, that such a program would override the answer.
func TestReuseportBPFNotAsked(t *testing.T) {
	requireNetNS(t)
	for _, tc := range []struct {
		proto sockscope.Proto
		bind  string
	}{{sockscope.TCP, "127.0.0.1:7310"}, {sockscope.UDP, "127.0.0.1:7311"}} {
		t.Run(tc.proto.String(), func(t *testing.T) {
			g := &rpGroup{proto: tc.proto, bind: netip.MustParseAddrPort(tc.bind), dst: netip.MustParseAddrPort(tc.bind)}
			errs := runInNetNS(func() []string { return g.runBPF(3, 24) })
			for _, e := range errs {
				t.Error(e)
			}
		})
	}
}

// runBPF opens a group of n, attaches a program that always picks the
// first member, and sends from count sources.
func (g *rpGroup) runBPF(n, count int) (errs []string) {
	defer g.close()
	if err := g.open(n); err != nil {
		return []string{err.Error()}
	}
	prog := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}
	if err := unix.SetsockoptSockFprog(g.members[0].fd, unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &unix.SockFprog{Len: 1, Filter: &prog[0]}); err != nil {
		return append(errs, "SO_ATTACH_REUSEPORT_CBPF: "+err.Error())
	}
	// No socket option reads a reuseport program back: the kernel's
	// sk_getsockopt knows neither SO_ATTACH_REUSEPORT_* option.
	for _, m := range g.members {
		for _, opt := range []int{unix.SO_ATTACH_REUSEPORT_CBPF, unix.SO_ATTACH_REUSEPORT_EBPF} {
			if _, err := unix.GetsockoptInt(m.fd, unix.SOL_SOCKET, opt); !errors.Is(err, unix.ENOPROTOOPT) {
				errs = append(errs, fmt.Sprintf("getsockopt(SOL_SOCKET, %d) on a member: %v, want ENOPROTOOPT: the program may be detectable", opt, err))
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := sockscope.Options{NetNS: []string{"/proc/self/task/" + strconv.Itoa(unix.Gettid()) + "/ns/net"}}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	askedOther := 0
	for i := 0; i < count && ctx.Err() == nil; i++ {
		src := g.randSrc(rng)
		reply, err := sockscope.LookupSocket(ctx, opts, sockscope.LookupRequest{Proto: g.proto, Src: src, Dst: g.dst, Ifindex: 1})
		if err != nil {
			return append(errs, "kernel lookup: "+err.Error())
		}
		got, err := g.deliver(ctx, src, i)
		if err != nil {
			return append(errs, fmt.Sprintf("from %s: %v", src, err))
		}
		if got != g.members[0] {
			errs = append(errs, fmt.Sprintf("from %s: the program picks the first member (inode %d), but inode %d received", src, g.members[0].inode, got.inode))
		}
		if reply.Inode != g.members[0].inode {
			askedOther++
		}
	}
	// With 3 members the hash names another member for about 2 of 3
	// sources; never in 24 has odds 3^-24.
	if askedOther == 0 {
		errs = append(errs, fmt.Sprintf("the get-one lookup named the program's choice for all %d sources: it may run the program after all", count))
	}
	return errs
}

// TestReuseportBPFDetected: with the BPF source, a group with a reuseport
// program (SO_ATTACH_REUSEPORT_CBPF) is reported as such (ReuseportProg
// Yes on every member) and WithKernel keeps the answer OneOf with
// ReuseportBPF, while a group without one (ReuseportProg No) gets the
// kernel's pick, which a segment really sent confirms.
func TestReuseportBPFDetected(t *testing.T) {
	requireNetNS(t)
	for _, tc := range []struct {
		proto      sockscope.Proto
		prog, none string
	}{{sockscope.TCP, "127.0.0.1:7320", "127.0.0.1:7321"}, {sockscope.UDP, "127.0.0.1:7322", "127.0.0.1:7323"}} {
		t.Run(tc.proto.String(), func(t *testing.T) {
			gp := &rpGroup{proto: tc.proto, bind: netip.MustParseAddrPort(tc.prog), dst: netip.MustParseAddrPort(tc.prog)}
			gn := &rpGroup{proto: tc.proto, bind: netip.MustParseAddrPort(tc.none), dst: netip.MustParseAddrPort(tc.none)}
			var skip string
			errs := runInNetNS(func() []string {
				var errs []string
				skip, errs = runBPFDetected(gp, gn)
				return errs
			})
			for _, e := range errs {
				t.Error(e)
			}
			if skip != "" && len(errs) == 0 {
				t.Skip(skip)
			}
		})
	}
}

// runBPFDetected opens both groups (a program on gp), collects with the
// BPF source and checks both answers for a few sources.
func runBPFDetected(gp, gn *rpGroup) (skip string, errs []string) {
	defer gp.close()
	defer gn.close()
	const n = 3
	if err := gp.open(n); err != nil {
		return "", []string{err.Error()}
	}
	if err := gn.open(n); err != nil {
		return "", []string{err.Error()}
	}
	prog := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}
	if err := unix.SetsockoptSockFprog(gp.members[0].fd, unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &unix.SockFprog{Len: 1, Filter: &prog[0]}); err != nil {
		return "", []string{"SO_ATTACH_REUSEPORT_CBPF: " + err.Error()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := sockscope.Options{NetNS: []string{"/proc/self/task/" + strconv.Itoa(unix.Gettid()) + "/ns/net"}, Protos: []sockscope.Proto{gp.proto}, Source: sockscope.SourceBPF}
	snap, err := sockscope.Collect(ctx, opts)
	if err != nil {
		return "", []string{"collect: " + err.Error()}
	}
	for _, w := range snap.Warnings {
		if w.Kind == sockscope.WarnSource {
			return "BPF source not available here: " + w.Msg, nil
		}
	}
	ifaces, err := sockscope.Interfaces(ctx, opts)
	if err != nil {
		return "", []string{"interfaces: " + err.Error()}
	}
	want := map[uint64]sockscope.Tristate{}
	for _, m := range gp.members {
		want[m.inode] = sockscope.Yes
	}
	for _, m := range gn.members {
		want[m.inode] = sockscope.No
	}
	seen := 0
	for _, s := range snap.Sockets {
		if w, ok := want[s.Inode]; ok {
			seen++
			if s.ReuseportProg != w {
				errs = append(errs, fmt.Sprintf("inode %d on %s: ReuseportProg %s, want %s", s.Inode, s.Local, s.ReuseportProg, w))
			}
		}
	}
	if seen != 2*n {
		errs = append(errs, fmt.Sprintf("snapshot has %d of the %d members", seen, 2*n))
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	for i := 0; i < 6 && ctx.Err() == nil; i++ {
		src := gp.randSrc(rng)
		res, _ := gp.ask(ctx, opts, snap, ifaces, src)
		if res.Verdict != OneOf || !res.Ambiguity.Has(ReuseportBPF) || len(res.Candidates) != n || res.KernelPick {
			errs = append(errs, fmt.Sprintf("group with a program, from %s: verdict %s ambiguity %v kernel_pick %v, %d candidates; want one-of reuseport-bpf among %d\n%s",
				src, res.Verdict, res.Ambiguity.Strings(), res.KernelPick, len(res.Candidates), n, steps(res)))
		}
		res, _ = gn.ask(ctx, opts, snap, ifaces, src)
		got, err := gn.deliver(ctx, src, i)
		if err != nil {
			return "", append(errs, fmt.Sprintf("from %s: %v", src, err))
		}
		switch {
		case res.Verdict != One || !res.KernelPick || res.Ambiguity.Has(ReuseportBPF):
			errs = append(errs, fmt.Sprintf("group without a program, from %s: verdict %s kernel_pick %v ambiguity %v; want the kernel's pick\n%s",
				src, res.Verdict, res.KernelPick, res.Ambiguity.Strings(), steps(res)))
		case res.Socket.Inode != got.inode:
			errs = append(errs, fmt.Sprintf("group without a program, from %s: sockscope named inode %d, the segment landed on inode %d", src, res.Socket.Inode, got.inode))
		}
		if len(errs) > 3 {
			break
		}
	}
	return "", errs
}
