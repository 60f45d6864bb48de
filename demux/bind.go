package demux

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/sockscope/sockscope"
)

// BindRequest describes a bind(2) (and, for TCP, optionally the listen(2)
// after it) that the caller is about to make.
type BindRequest struct {
	// Proto is TCP, UDP or UDPLite.
	Proto sockscope.Proto
	// Addr is the address and port to bind. An IPv4 address makes an
	// AF_INET socket; any other address, including ::ffff:a.b.c.d, an
	// AF_INET6 socket. The zone of a link-local IPv6 address names the
	// interface (a name from Env.Interfaces, or an index). Port 0 asks the
	// kernel to choose.
	Addr netip.AddrPort
	// ReuseAddr and ReusePort are SO_REUSEADDR and SO_REUSEPORT of the new
	// socket.
	ReuseAddr, ReusePort bool
	// V6Only is IPV6_V6ONLY of an AF_INET6 socket; Unknown means the
	// namespace default (Env.BindV6Only). Binding a specific IPv6 address
	// forces it on.
	V6Only sockscope.Tristate
	// Device is the ifindex set with SO_BINDTODEVICE, 0 for none.
	Device uint32
	// UID is the owner of the new socket: the fsuid of the process that
	// calls socket(2). SO_REUSEPORT sharing needs the same uid.
	UID uint32
	// CapNetBindService is whether the process that binds has
	// CAP_NET_BIND_SERVICE in the user namespace owning the network
	// namespace, which a port below net.ipv4.ip_unprivileged_port_start
	// needs. Unknown decides from UID: a process of uid 0 has it when
	// Env.CanBindPrivileged (the caller's own capability); a process of
	// any other uid is taken to lack it, as it does unless a file
	// capability or an ambient capability grants it (then set Yes).
	CapNetBindService sockscope.Tristate
	// Listen also checks the listen(2) that follows a TCP bind: the
	// kernel repeats the conflict check there, and a listening socket
	// cannot share an address through SO_REUSEADDR.
	Listen bool
	// Freebind is IP_FREEBIND or IP_TRANSPARENT: bind a non-local address.
	Freebind bool
	// NetNS is the inode of the namespace the socket is created in; 0
	// considers every socket of the snapshot (right when it holds one
	// namespace).
	NetNS uint64
}

// Blocker is an existing socket that prevents the bind, or may.
type Blocker struct {
	Socket *sockscope.Socket
	// Reason says in plain words why it conflicts.
	Reason string
	// Definite is false when the conflict depends on a hidden flag.
	Definite bool
}

// BindResult is CheckBind's answer.
type BindResult struct {
	// Verdict is OK, Fail or Depends.
	Verdict Verdict
	// Errno is the error the call fails with ("EADDRINUSE", "EACCES",
	// "EADDRNOTAVAIL", "EINVAL", "ENODEV"), or may fail with when the
	// verdict is Depends; "" for OK.
	Errno string
	// Phase is the call that fails or may fail: "bind" or "listen".
	Phase string
	// Blockers are the existing sockets that block the bind, definite
	// ones first. When the verdict is Fail, the others are those that
	// would block too if the definite ones went away. Groups gathers
	// those that block for the same reason.
	Blockers []Blocker
	// Rule explains the verdict in plain words.
	Rule string
	// DependsOn lists the hidden facts the answer turns on, e.g.
	// "SO_REUSEADDR of socket cookie 4711"; empty unless the verdict is
	// Depends.
	DependsOn []string
	// CacheDependent reports that the answer turns on the port's TCP
	// bind-bucket cache (docs/kernel.md Q3): the kernel remembers whether every
	// earlier bind to the port had SO_REUSEADDR or SO_REUSEPORT, and when
	// that cache matches it skips the conflict check. The cache depends on
	// the order of past binds, including sockets since closed, which no
	// interface shows.
	CacheDependent bool
	// Help suggests what would make the bind succeed.
	Help []string
}

// CheckBind predicts the outcome of bind(2) (and listen(2) when
// req.Listen) on a new socket, from the sockets in snap, following the
// kernel's rules (docs/kernel.md B0-B5, Q1-Q3). Hidden options of existing
// sockets come from flags (nil: all unknown) and from sound inferences.
// It never guesses: where a hidden input decides, the verdict is Depends.
func CheckBind(snap *sockscope.Snapshot, req BindRequest, env Env, flags FlagFunc) BindResult {
	n, res := checkB0(req, env)
	if res != nil {
		return *res
	}
	var all []*sockscope.Socket
	if snap != nil {
		all = snap.Sockets
	}
	nsCount := 0
	owners := views(all, flags, func(s *sockscope.Socket) bool {
		if s.Proto != req.Proto || !inNetNS(s, req.NetNS) || s.Local.Port() != req.Addr.Port() {
			return false
		}
		if s.Family != sockscope.FamilyInet && s.Family != sockscope.FamilyInet6 {
			return false
		}
		// Request sockets own no port (B1).
		return req.Proto != sockscope.TCP || (s.State != sockscope.SynRecv && s.State != sockscope.NewSynRecv)
	})
	if req.NetNS == 0 {
		var ss []*sockscope.Socket
		for _, v := range owners {
			ss = append(ss, v.s)
		}
		nsCount = namespaces(ss)
	}
	if req.Addr.Port() == 0 {
		return BindResult{Verdict: OK, Rule: autobindRule(req, env)}
	}
	if req.Proto == sockscope.TCP {
		inferListeners(owners)
	}

	var r BindResult
	switch req.Proto {
	case sockscope.TCP:
		r = checkTCP(n, owners, req.Listen)
	default:
		r = checkUDP(n, owners)
	}
	if nsCount > 1 {
		r.Help = append(r.Help, fmt.Sprintf("the snapshot holds sockets of %d network namespaces on this port; set BindRequest.NetNS to check one", nsCount))
	}
	return r
}

func autobindRule(req BindRequest, env Env) string {
	lo, hi := env.LocalPortRange[0], env.LocalPortRange[1]
	if req.Proto == sockscope.TCP {
		return fmt.Sprintf("port 0 asks the kernel to choose: it takes a port from net.ipv4.ip_local_port_range (%d-%d) that no overlapping socket owns (even SO_REUSEADDR on both sides does not count as free here), skipping ip_local_reserved_ports; it fails with EADDRINUSE only when none is left", lo, hi)
	}
	return fmt.Sprintf("port 0 asks the kernel to choose a random free port from net.ipv4.ip_local_port_range (%d-%d)", lo, hi)
}

// inferListeners applies docs/kernel.md O2 to TCP listeners: two LISTEN sockets
// on identical (family, address, device, v6only) both have SO_REUSEPORT; so
// do overlapping listeners (the only way past the listen() check).
func inferListeners(owners []*view) {
	var ls []*view
	for _, v := range owners {
		if v.state == sockscope.Listen {
			ls = append(ls, v)
		}
	}
	for i, a := range ls {
		for _, b := range ls[i+1:] {
			if !devOverlap(a.dev, b.dev) {
				continue
			}
			if addrOverlap(a, b) != yes && addrOverlap(b, a) != yes {
				continue
			}
			for _, v := range []*view{a, b} {
				if v.rp == unknown {
					v.rp = yes
					v.inferred = "SO_REUSEPORT inferred: it shares a listening address with another listener, which only SO_REUSEPORT allows"
				}
			}
		}
	}
}

// conflictTCP evaluates inet_bind_conflict for an explicit bind (relax,
// reuseport_ok): whether e blocks n, given that their devices overlap.
func conflictTCP(n, e *view) (conflict, ov, bothRA, rpOK sockscope.Tristate) {
	ov = addrOverlap(n, e)
	bothRA = and3(n.ra, e.ra, tri(e.state != sockscope.Listen))
	rpOK = and3(n.rp, e.rp, or3(tri(e.state == sockscope.TimeWait), tri(e.uid == n.uid)))
	conflict = and3(ov, not3(bothRA), not3(rpOK))
	return
}

// phase is the outcome of one conflict check (bind or listen).
type phase struct {
	name     string
	verdict  Verdict
	blockers []Blocker
	depends  []string
	cache    bool
	fastRule string // why the bind bucket's fast path let the socket through
}

func checkTCP(n *view, owners []*view, listen bool) BindResult {
	phases := []phase{tcpPhase(n, owners, "bind")}
	if listen {
		ln := *n
		ln.state = sockscope.Listen
		phases = append(phases, tcpPhase(&ln, owners, "listen"))
	}
	return combine(n, phases, owners)
}

func tcpPhase(n *view, owners []*view, name string) phase {
	p := phase{name: name}
	anyUnknown := false
	for _, e := range owners {
		if !devOverlap(n.dev, e.dev) {
			continue
		}
		c, ov, bothRA, rpOK := conflictTCP(n, e)
		if c == no {
			continue
		}
		b := Blocker{Socket: e.s, Definite: c == yes, Reason: reasonTCP(n, e, ov, bothRA, rpOK)}
		p.blockers = append(p.blockers, b)
		if c == unknown {
			anyUnknown = true
			p.depends = append(p.depends, hiddenTCP(n, e, ov, bothRA, rpOK)...)
		}
	}
	definite := slices.ContainsFunc(p.blockers, func(b Blocker) bool { return b.Definite })
	switch {
	case definite:
		p.verdict = Fail
	case anyUnknown:
		p.verdict = Depends
	default:
		p.verdict = OK
	}
	if tb := portBucket(owners); tb != nil && p.verdict != OK {
		// The bucket was read (BPF): the fast path is known, not guessed.
		switch bucketFast(tb, n, name == "listen") {
		case yes:
			p.fastRule = fastRule(tb, n, name, len(p.blockers))
			p.verdict, p.blockers, p.depends = OK, nil, nil
		case unknown:
			p.verdict = Depends
			p.depends = append(p.depends, "the new socket's own flags, which decide whether the port's bind bucket lets it through unchecked")
		}
		return p
	}
	if p.verdict != OK && fastPathPossible(n, owners, name == "listen") && !cacheRuledOut(n, owners) {
		p.cache = true
		if p.verdict == Fail {
			p.verdict = Depends
		}
		p.depends = append(p.depends, "the port's TCP bind-bucket cache (fastreuse/fastreuseport), set by the order of past binds")
	}
	return p
}

// fastPathPossible reports whether inet_csk_get_port's fast path might skip
// the conflict walk (docs/kernel.md Q3), judged from the sockets that still own
// the port. An owner known to lack SO_REUSEADDR, or any listener, means
// tb->fastreuse is not positive; tb->fastreuseport can only match the new
// socket if some owner with SO_REUSEPORT and the same uid set it to an
// address covering the new one (or set it first, and every later binder
// had SO_REUSEPORT too); for a connected owner that address may have been
// the wildcard it bound before connecting. Past binds of sockets since
// closed are not seen.
func fastPathPossible(n *view, owners []*view, atListen bool) bool {
	if len(owners) == 0 {
		return false
	}
	if !atListen && n.ra == yes {
		f1 := true
		for _, e := range owners {
			if e.state == sockscope.Listen || e.ra == no {
				f1 = false
				break
			}
		}
		if f1 {
			return true
		}
	}
	if n.rp != yes {
		return false
	}
	allRP := true
	for _, e := range owners {
		if e.rp == no {
			allRP = false
		}
	}
	for _, x := range owners {
		if x.rp == no {
			continue
		}
		if x.state != sockscope.TimeWait && x.uid != n.uid {
			continue
		}
		if allRP || rcvEqual(x, n, true, false) != no {
			return true
		}
		// The cache holds the address x bound to. A connected socket (or
		// the one a TIME-WAIT replaced) may have bound the wildcard and
		// taken its current address at connect (Q1).
		if x.conn || x.state == sockscope.TimeWait {
			w := *x
			if w.fam == sockscope.FamilyInet6 {
				w.a6, w.typ, w.v4 = netip.IPv6Unspecified(), typeAny, v4Any
			} else {
				w.v4 = v4Any
			}
			if rcvEqual(&w, n, true, false) != no {
				return true
			}
		}
	}
	return false
}

// cacheRuledOut reports whether a listener the bind-bucket cache must
// have passed keeps the cache from letting n through (docs/kernel.md Q3,
// Q4).
//
// A listener L known to lack SO_REUSEPORT reset the cache when it called
// listen() (inet_csk_get_port runs again there, and
// inet_csk_update_fast_reuse sets fastreuse and fastreuseport to 0 for a
// listening socket without SO_REUSEPORT in a non-empty bucket). While L
// listens, the cache can only be set again by a socket T that passed the
// full conflict check against L, which for such a listener means T's
// address or device does not overlap L's. The cache lets n through only
// if T's address covers n's (sk_reuseport_match; devices are not
// compared there). So when L overlaps every device and no address that
// avoids L covers n's, the cache cannot help: the full check decides.
func cacheRuledOut(n *view, owners []*view) bool {
	for _, l := range owners {
		if l.state != sockscope.Listen || l.rp != no || l.dev != 0 {
			continue
		}
		if !cacheSetterPossible(n, l) {
			return true
		}
	}
	return false
}

// cacheSetterPossible reports whether some socket that passes the
// conflict check against listener l could leave the cache covering n.
func cacheSetterPossible(n, l *view) bool {
	for _, t := range cacheSetters(n) {
		if rcvEqual(t, n, true, false) != no && addrOverlap(t, l) != yes {
			return true
		}
	}
	return false
}

// cacheSetters lists every socket address that can cover n's in
// sk_reuseport_match: the wildcards of both families, with and without
// IPV6_V6ONLY, and n's own address in each form.
func cacheSetters(n *view) []*view {
	v4, v6 := sockscope.FamilyInet, sockscope.FamilyInet6
	out := []*view{
		{fam: v4, v4: v4Any, typ: typeMapped, v6only: no},
		{fam: v6, a6: netip.IPv6Unspecified(), v4: v4Any, typ: typeAny, v6only: no},
		{fam: v6, a6: netip.IPv6Unspecified(), v4: v4Any, typ: typeAny, v6only: yes},
		{fam: v6, a6: netip.AddrFrom16(v4Any.As16()), v4: v4Any, typ: typeMapped, v6only: no},
	}
	if n.typ == typeMapped {
		out = append(out,
			&view{fam: v4, v4: n.v4, typ: typeMapped, v6only: no},
			&view{fam: v6, a6: netip.AddrFrom16(n.v4.As16()), v4: n.v4, typ: typeMapped, v6only: no})
	}
	if n.fam == v6 && n.typ == typeOther {
		out = append(out, &view{fam: v6, a6: n.a6, v4: v6Loopback4, typ: typeOther, v6only: yes})
	}
	return out
}

func reasonTCP(n, e *view, ov, bothRA, rpOK sockscope.Tristate) string {
	var b strings.Builder
	where := overlapWords(n, e)
	switch e.state {
	case sockscope.Listen:
		fmt.Fprintf(&b, "it listens %s; SO_REUSEADDR never lets a second socket share a listening address on Linux", where)
	case sockscope.TimeWait:
		fmt.Fprintf(&b, "it is a TIME-WAIT socket %s; rebinding over it needs SO_REUSEADDR on your socket and on the socket that closed (a TIME-WAIT keeps that socket's flags, which are not visible)", where)
	default:
		fmt.Fprintf(&b, "it owns the port %s (%s); sharing needs SO_REUSEADDR on both sockets", where, e.state)
		if n.ra != yes {
			b.WriteString(", and yours does not have it")
		} else if e.ra == no {
			b.WriteString(", and it does not have it")
		}
	}
	b.WriteString("; ")
	b.WriteString(rpWords(n, e, rpOK))
	if ov == unknown {
		b.WriteString("; the overlap itself depends on its IPV6_V6ONLY, which the kernel does not report for this state")
	}
	if e.inferred != "" {
		b.WriteString(" (" + e.inferred + ")")
	}
	return b.String()
}

// rpWords explains what SO_REUSEPORT would do for n against e.
func rpWords(n, e *view, rpOK sockscope.Tristate) string {
	tw := e.state == sockscope.TimeWait
	uidOK := tw || e.uid == n.uid
	switch {
	case rpOK == yes:
		return "SO_REUSEPORT on both sockets lets them share it"
	case n.rp != yes && e.rp == no:
		return "SO_REUSEPORT would not help: it does not have it"
	case n.rp != yes && !uidOK:
		return fmt.Sprintf("SO_REUSEPORT would help only with the same owner: it belongs to uid %d, you bind as uid %d", e.uid, n.uid)
	case n.rp != yes && e.rp == yes:
		return "SO_REUSEPORT would let you share it: it has SO_REUSEPORT, yours does not"
	case n.rp != yes:
		if tw {
			return "SO_REUSEPORT would let you share it, only if the socket that closed had it too"
		}
		return fmt.Sprintf("SO_REUSEPORT would let you share it, only if it set SO_REUSEPORT too and you bind as uid %d", e.uid)
	case e.rp == no:
		return "your SO_REUSEPORT does not help: it does not have SO_REUSEPORT"
	case !uidOK:
		return fmt.Sprintf("your SO_REUSEPORT does not help: it belongs to uid %d and you bind as uid %d", e.uid, n.uid)
	default:
		return "your SO_REUSEPORT helps only if it set SO_REUSEPORT too, which the kernel does not show"
	}
}

// hiddenTCP lists the hidden facts a TCP conflict turns on.
func hiddenTCP(n, e *view, ov, bothRA, rpOK sockscope.Tristate) []string {
	var out []string
	name := sockName(e.s)
	if ov == unknown {
		out = append(out, "IPV6_V6ONLY of "+name)
	}
	if bothRA == unknown && e.ra == unknown {
		if e.state == sockscope.TimeWait {
			out = append(out, "SO_REUSEADDR of the socket that left TIME-WAIT "+name)
		} else {
			out = append(out, "SO_REUSEADDR of "+name)
		}
	}
	if rpOK == unknown && e.rp == unknown {
		out = append(out, "SO_REUSEPORT of "+name)
	}
	return out
}

// overlapWords describes how e's address covers n's.
func overlapWords(n, e *view) string {
	ep := e.s.LocalString()
	switch {
	case e.fam == sockscope.FamilyInet6 && e.typ == typeAny:
		if n.fam == sockscope.FamilyInet || n.typ == typeMapped {
			return "on the dual-stack wildcard " + ep + " (IPV6_V6ONLY off), which covers every IPv4 address"
		}
		return "on the IPv6 wildcard " + ep + ", which covers yours"
	case e.fam == sockscope.FamilyInet && e.isWild4():
		return "on the wildcard " + ep + ", which covers yours"
	case n.fam == sockscope.FamilyInet && n.isWild4() || n.fam == sockscope.FamilyInet6 && n.typ == typeAny:
		return "on " + ep + ", which your wildcard covers"
	}
	return "on the same address " + ep
}

// combine turns the phases' outcomes into the answer: the first phase
// that fails decides, else the first that depends.
func combine(n *view, phases []phase, owners []*view) BindResult {
	failAt, depAt := firstPhase(phases, Fail), firstPhase(phases, Depends)
	pick := failAt
	r := BindResult{Verdict: OK}
	switch {
	case failAt != nil:
		r.Verdict = Fail
	case depAt != nil:
		r.Verdict, pick = Depends, depAt
	default:
		r.Rule = okRule(n, owners)
		for _, p := range phases {
			if p.fastRule != "" {
				r.Rule = p.fastRule
			}
		}
		return r
	}
	r.Errno, r.Phase = "EADDRINUSE", pick.name
	r.Blockers = mergeBlockers(failAt, depAt)
	if r.Verdict == Depends {
		// Only a dependent answer turns on hidden facts; when a definite
		// blocker decides, no hidden flag or cache can change it.
		for _, p := range phases {
			r.CacheDependent = r.CacheDependent || p.cache
		}
		for _, d := range depAt.depends {
			if !slices.Contains(r.DependsOn, d) {
				r.DependsOn = append(r.DependsOn, d)
			}
		}
	}
	r.Rule = conflictRule(r, pick.name)
	r.Help = helpFor(n, r.Blockers)
	return r
}

// firstPhase returns the first phase with verdict v, or nil.
func firstPhase(phases []phase, v Verdict) *phase {
	for i := range phases {
		if phases[i].verdict == v {
			return &phases[i]
		}
	}
	return nil
}

// mergeBlockers lists the blockers of the phases once each, definite ones
// first.
func mergeBlockers(ps ...*phase) []Blocker {
	var out []Blocker
	seen := map[*sockscope.Socket]bool{}
	for _, p := range ps {
		if p == nil {
			continue
		}
		for _, b := range p.blockers {
			if !seen[b.Socket] {
				seen[b.Socket] = true
				out = append(out, b)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Blocker) int {
		switch {
		case a.Definite == b.Definite:
			return 0
		case a.Definite:
			return -1
		}
		return 1
	})
	return out
}

// conflictRule explains a failing or dependent answer by its first
// blocker.
func conflictRule(r BindResult, phaseName string) string {
	if len(r.Blockers) == 0 {
		return "no socket blocks the bind outright"
	}
	first := r.Blockers[0]
	rule := describe(first.Socket) + ": " + first.Reason
	if phaseName == "listen" && r.Verdict == Fail {
		rule = "bind() succeeds but listen() fails: the kernel repeats the conflict check at listen(). " + rule
	}
	if r.Verdict == Depends && r.CacheDependent && len(r.DependsOn) == 1 {
		rule += ". The full conflict check fails, but the kernel may skip it: the port's bind-bucket cache lets a socket through without the check when every earlier bind to the port had SO_REUSEADDR (and none listened), or when an earlier SO_REUSEPORT bind by the same uid covered this address. That cache depends on the order of past binds, which no interface exposes"
	}
	return rule
}

func okRule(n *view, owners []*view) string {
	if len(owners) == 0 {
		return "no socket in this namespace owns the port"
	}
	return fmt.Sprintf("%d socket(s) own the port, but none conflicts: their addresses or devices do not overlap yours, or the reuse options allow sharing", len(owners))
}

func helpFor(n *view, blockers []Blocker) []string {
	var h []string
	add := func(s string) {
		if !slices.Contains(h, s) {
			h = append(h, s)
		}
	}
	for _, b := range blockers {
		s := b.Socket
		switch {
		case s.State == sockscope.TimeWait:
			add("set SO_REUSEADDR on the new socket (it also needs SO_REUSEADDR on the socket that closed), or wait for TIME-WAIT to end (60 s)")
		case s.State == sockscope.Listen:
			add("use another port, or stop the listener " + holderText(s)[len("held by "):])
			add(fmt.Sprintf("to share the listening address, set SO_REUSEPORT on every socket, created by the same uid (%d)", s.UID))
		default:
			add("set SO_REUSEADDR on both sockets, or SO_REUSEPORT on both with the same uid")
		}
		if s.Family == sockscope.FamilyInet6 && s.Local.Addr().IsUnspecified() && (n.fam == sockscope.FamilyInet || n.typ == typeMapped) {
			add("set IPV6_V6ONLY on the [::] socket before its bind, so it stops covering IPv4")
		}
	}
	if n.fam == sockscope.FamilyInet6 && n.typ == typeAny && n.v6only != yes {
		add("set IPV6_V6ONLY on the new socket if it need not accept IPv4")
	}
	return h
}
