package demux

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/internal/nstest"
)

// connSock is a connected UDP socket a hash4 experiment creates.
type connSock struct {
	bind string // address:port; [..] makes AF_INET6
	rp   bool   // SO_REUSEPORT as well as SO_REUSEADDR
	dev  bool   // SO_BINDTODEVICE lo
}

// TestUDPConnectedKernel proves the rule for connected UDP sockets that
// share a 4-tuple: the kernel looks in the 4-tuple (hash4) table first,
// and the first socket there whose 4-tuple and device match takes the
// datagram, without scoring. A socket is inserted at the head of that
// chain when it connects, so the most recently connected one wins, bound
// to the ingress device or not. Lookup orders by bind age, which the
// dump tells (an AF_INET6 socket with SO_REUSEPORT sits at the tail of
// its port's chain, so the dump lists those oldest first); the cases
// connect in bind order, except the last, which shows the one input a
// snapshot cannot tell.
func TestUDPConnectedKernel(t *testing.T) {
	requireNetNS(t)
	const v4src, v6src = "127.0.0.5:40000", "[::1]:40000"
	for _, tc := range []struct {
		name    string
		socks   []connSock // in bind order
		connect []int      // connect order; nil: bind order
		src     string
		dst     string
		want    int  // index of the receiver
		bindAge bool // Lookup can know the order (connect order is bind order)
	}{
		{"v4 newer wins", []connSock{{"127.0.0.1:7200", false, false}, {"127.0.0.1:7200", false, false}}, nil, v4src, "127.0.0.1:7200", 1, true},
		{"v4 newer on lo wins", []connSock{{"127.0.0.1:7201", false, false}, {"127.0.0.1:7201", false, true}}, nil, v4src, "127.0.0.1:7201", 1, true},
		{"v4 older on lo loses", []connSock{{"127.0.0.1:7202", false, true}, {"127.0.0.1:7202", false, false}}, nil, v4src, "127.0.0.1:7202", 1, true},
		{"v4 reuseport, older on lo loses", []connSock{{"127.0.0.1:7203", true, true}, {"127.0.0.1:7203", true, false}}, nil, v4src, "127.0.0.1:7203", 1, true},
		{"v6 reuseport, newer on lo wins", []connSock{{"[::1]:7204", true, false}, {"[::1]:7204", true, true}}, nil, v6src, "[::1]:7204", 1, true},
		{"v6 reuseport, older on lo loses", []connSock{{"[::1]:7205", true, true}, {"[::1]:7205", true, false}}, nil, v6src, "[::1]:7205", 1, true},
		{"v6 three reuseport, newest wins", []connSock{{"[::1]:7206", true, false}, {"[::1]:7206", true, true}, {"[::1]:7206", true, false}}, nil, v6src, "[::1]:7206", 2, true},
		{"v6 older on lo loses", []connSock{{"[::1]:7207", false, true}, {"[::1]:7207", false, false}}, nil, v6src, "[::1]:7207", 1, true},
		{"v6 newer with reuseport wins", []connSock{{"[::1]:7208", false, false}, {"[::1]:7208", true, false}}, nil, v6src, "[::1]:7208", 1, true},
		{"v6 newer without reuseport wins", []connSock{{"[::1]:7209", true, false}, {"[::1]:7209", false, false}}, nil, v6src, "[::1]:7209", 1, true},
		{"v4-mapped older loses to AF_INET", []connSock{{"[::ffff:127.0.0.1]:7210", true, true}, {"127.0.0.1:7210", true, false}}, nil, v4src, "127.0.0.1:7210", 1, true},
		{"connect order, not bind order", []connSock{{"127.0.0.1:7211", false, false}, {"127.0.0.1:7211", false, false}}, []int{1, 0}, v4src, "127.0.0.1:7211", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := runInNetNS(func() []string { return udpConnCase(tc.socks, tc.connect, tc.src, tc.dst, tc.want, tc.bindAge) })
			for _, e := range errs {
				t.Error(e)
			}
		})
	}
}

// udpConnCase runs one case on the calling (namespaced, locked) thread.
func udpConnCase(specs []connSock, order []int, src, dst string, want int, bindAge bool) (errs []string) {
	sc := &scenario{proto: sockscope.UDP}
	defer func() {
		for _, p := range sc.made {
			unix.Close(p.fd)
		}
	}()
	srcAP, dstAP := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	for _, c := range specs {
		ap := netip.MustParseAddrPort(c.bind)
		p := &psock{fd: -1, addr: ap.Addr(), ra: true, rp: c.rp, dev: c.dev, v6only: strings.HasPrefix(c.bind, "[::1]")}
		fd, err := sc.newSocket(p)
		if err != nil {
			return []string{fmt.Sprintf("socket %s: %v", c.bind, err)}
		}
		p.fd = fd
		sc.made = append(sc.made, p)
		if err := unix.Bind(fd, sockaddr(ap)); err != nil {
			return []string{fmt.Sprintf("bind %s: %v", c.bind, err)}
		}
		if p.inode, err = nstest.Inode(fd); err != nil {
			return []string{err.Error()}
		}
	}
	if order == nil {
		for i := range specs {
			order = append(order, i)
		}
	}
	for _, i := range order {
		peer := srcAP
		if sc.made[i].addr.Is4In6() {
			peer = netip.AddrPortFrom(netip.AddrFrom16(srcAP.Addr().As16()), srcAP.Port())
		}
		if err := unix.Connect(sc.made[i].fd, sockaddr(peer)); err != nil {
			return []string{fmt.Sprintf("connect #%d to %s: %v", i, peer, err)}
		}
		sc.made[i].state = "connected"
	}
	snap, err := sc.snapshot()
	if err != nil {
		return []string{"collect: " + err.Error()}
	}
	seg := Segment{Proto: sockscope.UDP, Src: srcAP, Dst: dstAP, Ifindex: 1}
	res := Lookup(snap, seg, sc.truth)
	hidden := Lookup(snap, seg, nil)
	sc.seg = &seg
	got, err := sc.deliver(seg)
	if err != nil {
		return []string{"deliver: " + err.Error()}
	}
	if got == nil {
		return []string{"nobody received the datagram"}
	}
	gotIdx := -1
	var gotSock *sockscope.Socket
	for i, p := range sc.made {
		if p == got {
			gotIdx = i
		}
	}
	for _, s := range snap.Sockets {
		if s.Inode == got.inode {
			gotSock = s
		}
	}
	if gotIdx != want {
		errs = append(errs, fmt.Sprintf("kernel delivered to socket #%d %+v, want #%d", gotIdx, specs[gotIdx], want))
	}
	if !bindAge {
		return errs
	}
	if res.Verdict != One || res.Socket != gotSock {
		errs = append(errs, fmt.Sprintf("true flags: Lookup said %s %v, kernel chose #%d %+v\n%s%s", res.Verdict, names(res.Candidates), gotIdx, specs[gotIdx], steps(res), dumpText(snap, dstAP.Port())))
	}
	ok := hidden.Verdict == One && hidden.Socket == gotSock
	for _, c := range hidden.Candidates {
		ok = ok || (hidden.Verdict == OneOf && c == gotSock)
	}
	if !ok {
		errs = append(errs, fmt.Sprintf("flags hidden: Lookup said %s %v, kernel chose #%d %+v\n%s", hidden.Verdict, names(hidden.Candidates), gotIdx, specs[gotIdx], steps(hidden)))
	}
	return errs
}

// dumpText lists the snapshot's sockets on port, with their dump order.
func dumpText(snap *sockscope.Snapshot, port uint16) string {
	var b strings.Builder
	b.WriteString("snapshot:\n")
	for _, s := range snap.Sockets {
		if s.Local.Port() == port {
			fmt.Fprintf(&b, "  %s inode %d seq %d\n", describe(s), s.Inode, s.Seq)
		}
	}
	return b.String()
}
