package sockscope_test

import (
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/internal/nstest"
	"github.com/sockscope/sockscope/views"
)

// bind6 binds an AF_INET6 socket to ip:port with IPV6_V6ONLY set to v6only.
func (s *sock) bind6(ip string, port int, v6only bool) *sock {
	v := 0
	if v6only {
		v = 1
	}
	if err := unix.SetsockoptInt(s.fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v); err != nil {
		s.t.Fatalf("IPV6_V6ONLY: %v", err)
	}
	if err := unix.Bind(s.fd, &unix.SockaddrInet6{Port: port, Addr: netip.MustParseAddr(ip).As16()}); err != nil {
		s.t.Fatalf("bind [%s]:%d: %v", ip, port, err)
	}
	return s
}

func (s *sock) bindUnix(name string) *sock {
	if err := unix.Bind(s.fd, &unix.SockaddrUnix{Name: name}); err != nil {
		s.t.Fatalf("bind %q: %v", name, err)
	}
	return s
}

func (s *sock) connectUnix(name string) *sock {
	if err := unix.Connect(s.fd, &unix.SockaddrUnix{Name: name}); err != nil {
		s.t.Fatalf("connect %q: %v", name, err)
	}
	return s
}

// needIPv6 skips the test where the kernel has no IPv6.
func needIPv6(t *testing.T, n *testNet) {
	t.Helper()
	var err error
	n.Do(func() {
		var fd int
		if fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err == nil {
			err = unix.Bind(fd, &unix.SockaddrInet6{Addr: netip.IPv6Loopback().As16()})
			unix.Close(fd)
		}
	})
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
}

// TestIsListener builds one socket of each kind the rule names and checks
// IsListener on what the kernel reports for it: the sockets that receive
// new connections or datagrams are listeners, the others are not.
func TestIsListener(t *testing.T) {
	n := newTestNet(t)
	abstract := fmt.Sprintf("@sockscope-listener-%d-%d", os.Getpid(), time.Now().UnixNano())
	type kase struct {
		what string
		s    *sock
		want bool
	}
	var cases []kase
	n.Do(func() {
		tl := newSock(t, unix.AF_INET, unix.SOCK_STREAM).bind4("127.0.0.1", 0).listen()
		tc := newSock(t, unix.AF_INET, unix.SOCK_STREAM).connect4(tl.local())
		ta := tl.accept()
		ub := newSock(t, unix.AF_INET, unix.SOCK_DGRAM).bind4("127.0.0.1", 0)
		uc := newSock(t, unix.AF_INET, unix.SOCK_DGRAM).connect4(ub.local())
		xl := newSock(t, unix.AF_UNIX, unix.SOCK_STREAM).bindUnix(abstract + "-stream")
		xl.listen()
		xc := newSock(t, unix.AF_UNIX, unix.SOCK_STREAM).connectUnix(abstract + "-stream")
		xa := xl.accept()
		xd := newSock(t, unix.AF_UNIX, unix.SOCK_DGRAM).bindUnix(abstract + "-dgram")
		xdc := newSock(t, unix.AF_UNIX, unix.SOCK_DGRAM).bindUnix(abstract + "-dgram2").connectUnix(abstract + "-dgram")
		cases = []kase{
			{"TCP LISTEN", tl, true},
			{"TCP client", tc, false},
			{"TCP accepted", ta, false},
			{"bound unconnected UDP", ub, true},
			{"connected UDP", uc, false},
			{"Unix stream LISTEN", xl, true},
			{"Unix stream client", xc, false},
			{"Unix stream accepted", xa, false},
			{"bound unconnected Unix dgram", xd, true},
			{"bound connected Unix dgram", xdc, false},
		}
		if nstest.KernelAtLeast(6, 8) { // bound-inactive TCP sockets are dumped from 6.8 on
			tb := newSock(t, unix.AF_INET, unix.SOCK_STREAM).bind4("127.0.0.1", 0)
			cases = append(cases, kase{"TCP bound, inactive", tb, false})
		}
	})
	snap := collect(t, n, false)
	for _, c := range cases {
		s := mustFind(t, snap, c.s, c.what)
		if got := s.IsListener(); got != c.want {
			t.Errorf("%s (%v %v %v): IsListener() = %v, want %v", c.what, s.Proto, s.State, s.Local, got, c.want)
		}
	}
}

// TestPortsViewStacks: the ports view keeps the IPv4 and IPv6 listeners of
// one port apart and labels each with the IP versions the kernel delivers
// to it, from sockets made with each IPV6_V6ONLY setting.
func TestPortsViewStacks(t *testing.T) {
	n := newTestNet(t)
	needIPv6(t, n)
	var v6only, v4, dual, mapped, bound *sock
	n.Do(func() {
		// One port, two listeners: [::] with IPV6_V6ONLY, then 0.0.0.0,
		// which only the v6-only socket allows.
		v6only = newSock(t, unix.AF_INET6, unix.SOCK_STREAM).bind6("::", 0, true).listen()
		v4 = newSock(t, unix.AF_INET, unix.SOCK_STREAM).bind4("0.0.0.0", int(v6only.local().Port())).listen()
		dual = newSock(t, unix.AF_INET6, unix.SOCK_STREAM).bind6("::", 0, false).listen()
		mapped = newSock(t, unix.AF_INET6, unix.SOCK_STREAM).bind6("::ffff:127.0.0.1", 0, false).listen()
		bound = newSock(t, unix.AF_INET6, unix.SOCK_STREAM).bind6("::1", 0, false)
	})
	snap := collect(t, n, false)
	ours := map[uint64]views.Stack{
		v6only.inode(): views.IPv6Only, v4.inode(): views.IPv4, dual.inode(): views.DualStack,
		mapped.inode(): views.IPv4, bound.inode(): views.IPv6Only,
	}
	if snap.Source != sockscope.SourceNetlink {
		t.Skipf("source %s does not report IPV6_V6ONLY", snap.Source)
	}
	kept := *snap
	kept.Sockets = nil
	for _, s := range snap.Sockets {
		if _, ok := ours[s.Inode]; ok {
			kept.Sockets = append(kept.Sockets, s)
		}
	}
	v := views.BuildPorts(&kept, nil)
	seen := 0
	for _, b := range v.Blocks {
		var labels []string
		for _, l := range b.Listeners {
			seen++
			if got, want := views.StackOf(l), ours[l.Inode]; got != want {
				t.Errorf("%v listener %v (v6only %v): %q, want %q", b.Port, l.Local, l.V6Only, got, want)
			}
			labels = append(labels, views.StackOf(l).String())
		}
		if b.Port.Num == v6only.local().Port() && len(b.Listeners) != 2 {
			t.Errorf("%v has %d listeners (%q), want the IPv4 and the IPv6-only one apart", b.Port, len(b.Listeners), labels)
		}
	}
	// The bound-only socket is reported from Linux 6.8 on.
	if want := len(ours) - 1; seen < want {
		t.Errorf("the view holds %d of our port owners, want at least %d", seen, want)
	}
}
