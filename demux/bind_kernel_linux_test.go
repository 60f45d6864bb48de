package demux

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/internal/nstest"
)

// kSock is a TCP socket a cache test creates, in creation order.
type kSock struct {
	addr   string // address:port; brackets make AF_INET6
	v6only bool
	ra, rp bool
	listen bool
}

// runCacheCase creates the sockets in a private namespace, then asks
// CheckBind (with the true flags) about req and performs it. It returns
// the answer and the kernel's errno name ("" for success).
func runCacheCase(t *testing.T, socks []kSock, req BindRequest) (BindResult, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace")
	}
	if err := probeUnshare(); err != nil {
		t.Skipf("cannot create a network namespace here: %v", err)
	}
	var res BindResult
	var kernel string
	errs := runInNetNS(func() []string {
		sc := &scenario{proto: sockscope.TCP}
		for _, k := range socks {
			ap := netip.MustParseAddrPort(k.addr)
			p := psock{addr: ap.Addr(), v6only: k.v6only, ra: k.ra, rp: k.rp}
			fd, err := sc.newSocket(&p)
			if err != nil {
				return []string{err.Error()}
			}
			if err := unix.Bind(fd, sockaddr(ap)); err != nil {
				return []string{fmt.Sprintf("existing %s: bind: %v", k.addr, err)}
			}
			if k.listen {
				if err := unix.Listen(fd, 8); err != nil {
					return []string{fmt.Sprintf("existing %s: listen: %v", k.addr, err)}
				}
				p.state = "listen"
			}
			ino, err := nstest.Inode(fd)
			if err != nil {
				return []string{err.Error()}
			}
			p.fd, p.inode = fd, ino
			sc.made = append(sc.made, &p)
		}
		defer func() {
			for _, p := range sc.made {
				unix.Close(p.fd)
			}
		}()
		snap, err := sc.snapshot()
		if err != nil {
			return []string{err.Error()}
		}
		env := DefaultEnv()
		env.CanBindPrivileged = true
		res = CheckBind(snap, req, env, sc.truth)
		p := psock{addr: req.Addr.Addr(), ra: req.ReuseAddr, rp: req.ReusePort, v6only: req.V6Only == yes}
		fd, err := sc.newSocket(&p)
		if err != nil {
			return []string{err.Error()}
		}
		defer unix.Close(fd)
		kerr := unix.Bind(fd, sockaddr(req.Addr))
		if kerr == nil && req.Listen {
			kerr = unix.Listen(fd, 8)
		}
		kernel = errnoName(kerr)
		return nil
	})
	if len(errs) > 0 {
		t.Fatal(strings.Join(errs, "\n"))
	}
	return res, kernel
}

// TestCacheKernel checks the bind-bucket cache rule (docs/kernel.md Q3) where
// a listener without SO_REUSEPORT decides whether the cache can matter.
func TestCacheKernel(t *testing.T) {
	t.Run("listener without reuseport rules the cache out", func(t *testing.T) {
		// A SO_REUSEPORT socket on [::1] passed the listener (no overlap
		// with 0.0.0.0) and set the cache; it cannot cover 0.0.0.0, and
		// nothing that passes a 0.0.0.0 listener can.
		res, kernel := runCacheCase(t, []kSock{
			{addr: "0.0.0.0:7000", ra: true, listen: true},
			{addr: "[::1]:7000", rp: true},
		}, BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("0.0.0.0:7000"), ReusePort: true, Listen: true})
		if kernel != "EADDRINUSE" || res.Verdict != Fail || res.Errno != kernel || res.CacheDependent || len(res.DependsOn) != 0 {
			t.Errorf("kernel %q; got %s %s cache %v depends %v: %s", kernel, res.Verdict, res.Errno, res.CacheDependent, res.DependsOn, res.Rule)
		}
	})
	t.Run("a socket that passes a v6-only listener can still cover the request", func(t *testing.T) {
		// The listener is [::] with IPV6_V6ONLY: a SO_REUSEPORT socket on
		// 0.0.0.0 passes it and leaves the cache covering a dual-stack [::]
		// bind (sk_reuseport_match compares IPv4 addresses for an AF_INET
		// cache), which then skips the conflict check and succeeds even
		// though the listener overlaps it. The cache is not ruled out.
		res, kernel := runCacheCase(t, []kSock{
			{addr: "[::]:7000", v6only: true, listen: true},
			{addr: "0.0.0.0:7000", rp: true},
		}, BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("[::]:7000"), ReusePort: true, V6Only: no})
		if kernel != "" {
			t.Fatalf("kernel %q: the cache did not let the bind through; the rule's premise is wrong", kernel)
		}
		if res.Verdict == Fail {
			t.Errorf("got fail, kernel succeeded: %s", res.Rule)
		}
		if res.Verdict == Depends && !res.CacheDependent {
			t.Errorf("depends, but not on the cache: %v", res.DependsOn)
		}
	})
}
