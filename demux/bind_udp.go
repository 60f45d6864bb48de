package demux

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sockscope/sockscope"
)

// checkUDP follows udp_lib_lport_inuse (docs/kernel.md B4, Q2): the port's hash
// chain is walked in order; sockets that overlap and do not both have
// SO_REUSEADDR are looked at, and the first one decides: both SO_REUSEPORT
// and the same uid let the bind succeed at once, anything else fails.
//
// Where a hidden SO_REUSEPORT also decides a socket's place in the chain,
// every assumption is walked; the verdict is definite only when all of
// them agree.
func checkUDP(n *view, owners []*view) BindResult {
	unk := udpUnplaced(n, owners)
	var w udpWalk
	for mask := 0; mask < 1<<len(unk); mask++ {
		assumed := make(map[*view]sockscope.Tristate, len(unk))
		for i, v := range unk {
			assumed[v] = tri(mask&(1<<i) != 0)
		}
		w.walk(n, owners, func(v *view) sockscope.Tristate {
			if t, ok := assumed[v]; ok {
				return t
			}
			return v.rp
		})
	}
	for _, v := range unk {
		w.depend("SO_REUSEPORT of " + sockName(v.s) + " (it also decides the socket's place in the port's hash chain)")
	}
	return w.result(n, owners)
}

// maxUnplaced bounds the sockets whose place in the chain is tried both
// ways (2^maxUnplaced walks).
const maxUnplaced = 10

// udpUnplaced returns the AF_INET6 sockets that overlap n and whose
// SO_REUSEPORT is unknown: they could be at the head or the tail of the
// chain.
func udpUnplaced(n *view, owners []*view) []*view {
	var unk []*view
	for _, e := range owners {
		if e.fam == sockscope.FamilyInet6 && e.rp == unknown && devOverlap(n.dev, e.dev) && addrOverlap(n, e) != no {
			unk = append(unk, e)
		}
	}
	if len(unk) > maxUnplaced {
		unk = unk[:maxUnplaced]
	}
	return unk
}

// udpOutcome is one possible end of a walk: success, or failure because
// of blocker (sure when no hidden input was involved).
type udpOutcome struct {
	ok      bool
	blocker *view
	sure    bool
}

// udpWalk collects the outcomes of the walks and the hidden inputs met.
type udpWalk struct {
	outs    []udpOutcome
	depends []string
}

func (w *udpWalk) depend(d string) {
	if !slices.Contains(w.depends, d) {
		w.depends = append(w.depends, d)
	}
}

// walk is one pass of udp_lib_lport_inuse over the chain, with rp giving
// each socket's (assumed) SO_REUSEPORT.
func (w *udpWalk) walk(n *view, owners []*view, rp func(*view) sockscope.Tristate) {
	for _, e := range chainOrder(owners, rp) {
		if !devOverlap(n.dev, e.dev) {
			continue
		}
		ov := addrOverlap(n, e)
		bothRA := and3(n.ra, e.ra)
		skip := or3(bothRA, not3(ov))
		if skip == yes {
			continue
		}
		pass := and3(n.rp, rp(e), tri(e.uid == n.uid))
		if ov == unknown {
			w.depend("IPV6_V6ONLY of " + sockName(e.s))
		}
		if bothRA == unknown {
			w.depend("SO_REUSEADDR of " + sockName(e.s))
		}
		if pass == unknown {
			w.depend("SO_REUSEPORT of " + sockName(e.s))
		}
		if pass != no {
			w.outs = append(w.outs, udpOutcome{ok: true})
		}
		if pass != yes {
			w.outs = append(w.outs, udpOutcome{blocker: e, sure: skip == no && pass == no})
		}
		if skip == no {
			return // this socket decides
		}
	}
	w.outs = append(w.outs, udpOutcome{ok: true}) // the walk found no conflict
}

// result turns the outcomes into the verdict: Fail when every walk
// fails, OK when none does, Depends otherwise.
func (w *udpWalk) result(n *view, owners []*view) BindResult {
	var r BindResult
	okSeen, failSeen := false, false
	seen := map[*view]bool{}
	for _, o := range w.outs {
		if o.ok {
			okSeen = true
			continue
		}
		failSeen = true
		if !seen[o.blocker] {
			seen[o.blocker] = true
			r.Blockers = append(r.Blockers, Blocker{Socket: o.blocker.s, Definite: o.sure, Reason: reasonUDP(n, o.blocker)})
		}
	}
	switch {
	case !failSeen:
		r.Verdict = OK
		r.Rule = okRule(n, owners)
		if len(owners) > 0 && hasOverlap(n, owners) {
			r.Rule = "the port is shared: every overlapping socket the kernel looks at allows it (SO_REUSEADDR on both, or SO_REUSEPORT on both with the same uid; the check stops at the first SO_REUSEPORT match)"
		}
		return r
	case !okSeen:
		r.Verdict, r.Errno, r.Phase = Fail, "EADDRINUSE", "bind"
	default:
		r.Verdict, r.Errno, r.Phase = Depends, "EADDRINUSE", "bind"
		r.DependsOn = w.depends
		for i := range r.Blockers {
			r.Blockers[i].Definite = false
		}
	}
	b := r.Blockers[0]
	r.Rule = describe(b.Socket) + ": " + b.Reason
	if r.Verdict == Depends {
		r.Rule = "it depends on hidden flags. If it blocks: " + r.Rule
	}
	r.Help = helpFor(n, r.Blockers)
	return r
}

func hasOverlap(n *view, owners []*view) bool {
	for _, e := range owners {
		if devOverlap(n.dev, e.dev) && addrOverlap(n, e) != no {
			return true
		}
	}
	return false
}

func reasonUDP(n, e *view) string {
	var b strings.Builder
	fmt.Fprintf(&b, "it is bound %s; UDP sharing needs SO_REUSEADDR on both sockets, or SO_REUSEPORT on both and the same uid", overlapWords(n, e))
	switch {
	case n.ra != yes && n.rp != yes:
		b.WriteString(", and yours has neither")
	case e.ra == no && e.rp == no:
		b.WriteString(", and it has neither")
	case e.uid != n.uid && n.ra != yes:
		b.WriteString(", and it belongs to uid " + strconv.FormatUint(uint64(e.uid), 10))
	}
	return b.String()
}
