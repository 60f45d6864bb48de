package demux

import (
	"fmt"
	"net/netip"

	"github.com/sockscope/sockscope"
)

// Fast-path values of the bind bucket's fastreuseport (include/net/inet_hashtables.h).
const (
	fastReuseportAny    = 1
	fastReuseportStrict = 2
)

// portBucket returns the bind bucket of the port the owners are on, when
// the snapshot read it (through BPF, sockscope.SourceBPF): every TCP
// socket bound to the port, TIME-WAIT sockets included, points to it.
// Buckets of other l3mdev domains (VRFs) are not told apart: the first
// owner's is taken, and a bucket is returned only when every owner that
// has one agrees.
func portBucket(owners []*view) *sockscope.BindBucket {
	var tb *sockscope.BindBucket
	for _, e := range owners {
		if e.s == nil || e.s.Proto != sockscope.TCP {
			continue
		}
		b := e.s.BindBucket
		if b == nil {
			return nil // read without BPF, or a socket the iterators missed
		}
		if tb == nil {
			tb = b
		} else if *tb != *b {
			return nil
		}
	}
	return tb
}

// bucketFast reports whether inet_csk_get_port lets n through on its fast
// path, skipping the conflict walk, given the port's bucket tb as read
// (kernel.md Q3): sk_reuse set and fastreuse > 0 (never at listen()), or
// sk_reuseport_match. For the listen() phase n's own bind has already
// updated the bucket (inet_csk_update_fastreuse), which is applied first.
// It returns unknown where n's own flags are.
func bucketFast(tb *sockscope.BindBucket, n *view, atListen bool) sockscope.Tristate {
	b := *tb
	if atListen {
		b = afterBind(b, n)
	}
	fast := no
	if !atListen && b.FastReuse > 0 {
		fast = n.ra
	}
	return or3(fast, reuseportMatch(&b, n))
}

// reuseportMatch is the kernel's sk_reuseport_match(tb, n).
func reuseportMatch(tb *sockscope.BindBucket, n *view) sockscope.Tristate {
	if tb.FastReusePort <= 0 || n.rp == no || tb.FastUID != n.uid {
		return no
	}
	if tb.FastReusePort == fastReuseportAny {
		return n.rp
	}
	if !tb.FastAddr.IsValid() || tb.FastIPv6Only == sockscope.Unknown {
		return unknown
	}
	// The bucket's address as sk1, n as sk2, sk1's wildcard matching.
	var w view
	fam := sockscope.FamilyInet
	if tb.FastAddr.Is6() {
		fam = sockscope.FamilyInet6
	}
	fillView(&w, &sockscope.Socket{Family: fam, Local: netip.AddrPortFrom(tb.FastAddr, 0), V6Only: tb.FastIPv6Only}, nil)
	return and3(n.rp, rcvEqual(&w, n, true, false))
}

// afterBind is inet_csk_update_fastreuse(tb, n) after n's successful bind
// to a bucket whose owner list is not empty: on 6.18 the bind2 bucket is
// linked before the update runs, so this branch is the one taken even for
// the first bind (a lone SO_REUSEADDR bind leaves fastreuse 0, a lone
// SO_REUSEPORT bind fastreuseport 2; kernel.md Q3).
func afterBind(b sockscope.BindBucket, n *view) sockscope.BindBucket {
	if n.ra != yes {
		b.FastReuse = 0
	}
	switch {
	case n.rp == no:
		b.FastReusePort = 0
	case n.rp == yes && reuseportMatch(&b, n) != yes:
		b.FastReusePort = fastReuseportStrict
		b.FastUID = n.uid
		b.FastAddr = n.a6
		if n.fam == sockscope.FamilyInet {
			b.FastAddr = n.v4
		}
		b.FastIPv6Only = n.v6only
	}
	return b
}

// fastRule explains an answer the bind bucket's fast path decided.
func fastRule(tb *sockscope.BindBucket, n *view, phase string, conflicts int) string {
	how := fmt.Sprintf("fastreuseport=%d for uid %d", tb.FastReusePort, tb.FastUID)
	if tb.FastAddr.IsValid() {
		how += " and " + tb.FastAddr.String()
	}
	if phase != "listen" && tb.FastReuse > 0 && n.ra == yes {
		how = fmt.Sprintf("fastreuse=%d and your SO_REUSEADDR", tb.FastReuse)
	}
	return fmt.Sprintf("the port's bind bucket (read through BPF: %s) lets your %s() through on the kernel's fast path, without the conflict check, which %d socket(s) would have failed", how, phase, conflicts)
}
