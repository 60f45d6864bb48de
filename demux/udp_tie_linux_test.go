package demux

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/internal/nstest"
)

// tieSock is an unconnected UDP socket a tie experiment binds.
type tieSock struct {
	bind   string // address:port; [..] makes AF_INET6
	rp     bool   // SO_REUSEPORT (else SO_REUSEADDR)
	fd     int
	inode  uint64
	copies int
}

// TestUDPTieKernel proves the UDP scoring rule for unconnected sockets
// that share a port (issue 9 item 7a): without SO_REUSEPORT no hash is
// involved and there is no per-CPU bonus (the kernel sets sk_incoming_cpu
// of a UDP socket only while it is connected, or on SO_INCOMING_CPU), so
// the higher score wins and a tie goes to the socket walked first, the
// most recently bound. Only a SO_REUSEPORT group spreads datagrams. Each
// case binds the sockets in a private namespace, sends datagrams from many
// source ports with the sender pinned to every CPU in turn, and compares
// the receivers with Lookup's answer.
func TestUDPTieKernel(t *testing.T) {
	requireNetNS(t)
	for _, tc := range []struct {
		name  string
		socks []string // in bind order
		rp    bool
		dst   string
		want  int // index of the receiver; -1: any member of the group
	}{
		{"two on one address, newer wins", []string{"127.0.0.1:7100", "127.0.0.1:7100"}, false, "127.0.0.1:7100", 1},
		{"three on one address, newest wins", []string{"127.0.0.1:7101", "127.0.0.1:7101", "127.0.0.1:7101"}, false, "127.0.0.1:7101", 2},
		{"AF_INET beats an older dual-stack", []string{"[::]:7102", "0.0.0.0:7102"}, false, "127.0.0.1:7102", 1},
		{"AF_INET beats a newer dual-stack", []string{"0.0.0.0:7103", "[::]:7103"}, false, "127.0.0.1:7103", 0},
		{"IPv6 tie, newer wins", []string{"[::1]:7104", "[::1]:7104"}, false, "[::1]:7104", 1},
		{"reuseport group spreads", []string{"127.0.0.1:7105", "127.0.0.1:7105"}, true, "127.0.0.1:7105", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := runInNetNS(func() []string { return udpTieCase(tc.socks, tc.rp, tc.dst, tc.want) })
			for _, e := range errs {
				t.Error(e)
			}
		})
	}
}

// udpTieCase runs one case on the calling (namespaced, locked) thread.
func udpTieCase(binds []string, rp bool, dst string, want int) (errs []string) {
	const n = 47
	var socks []*tieSock
	defer func() {
		for _, s := range socks {
			unix.Close(s.fd)
		}
	}()
	for _, b := range binds {
		ap := netip.MustParseAddrPort(b)
		fam := unix.AF_INET
		if strings.HasPrefix(b, "[") {
			fam = unix.AF_INET6
		}
		fd, err := unix.Socket(fam, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			return []string{err.Error()}
		}
		s := &tieSock{bind: b, rp: rp, fd: fd}
		socks = append(socks, s)
		opt := unix.SO_REUSEADDR
		if rp {
			opt = unix.SO_REUSEPORT
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, 1); err != nil {
			return []string{err.Error()}
		}
		if fam == unix.AF_INET6 {
			unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0)
			if err := unix.Bind(fd, &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}); err != nil {
				return []string{"bind " + b + ": " + err.Error()}
			}
		} else if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
			return []string{"bind " + b + ": " + err.Error()}
		}
		if s.inode, err = nstest.Inode(fd); err != nil {
			return []string{err.Error()}
		}
	}
	snap, err := (&scenario{}).snapshot()
	if err != nil {
		return []string{"collect: " + err.Error()}
	}
	truth := func(s *sockscope.Socket) Flags {
		for _, ts := range socks {
			if ts.inode == s.Inode {
				return Flags{ReuseAddr: tri(!ts.rp), ReusePort: tri(ts.rp), V6Only: no}
			}
		}
		return Flags{}
	}
	d := netip.MustParseAddrPort(dst)
	srcAddr := netip.MustParseAddr("127.0.0.1")
	if d.Addr().Is6() {
		srcAddr = netip.IPv6Loopback()
	}
	ncpu := runtime.NumCPU()
	var orig unix.CPUSet
	unix.SchedGetaffinity(0, &orig)
	defer unix.SchedSetaffinity(0, &orig)
	buf := make([]byte, 8)
	for i := range n {
		src := netip.AddrPortFrom(srcAddr, uint16(20000+i))
		res := Lookup(snap, Segment{Proto: sockscope.UDP, Src: src, Dst: d, Ifindex: 1}, truth)
		// Pin the sender: on lo the datagram is received on its CPU.
		if ncpu > 1 {
			var set unix.CPUSet
			set.Set(i % ncpu)
			unix.SchedSetaffinity(0, &set)
		}
		fam := unix.AF_INET
		if d.Addr().Is6() {
			fam = unix.AF_INET6
		}
		c, err := unix.Socket(fam, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return append(errs, err.Error())
		}
		if err := unix.Bind(c, sockaddr(src)); err != nil {
			unix.Close(c)
			return append(errs, "bind sender: "+err.Error())
		}
		err = unix.Sendto(c, []byte("x"), 0, sockaddr(d))
		unix.Close(c)
		if err != nil {
			return append(errs, "send: "+err.Error())
		}
		// Loopback delivery completes inside sendto (softirq on this
		// CPU), so the datagram is queued by now; a bounded re-check
		// covers a deferred softirq.
		var got *tieSock
		for try := 0; got == nil && try < 1000; try++ {
			for _, s := range socks {
				if k, _, err := unix.Recvfrom(s.fd, buf, unix.MSG_DONTWAIT); err == nil && k > 0 {
					got = s
					s.copies++
					break
				}
			}
			if got == nil {
				runtime.Gosched()
			}
		}
		if got == nil {
			return append(errs, fmt.Sprintf("datagram %d from %s was not received", i, src))
		}
		var gotSock *sockscope.Socket
		for _, s := range snap.Sockets {
			if s.Inode == got.inode {
				gotSock = s
			}
		}
		switch {
		case want >= 0 && (res.Verdict != One || res.Socket != gotSock):
			errs = append(errs, fmt.Sprintf("datagram %d from %s: kernel chose %s (bound #%d), sockscope said %s %s\n%s", i, src, got.bind, slices.Index(socks, got), res.Verdict, names(res.Candidates), steps(res)))
		case want < 0 && (res.Verdict != OneOf || res.Ambiguity != ReuseportHash || !slices.Contains(res.Candidates, gotSock)):
			errs = append(errs, fmt.Sprintf("datagram %d: kernel chose %s, sockscope said %s %v %v", i, got.bind, res.Verdict, res.Ambiguity.Strings(), names(res.Candidates)))
		}
		if len(errs) > 3 {
			return errs
		}
	}
	if want >= 0 && socks[want].copies != n {
		errs = append(errs, fmt.Sprintf("socket #%d got %d of %d datagrams", want, socks[want].copies, n))
	}
	if want < 0 {
		// 47 hashed source ports all landing on one member has odds 2^-46.
		for i, s := range socks {
			if s.copies == 0 {
				errs = append(errs, fmt.Sprintf("reuseport member #%d got none of %d datagrams", i, n))
			}
		}
	}
	return errs
}

// requireNetNS skips unless the test may create network namespaces.
func requireNetNS(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a private network namespace")
	}
	if err := probeUnshare(); err != nil {
		t.Skipf("cannot create a network namespace here: %v", err)
	}
}
