package demux

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/sockscope/sockscope"
)

// LookupVerdict is the kind of answer Lookup gives. Its text (the
// constant's value) is what the JSON documents print.
type LookupVerdict string

// Verdicts of Lookup.
const (
	// One: exactly one socket receives the segment (LookupResult.Socket).
	One LookupVerdict = "socket"
	// OneOf: one of LookupResult.Candidates receives it;
	// LookupResult.Ambiguity says what picks it.
	OneOf LookupVerdict = "one-of"
	// All: every one of LookupResult.Candidates receives a copy (UDP
	// broadcast and multicast).
	All LookupVerdict = "all"
	// None: no socket; TCP answers with a reset, UDP with ICMP port
	// unreachable.
	None LookupVerdict = "none"
	// NotLocal: the destination is not an address of the namespace
	// (Segment.Local), so the packet is routed (forwarded or dropped) and
	// never reaches a local socket lookup.
	NotLocal LookupVerdict = "not-local"
)

// Ambiguity says why a OneOf verdict has several candidates. Several bits
// may be set.
type Ambiguity uint8

const (
	// ReuseportHash: the receiver is a member of a SO_REUSEPORT group,
	// picked by a keyed hash of the 4-tuple that cannot be computed
	// offline.
	ReuseportHash Ambiguity = 1 << iota
	// HiddenInput: the answer turns on an input the snapshot does not
	// show: a socket option that could not be read (SO_REUSEPORT), or the
	// CPU a datagram is processed on (for a socket whose SO_INCOMING_CPU is
	// set).
	HiddenInput
	// ReuseportBPF: the group has a reuseport BPF program
	// (SO_ATTACH_REUSEPORT_CBPF or _EBPF) that chooses the receiver;
	// sockscope cannot run it. Set by [WithKernel] when a candidate's
	// Socket.ReuseportProg is Yes.
	ReuseportBPF
)

// Has reports whether every bit of b is set in a.
func (a Ambiguity) Has(b Ambiguity) bool { return a&b == b && b != 0 }

// Strings names the set bits: "reuseport-hash", "hidden-input",
// "reuseport-bpf".
func (a Ambiguity) Strings() []string {
	var out []string
	if a.Has(ReuseportHash) {
		out = append(out, "reuseport-hash")
	}
	if a.Has(HiddenInput) {
		out = append(out, "hidden-input")
	}
	if a.Has(ReuseportBPF) {
		out = append(out, "reuseport-bpf")
	}
	return out
}

// Segment is an incoming TCP segment or UDP datagram, as the receiving
// host sees it.
type Segment struct {
	Proto sockscope.Proto
	// Src is the sender's address and port; Dst the local address and
	// port it is sent to. v4-mapped addresses are treated as IPv4.
	Src, Dst netip.AddrPort
	// Ifindex is the ingress device (the kernel's dif). For traffic sent
	// from this host it is the device that owns Dst, not lo (docs/kernel.md
	// 0.4; [IngressDevice]). 0 means "no device": sockets bound to a
	// device never match.
	Ifindex uint32
	// Broadcast marks a UDP datagram to a broadcast address (every
	// matching socket gets a copy). Multicast destinations and
	// 255.255.255.255 are recognised without it; a subnet broadcast such
	// as 127.255.255.255 is not.
	Broadcast bool
	// NetNS is the inode of the receiving namespace; 0 considers every
	// socket of the snapshot.
	NetNS uint64
	// Local lists the receiving namespace's local addresses
	// ([LocalPrefixes] of its interfaces). A unicast Dst outside them is
	// not delivered locally at all (verdict NotLocal, docs/kernel.md 0.5). nil skips the
	// check: Dst is taken as local.
	Local []netip.Prefix
}

// Step is one stage of the kernel's lookup.
type Step struct {
	// Name is a short stable name: hooks, input, route, device,
	// established, listener-exact, listener-wildcard, broadcast,
	// connected, exact, wildcard, none.
	Name string
	// Detail says, for people, what the stage found and why.
	Detail string
	// Matched are the sockets the stage considered.
	Matched []*sockscope.Socket
}

// LookupResult is Lookup's answer.
type LookupResult struct {
	// Verdict is One, OneOf, All, None or NotLocal.
	Verdict LookupVerdict
	// Socket is the receiving socket when Verdict is One (and when All
	// has a single receiver).
	Socket *sockscope.Socket
	// Candidates are the possible receivers (OneOf) or every receiver
	// (All); for One it holds Socket alone.
	Candidates []*sockscope.Socket
	// Ambiguity says, for OneOf, what picks among the candidates.
	Ambiguity Ambiguity
	// Steps follow the kernel's lookup order (docs/kernel.md T1-T9, U1-U6).
	Steps []Step
	// KernelPick reports that the kernel's own lookup named Socket among
	// several possible receivers ([WithKernel]): the member of a
	// SO_REUSEPORT group that its reuseport selection chose for this
	// 4-tuple. Group then holds the receivers the model found possible.
	KernelPick bool
	Group      []*sockscope.Socket
	// cpuInput marks a UDP OneOf whose candidates may turn on the CPU a
	// datagram is processed on (a connected socket's sk_incoming_cpu):
	// the kernel's get-one lookup, run on the caller's CPU, does not
	// reproduce that choice.
	cpuInput bool
}

// Lookup predicts which socket of snap receives seg, following the
// kernel's demultiplexing (docs/kernel.md, sections T and U). Hidden options
// come from flags (nil: unknown) and from sound inferences; where they, the
// reuseport hash or the CPU a datagram arrives on could change the answer,
// the verdict is OneOf with every possible receiver and the Ambiguity that
// says why. Between unconnected UDP sockets without SO_REUSEPORT nothing is
// hashed: the higher score wins, and a tie goes to the most recently bound
// socket. Between connected sockets with the same 4-tuple there is no
// score at all (a device binding only has to match): the most recently
// connected wins, taken to be the most recently bound. A unicast destination outside Segment.Local gets NotLocal.
func Lookup(snap *sockscope.Snapshot, seg Segment, flags FlagFunc) LookupResult {
	var r LookupResult
	r.step("hooks", "not inspected: TPROXY rules, sk_lookup BPF programs, bpf_sk_assign and reuseport BPF programs; if any is installed it can choose the socket first", nil)
	src := netip.AddrPortFrom(seg.Src.Addr().WithZone("").Unmap(), seg.Src.Port())
	dst := netip.AddrPortFrom(seg.Dst.Addr().WithZone("").Unmap(), seg.Dst.Port())
	if !dst.Addr().IsValid() || (src.Addr().IsValid() && src.Addr().Is4() != dst.Addr().Is4()) {
		r.Verdict = None
		r.step("input", "the segment needs a destination address, and source and destination of the same IP version", nil)
		return r
	}
	if seg.Local != nil && !isBroadcast(seg, dst.Addr()) && !isLocal(seg.Local, dst.Addr()) {
		r.Verdict = NotLocal
		r.step("route", fmt.Sprintf("%s is not an address of this network namespace: the kernel routes the packet (forwards it, or drops it) and never looks for a local socket, so no socket here receives it and no reset or ICMP port unreachable is sent from here", dst.Addr()), nil)
		return r
	}
	var all []*sockscope.Socket
	if snap != nil {
		all = snap.Sockets
	}
	cands := views(all, flags, func(s *sockscope.Socket) bool {
		return s.Proto == seg.Proto && inNetNS(s, seg.NetNS) && s.Local.Port() == dst.Port() &&
			(s.Family == sockscope.FamilyInet || s.Family == sockscope.FamilyInet6)
	})
	if seg.Ifindex == 0 {
		r.step("device", "no ingress device given: sockets bound to a device (SO_BINDTODEVICE) are treated as not matching", nil)
	}
	switch seg.Proto {
	case sockscope.TCP:
		lookupTCP(&r, cands, src, dst, seg.Ifindex)
	case sockscope.UDP, sockscope.UDPLite:
		lookupUDP(&r, cands, src, dst, seg)
	default:
		r.Verdict = None
		r.step("input", fmt.Sprintf("%s has no ports to demultiplex", seg.Proto), nil)
	}
	if r.Verdict == One && len(r.Candidates) == 0 {
		r.Candidates = []*sockscope.Socket{r.Socket}
	}
	return r
}

func (r *LookupResult) step(name, detail string, matched []*view) {
	var m []*sockscope.Socket
	if matched != nil {
		m = views2socks(matched)
	}
	r.Steps = append(r.Steps, Step{Name: name, Detail: detail, Matched: m})
}

// isLocal reports whether a lies in one of the local prefixes.
func isLocal(local []netip.Prefix, a netip.Addr) bool {
	for _, p := range local {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// devMatch is inet_sk_bound_dev_eq with sdif 0.
func devMatch(bound, dif uint32) bool { return bound == 0 || bound == dif }

// tupleMatch reports whether a connected socket's 4-tuple is the segment's
// (inet_match, inet6_match).
func tupleMatch(v *view, src, dst netip.AddrPort) bool {
	if !v.conn || v.rport != src.Port() || v.raddr != src.Addr() {
		return false
	}
	if dst.Addr().Is4() {
		if v.fam == sockscope.FamilyInet6 && v.typ != typeMapped {
			return false
		}
		return v.v4 == dst.Addr()
	}
	return v.fam == sockscope.FamilyInet6 && v.a6 == dst.Addr()
}

func lookupTCP(r *LookupResult, cands []*view, src, dst netip.AddrPort, dif uint32) {
	if tcpEstablished(r, cands, src, dst, dif) {
		return
	}
	var ls []*view
	for _, v := range cands {
		if v.state == sockscope.Listen {
			ls = append(ls, v)
		}
	}
	inferListeners(ls)
	if tcpListener(r, ls, dst, dif) {
		return
	}
	d := "no listener: the kernel answers a SYN with a reset (the client sees ECONNREFUSED)"
	for _, v := range cands {
		if v.state == sockscope.Close && (v.v4 == dst.Addr() || v.isWild4() || v.a6 == dst.Addr() || v.typ == typeAny) {
			d += "; a bound socket that does not listen is never a target: " + describe(v.s)
			break
		}
	}
	r.step("none", d, nil)
	r.Verdict = None
}

// tcpEstablished is T2: the established hash, TIME-WAIT and request
// minisockets included. It reports whether a socket matched.
func tcpEstablished(r *LookupResult, cands []*view, src, dst netip.AddrPort, dif uint32) bool {
	var est []*view
	for _, v := range cands {
		if v.state == sockscope.Listen || v.state == sockscope.Close || v.state == sockscope.BoundInactive {
			continue
		}
		if tupleMatch(v, src, dst) && devMatch(v.dev, dif) {
			est = append(est, v)
		}
	}
	if len(est) == 0 {
		r.step("established", "no socket in the established hash has this 4-tuple", nil)
		return false
	}
	v := est[0]
	d := "the 4-tuple matches a socket in the established hash"
	switch v.state {
	case sockscope.TimeWait:
		d = "the 4-tuple matches a TIME-WAIT socket: an acceptable new SYN (newer sequence number or timestamp) ends it and is handed to a freshly looked-up listener; any other segment gets an ACK or a reset"
	case sockscope.SynRecv, sockscope.NewSynRecv:
		d = "the 4-tuple matches a request socket (a handshake in progress): the segment goes to the listener that received the SYN, with no new lookup"
	}
	r.step("established", d, est)
	setResult(r, est[:1], 0)
	return true
}

// tcpListener runs the two listener passes (T4-T9): the exact address,
// then the wildcard. It reports whether a listener was found.
func tcpListener(r *LookupResult, ls []*view, dst netip.AddrPort, dif uint32) bool {
	v4 := dst.Addr().Is4()
	wild := v4Any
	if !v4 {
		wild = netip.IPv6Unspecified()
	}
	for _, p := range []struct {
		name string
		addr netip.Addr
	}{{"listener-exact", dst.Addr()}, {"listener-wildcard", wild}} {
		score := func(v *view) int { return scoreTCP(v, p.addr, v4, dif) }
		var in []*view
		for _, v := range ls {
			if score(v) > 0 {
				in = append(in, v)
			}
		}
		res, amb := walkAll(ls, in, score, 0, false, nil)
		at := sockscope.FormatAddrPort(netip.AddrPortFrom(p.addr, dst.Port()))
		if len(res) == 0 {
			r.step(p.name, "no listener on "+at, nil)
			continue
		}
		r.step(p.name, tcpPassDetail(at, p.addr, in, res, amb, v4), in)
		setResult(r, res, amb)
		return true
	}
	return false
}

func tcpPassDetail(at string, addr netip.Addr, in, res []*view, amb Ambiguity, v4 bool) string {
	var b strings.Builder
	if len(in) == 1 {
		b.WriteString("the only listener on " + at)
	} else {
		fmt.Fprintf(&b, "%d listeners on %s score ", len(in), at)
		if v4 {
			b.WriteString("1, +1 if bound to the device, +1 if AF_INET")
		} else {
			b.WriteString("1, +1 if bound to the device")
		}
		b.WriteString("; the chain is walked newest first (AF_INET6 SO_REUSEPORT sockets last), and the first SO_REUSEPORT socket that beats the best score so far ends the walk with its group's pick")
		b.WriteString("; a listener would get +1 on the CPU set with SO_INCOMING_CPU, which sockscope does not read: listeners are assumed not to set it")
	}
	if !addr.IsUnspecified() {
		b.WriteString("; an exact-address listener always beats a wildcard one")
	}
	b.WriteString(ambiguityText(len(res), amb))
	return b.String()
}

// ambiguityText says why there are n possible receivers ("" for one).
func ambiguityText(n int, amb Ambiguity) string {
	if n < 2 {
		return ""
	}
	var why []string
	if amb.Has(ReuseportHash) {
		why = append(why, "a SO_REUSEPORT group picks its member by a keyed hash of the 4-tuple, which cannot be computed offline: only the kernel's own lookup can name the member")
	}
	if amb.Has(HiddenInput) {
		why = append(why, "the answer turns on socket options that could not be read (SO_REUSEPORT) or on the CPU the packet is processed on")
	}
	return fmt.Sprintf("; %d possible receivers: %s", n, strings.Join(why, "; and "))
}

// scoreTCP is compute_score (IPv4) or the IPv6 one for a listener.
func scoreTCP(v *view, addr netip.Addr, v4 bool, dif uint32) int {
	if !devMatch(v.dev, dif) {
		return -1
	}
	if v4 {
		if v.v6only == yes || v.v4 != addr || (v.fam == sockscope.FamilyInet6 && v.typ == typeOther) {
			return -1
		}
		s := 1
		if v.dev != 0 {
			s = 2
		}
		if v.fam == sockscope.FamilyInet {
			s++
		}
		return s
	}
	if v.fam != sockscope.FamilyInet6 || v.a6 != addr {
		return -1
	}
	if v.dev != 0 {
		return 2
	}
	return 1
}

// walkAll runs the hash-chain walk of a listener (or UDP) lookup for every
// assignment of the unknown SO_REUSEPORT bits of the candidates in, and of
// the CPU bonus of the sockets in cpu, and returns every socket that can
// receive, with what makes the choice ambiguous. all is the chain (sockets
// of other addresses score -1 and do not matter); start is the initial
// best score.
func walkAll(all, in []*view, score func(*view) int, start int, udp bool, cpu []*view) ([]*view, Ambiguity) {
	var unk []*view
	for _, v := range in {
		if v.rp == unknown && !(udp && v.conn) {
			unk = append(unk, v)
		}
	}
	bits := len(unk) + len(cpu)
	if bits > 12 {
		// Too many hidden inputs to enumerate: every candidate is possible.
		var amb Ambiguity
		if len(in) > 1 {
			amb = HiddenInput | ReuseportHash
		}
		return slices.Clone(in), amb
	}
	var out, first []*view
	var amb Ambiguity
	for mask := 0; mask < 1<<bits; mask++ {
		rpOf := func(v *view) sockscope.Tristate {
			if i := slices.Index(unk, v); i >= 0 {
				return tri(mask&(1<<i) != 0)
			}
			return v.rp
		}
		bonus := func(v *view) int {
			if i := slices.Index(cpu, v); i >= 0 && mask&(1<<(len(unk)+i)) != 0 {
				return 1
			}
			return 0
		}
		order := chainOrder(slices.Clone(in), rpOf)
		got := walk(order, all, score, bonus, rpOf, start, udp)
		if len(got) > 1 {
			amb |= ReuseportHash
		}
		if mask == 0 {
			first = got
		} else if !sameSet(got, first) {
			amb |= HiddenInput
		}
		for _, v := range got {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	if len(out) < 2 {
		amb = 0
	}
	return out, amb
}

func sameSet(a, b []*view) bool {
	if len(a) != len(b) {
		return false
	}
	for _, v := range a {
		if !slices.Contains(b, v) {
			return false
		}
	}
	return true
}

// walk is inet_lhash2_lookup / udp4_lib_lookup2 for one assignment: a
// socket must beat the best score so far (a tie keeps the one walked
// first: docs/kernel.md T7, U2).
func walk(order, all []*view, score func(*view) int, bonus func(*view) int, rp func(*view) sockscope.Tristate, best int, udp bool) []*view {
	var result *view
	for _, v := range order {
		s := score(v)
		if s < 0 {
			continue
		}
		s += bonus(v)
		if s <= best {
			continue
		}
		best = s
		if udp && v.conn {
			result = v
			continue
		}
		if rp(v) == yes {
			return group(v, all, rp, udp)
		}
		result = v
	}
	if result == nil {
		return nil
	}
	return []*view{result}
}

// group returns the reuseport group of v: sockets with SO_REUSEPORT and the
// same family, v6only, device, uid and exact address (T8). UDP groups hold
// unconnected sockets only.
func group(v *view, all []*view, rp func(*view) sockscope.Tristate, udp bool) []*view {
	var g []*view
	for _, w := range all {
		if w != v {
			if rp(w) != yes || w.fam != v.fam || w.v6only != v.v6only || w.dev != v.dev || w.uid != v.uid || w.state != v.state {
				continue
			}
			if w.fam == sockscope.FamilyInet6 && w.a6 != v.a6 || w.v4 != v.v4 {
				continue
			}
			if udp && w.conn {
				continue
			}
		}
		g = append(g, w)
	}
	return g
}

func views2socks(vs []*view) []*sockscope.Socket {
	out := make([]*sockscope.Socket, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.s)
	}
	return out
}

func setResult(r *LookupResult, res []*view, amb Ambiguity) {
	r.Candidates = views2socks(res)
	if len(res) == 1 {
		r.Verdict, r.Socket = One, res[0].s
		return
	}
	r.Verdict, r.Ambiguity = OneOf, amb
}

func isBroadcast(seg Segment, dst netip.Addr) bool {
	return seg.Broadcast || dst.IsMulticast() || dst == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// scoreUDP is the UDP compute_score for the bucket of addr, without the
// CPU bonus (docs/kernel.md U2, U3).
func scoreUDP(v *view, addr netip.Addr, src netip.AddrPort, v4 bool, dif uint32) int {
	if !devMatch(v.dev, dif) {
		return -1
	}
	if v4 {
		if v.v6only == yes || v.v4 != addr || (v.fam == sockscope.FamilyInet6 && v.typ == typeOther) {
			return -1
		}
		s := 1
		if v.fam == sockscope.FamilyInet {
			s = 2
		}
		if v.conn {
			if v.raddr != src.Addr() || v.rport != src.Port() {
				return -1
			}
			s += 8
		}
		if v.dev != 0 {
			s += 4
		}
		return s
	}
	if v.fam != sockscope.FamilyInet6 || v.a6 != addr {
		return -1
	}
	s := 0
	if v.conn {
		if v.raddr != src.Addr() || v.rport != src.Port() {
			return -1
		}
		s += 2
	}
	if v.dev != 0 {
		s++
	}
	return s
}

// lookupUDP is __udp4_lib_lookup / __udp6_lib_lookup (U1-U6), or the
// broadcast and multicast delivery.
func lookupUDP(r *LookupResult, cands []*view, src, dst netip.AddrPort, seg Segment) {
	if isBroadcast(seg, dst.Addr()) {
		udpBroadcast(r, cands, src, dst, seg.Ifindex)
		return
	}
	if udpConnected(r, cands, src, dst, seg.Ifindex) {
		return
	}
	v4 := dst.Addr().Is4()
	wild := v4Any
	start := 0 // udp4_lib_lookup2 starts at badness 0, udp6 at -1
	if !v4 {
		wild, start = netip.IPv6Unspecified(), -1
	}
	for _, p := range []struct {
		name string
		addr netip.Addr
	}{{"exact", dst.Addr()}, {"wildcard", wild}} {
		if udpScored(r, cands, p.name, p.addr, src, dst.Port(), start, seg.Ifindex) {
			return
		}
	}
	r.step("none", "no socket: the kernel answers with ICMP port unreachable (a connected sender gets ECONNREFUSED)", nil)
	r.Verdict = None
}

// udpBroadcast copies a broadcast or multicast datagram to every matching
// socket (__udp4_lib_mcast_deliver).
func udpBroadcast(r *LookupResult, cands []*view, src, dst netip.AddrPort, dif uint32) {
	v4 := dst.Addr().Is4()
	var got []*view
	for _, v := range cands {
		if !devMatch(v.dev, dif) {
			continue
		}
		if v.conn && (v.raddr != src.Addr() || v.rport != src.Port()) {
			continue
		}
		if v4 {
			if v.v6only == yes || (v.fam == sockscope.FamilyInet6 && v.typ == typeOther) {
				continue
			}
			if !v.isWild4() && v.v4 != dst.Addr() {
				continue
			}
		} else if v.fam != sockscope.FamilyInet6 || (v.typ != typeAny && v.a6 != dst.Addr()) {
			continue
		}
		got = append(got, v)
	}
	r.step("broadcast", "a broadcast or multicast datagram is copied to every matching socket (bound to the wildcard or to the destination, unconnected or connected to the sender), reuseport groups ignored; sockets that joined the group apply their source filters, which are not inspected", got)
	if len(got) == 0 {
		r.Verdict = None
		r.step("none", "no socket matches: the datagram is dropped silently", nil)
		return
	}
	r.Verdict, r.Candidates = All, views2socks(got)
	if len(got) == 1 {
		r.Socket = got[0].s
	}
}

// udpConnected is U1 step 1: the hash4 table holds connected sockets with
// a specific local address; the first exact 4-tuple match wins, with no
// scoring (a device binding only has to match, it adds nothing). A socket
// enters the head of its hash4 chain when it connects, so the most
// recently connected one is found first. The snapshot does not show
// connect order: it is taken to be bind order (see newestBound). It
// reports whether one matched. See docs/kernel.md U7.
func udpConnected(r *LookupResult, cands []*view, src, dst netip.AddrPort, dif uint32) bool {
	var h4 []*view
	for _, v := range cands {
		if v.conn && tupleMatch(v, src, dst) && devMatch(v.dev, dif) {
			h4 = append(h4, v)
		}
	}
	if len(h4) == 0 {
		return false
	}
	res, amb := newestBound(h4)
	detail := "a connected socket has exactly this 4-tuple (the hash4 table): the first match takes the datagram without scoring"
	if len(h4) > 1 {
		detail += fmt.Sprintf("; %d sockets match, and the chain holds the most recently connected first, whether bound to the device or not; sockscope takes connect order to be bind order", len(h4))
		if amb != 0 {
			detail += ", which the dump tells only with SO_REUSEPORT known (an AF_INET6 socket with it sits at the tail of its port's chain, so the dump lists those oldest first)"
		}
	}
	r.step("connected", detail+ambiguityText(len(res), amb), h4)
	setResult(r, res, amb)
	return true
}

// newestBound returns the most recently bound of vs (several, with
// HiddenInput, when that turns on a SO_REUSEPORT that could not be read).
// Within a family the dump lists a port's chain: head-inserted sockets
// newest first, then AF_INET6 sockets with SO_REUSEPORT, which the kernel
// appends at the tail, oldest first. Sockets of different families, or of
// different parts of the chain, are ordered by inode.
func newestBound(vs []*view) ([]*view, Ambiguity) {
	var unk []*view
	for _, v := range vs {
		if v.fam == sockscope.FamilyInet6 && v.rp == unknown {
			unk = append(unk, v)
		}
	}
	if len(unk) > 12 {
		return slices.Clone(vs), HiddenInput
	}
	var out []*view
	for mask := 0; mask < 1<<len(unk); mask++ {
		tail := func(v *view) bool {
			if i := slices.Index(unk, v); i >= 0 {
				return mask&(1<<i) != 0
			}
			return v.tail(v.rp)
		}
		best := vs[0]
		for _, v := range vs[1:] {
			if boundAfter(v, best, tail(v), tail(best)) {
				best = v
			}
		}
		if !slices.Contains(out, best) {
			out = append(out, best)
		}
	}
	if len(out) > 1 {
		return out, HiddenInput
	}
	return out, 0
}

// boundAfter reports whether a was bound after b; ta and tb say whether
// each sits at the tail of its chain.
func boundAfter(a, b *view, ta, tb bool) bool {
	if a.fam == b.fam && ta == tb && a.s.Seq != 0 && b.s.Seq != 0 {
		if ta {
			return a.s.Seq > b.s.Seq
		}
		return a.s.Seq < b.s.Seq
	}
	if a.s.Inode != b.s.Inode {
		return a.s.Inode > b.s.Inode
	}
	return a.s.Cookie > b.s.Cookie
}

// udpScored is one udp4_lib_lookup2 pass over the sockets bound to addr
// (the exact destination, then the wildcard). It reports whether a socket
// was found. The CPU bonus is docs/kernel.md U3.
func udpScored(r *LookupResult, cands []*view, name string, addr netip.Addr, src netip.AddrPort, port uint16, start int, dif uint32) bool {
	v4 := addr.Is4()
	score := func(v *view) int { return scoreUDP(v, addr, src, v4, dif) }
	var in, cpu []*view
	for _, v := range cands {
		if score(v) >= 0 {
			in = append(in, v)
			// A connected socket's sk_incoming_cpu follows the CPU that
			// last fed it: it may get the +1 on any CPU.
			if v.conn {
				cpu = append(cpu, v)
			}
		}
	}
	res, amb := walkAll(in, in, score, start, true, cpu)
	at := sockscope.FormatAddrPort(netip.AddrPortFrom(addr, port))
	if len(res) == 0 {
		r.step(name, "no socket bound to "+at, nil)
		return false
	}
	r.step(name, udpPassDetail(at, in, res, amb, v4), in)
	setResult(r, res, amb)
	r.cpuInput = len(res) > 1 && len(cpu) > 0
	return true
}

func udpPassDetail(at string, in, res []*view, amb Ambiguity, v4 bool) string {
	if len(in) == 1 {
		return "the only socket bound to " + at
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d sockets bound to %s score ", len(in), at)
	if v4 {
		b.WriteString("2 for AF_INET or 1 for dual-stack AF_INET6, +4 each for a connected remote address and port that match, +4 if bound to the device")
	} else {
		b.WriteString("0, +1 each for a connected remote address and port that match, +1 if bound to the device")
	}
	b.WriteString("; the chain is walked newest first (AF_INET6 SO_REUSEPORT sockets last) and a socket must beat the best score so far, so a tie goes to the most recently bound socket, with no hash; only a SO_REUSEPORT group picks its member by a hash of the 4-tuple")
	b.WriteString("; a socket also gets +1 on the CPU in its SO_INCOMING_CPU, which the kernel sets only on request or while the socket is connected and receiving: sockscope does not read it and assumes an unconnected socket does not have it")
	b.WriteString(ambiguityText(len(res), amb))
	return b.String()
}
