package demux

import (
	"net/netip"
	"testing"

	"github.com/sockscope/sockscope"
)

// TestBucketFast checks the fast-path rules of inet_csk_get_port against
// hand-worked cases of the kernel's sk_reuseport_match and
// inet_csk_update_fastreuse (the live check is TestPropertyKernel's BPF
// pass).
func TestBucketFast(t *testing.T) {
	newView := func(addr string, ra, rp bool, uid uint32) *view {
		a := netip.MustParseAddr(addr)
		fam := sockscope.FamilyInet
		if a.Is6() {
			fam = sockscope.FamilyInet6
		}
		var v view
		fillView(&v, &sockscope.Socket{Family: fam, Local: netip.AddrPortFrom(a, 80), UID: uid, V6Only: sockscope.No}, nil)
		v.s = nil
		v.ra, v.rp = sockscope.TristateOf(ra), sockscope.TristateOf(rp)
		return &v
	}
	strict := func(addr string, uid uint32) *sockscope.BindBucket {
		return &sockscope.BindBucket{Port: 80, FastReusePort: fastReuseportStrict, FastUID: uid, FastAddr: netip.MustParseAddr(addr), FastIPv6Only: sockscope.No}
	}
	cases := []struct {
		name     string
		tb       *sockscope.BindBucket
		n        *view
		atListen bool
		want     sockscope.Tristate
	}{
		{"wildcard covers a specific address", strict("0.0.0.0", 0), newView("127.0.0.1", false, true, 0), false, yes},
		{"another uid", strict("0.0.0.0", 0), newView("127.0.0.1", false, true, 1000), false, no},
		{"no SO_REUSEPORT", strict("0.0.0.0", 0), newView("127.0.0.1", true, false, 0), false, no},
		{"specific does not cover the wildcard", strict("127.0.0.1", 0), newView("0.0.0.0", false, true, 0), false, no},
		{"[::] dual-stack covers IPv4", strict("::", 0), newView("127.0.0.2", false, true, 0), false, yes},
		{"any address", &sockscope.BindBucket{FastReusePort: fastReuseportAny}, newView("127.0.0.3", false, true, 0), false, yes},
		{"fastreuse with SO_REUSEADDR", &sockscope.BindBucket{FastReuse: 1}, newView("127.0.0.1", true, false, 0), false, yes},
		{"fastreuse never at listen", &sockscope.BindBucket{FastReuse: 1}, newView("127.0.0.1", true, false, 0), true, no},
		{"connect-autobound port", &sockscope.BindBucket{FastReuse: -1, FastReusePort: -1}, newView("127.0.0.1", true, true, 0), false, no},
		// listen() after a SO_REUSEPORT bind: the bind set the bucket to
		// the socket's own address, which then matches.
		{"listen after own reuseport bind", &sockscope.BindBucket{}, newView("127.0.0.1", false, true, 0), true, yes},
		{"listen without SO_REUSEPORT", strict("0.0.0.0", 0), newView("127.0.0.1", false, false, 0), true, no},
	}
	for _, c := range cases {
		if got := bucketFast(c.tb, c.n, c.atListen); got != c.want {
			t.Errorf("%s: bucketFast = %v, want %v", c.name, got, c.want)
		}
	}
	unknownRP := newView("127.0.0.1", false, true, 0)
	unknownRP.rp = unknown
	if got := bucketFast(strict("0.0.0.0", 0), unknownRP, false); got != unknown {
		t.Errorf("unknown SO_REUSEPORT: %v, want unknown", got)
	}
}
