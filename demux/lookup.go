package demux

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/sockscope/sockscope"
)

// Verdicts of Lookup.
const (
	// One: exactly one socket receives the segment (LookupResult.Socket).
	One = "socket"
	// OneOf: one of LookupResult.Candidates receives it; which one turns on
	// a keyed hash of the 4-tuple (a reuseport group) or a hidden input.
	OneOf = "one-of"
	// All: every one of LookupResult.Candidates receives a copy (UDP
	// broadcast and multicast).
	All = "all"
	// None: no socket; TCP answers with a reset, UDP with ICMP port
	// unreachable.
	None = "none"
)

// Segment is an incoming TCP segment or UDP datagram, as the receiving
// host sees it.
type Segment struct {
	Proto sockscope.Proto
	// Src is the sender's address and port; Dst the local address and
	// port it is sent to. v4-mapped addresses are treated as IPv4.
	Src, Dst netip.AddrPort
	// Ifindex is the ingress device (the kernel's dif). For traffic sent
	// from this host it is the device that owns Dst, not lo (kernel.md
	// 0.4). 0 means "no device": sockets bound to a device never match.
	Ifindex uint32
	// Broadcast marks a UDP datagram to a broadcast address (every
	// matching socket gets a copy). Multicast destinations and
	// 255.255.255.255 are recognised without it; a subnet broadcast such
	// as 127.255.255.255 is not.
	Broadcast bool
	// NetNS is the inode of the receiving namespace; 0 considers every
	// socket of the snapshot.
	NetNS uint64
}

// Step is one stage of the kernel's lookup.
type Step struct {
	Name    string
	Detail  string
	Matched []*sockscope.Socket
}

// LookupResult is Lookup's answer.
type LookupResult struct {
	// Verdict is One, OneOf, All or None.
	Verdict string
	// Socket is the receiving socket when Verdict is One.
	Socket *sockscope.Socket
	// Candidates are the possible receivers (OneOf) or every receiver
	// (All); for One it holds Socket alone.
	Candidates []*sockscope.Socket
	// Steps follow the kernel's lookup order (kernel.md T1-T9, U1-U6).
	Steps []Step
}

// Lookup predicts which socket of snap receives seg, following the
// kernel's demultiplexing (kernel.md section 1 and 2). Hidden options
// come from flags (nil: unknown) and from sound inferences; where they, the
// reuseport hash or the CPU a datagram arrives on could change the answer,
// the verdict is OneOf with every possible receiver.
func Lookup(snap *sockscope.Snapshot, seg Segment, flags FlagFunc) LookupResult {
	var r LookupResult
	r.Steps = append(r.Steps, Step{Name: "hooks", Detail: "not inspected: TPROXY rules, sk_lookup BPF programs, bpf_sk_assign and reuseport BPF programs; if any is installed it can choose the socket first"})
	src := netip.AddrPortFrom(seg.Src.Addr().WithZone("").Unmap(), seg.Src.Port())
	dst := netip.AddrPortFrom(seg.Dst.Addr().WithZone("").Unmap(), seg.Dst.Port())
	if !dst.Addr().IsValid() || (src.Addr().IsValid() && src.Addr().Is4() != dst.Addr().Is4()) {
		r.Verdict = None
		r.Steps = append(r.Steps, Step{Name: "input", Detail: "the segment needs a destination address, and source and destination of the same IP version"})
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
		r.Steps = append(r.Steps, Step{Name: "device", Detail: "no ingress device given: sockets bound to a device (SO_BINDTODEVICE) are treated as not matching"})
	}
	switch seg.Proto {
	case sockscope.TCP:
		lookupTCP(&r, cands, src, dst, seg.Ifindex)
	case sockscope.UDP, sockscope.UDPLite:
		lookupUDP(&r, cands, src, dst, seg)
	default:
		r.Verdict = None
		r.Steps = append(r.Steps, Step{Name: "input", Detail: fmt.Sprintf("%s has no ports to demultiplex", seg.Proto)})
	}
	if r.Verdict == One && len(r.Candidates) == 0 {
		r.Candidates = []*sockscope.Socket{r.Socket}
	}
	return r
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
	// T2: the established hash, TIME-WAIT and request minisockets included.
	var est []*view
	for _, v := range cands {
		if v.state == sockscope.Listen || v.state == sockscope.Close || v.state == sockscope.BoundInactive {
			continue
		}
		if tupleMatch(v, src, dst) && devMatch(v.dev, dif) {
			est = append(est, v)
		}
	}
	if len(est) > 0 {
		v := est[0]
		d := "the 4-tuple matches a socket in the established hash"
		switch v.state {
		case sockscope.TimeWait:
			d = "the 4-tuple matches a TIME-WAIT socket: an acceptable new SYN (newer sequence number or timestamp) ends it and is handed to a freshly looked-up listener; any other segment gets an ACK or a reset"
		case sockscope.SynRecv, sockscope.NewSynRecv:
			d = "the 4-tuple matches a request socket (a handshake in progress): the segment goes to the listener that received the SYN, with no new lookup"
		}
		r.Steps = append(r.Steps, Step{Name: "established", Detail: d, Matched: views2socks(est)})
		setResult(r, est[:1])
		return
	}
	r.Steps = append(r.Steps, Step{Name: "established", Detail: "no socket in the established hash has this 4-tuple"})

	var ls []*view
	for _, v := range cands {
		if v.state == sockscope.Listen {
			ls = append(ls, v)
		}
	}
	inferListeners(ls)
	r.Steps = append(r.Steps, Step{Name: "cpu", Detail: "SO_INCOMING_CPU is not visible: listeners are assumed not to set it"})

	v4 := dst.Addr().Is4()
	passes := []struct {
		name string
		addr netip.Addr
	}{{"listener-exact", dst.Addr()}, {"listener-wildcard", v4Any}}
	if !v4 {
		passes[1].addr = netip.IPv6Unspecified()
	}
	for _, p := range passes {
		score := func(v *view) int { return scoreTCP(v, p.addr, v4, dif) }
		var in []*view
		for _, v := range ls {
			if score(v) > 0 {
				in = append(in, v)
			}
		}
		res := walkAll(ls, in, score, 0, false, nil)
		if len(res) == 0 {
			r.Steps = append(r.Steps, Step{Name: p.name, Detail: fmt.Sprintf("no listener on %s", sockscope.FormatAddrPort(netip.AddrPortFrom(p.addr, dst.Port())))})
			continue
		}
		r.Steps = append(r.Steps, Step{Name: p.name, Detail: tcpPassDetail(p.addr, dst.Port(), in, res, v4), Matched: views2socks(in)})
		setResult(r, res)
		return
	}
	d := "no listener: the kernel answers a SYN with a reset (the client sees ECONNREFUSED)"
	for _, v := range cands {
		if v.state == sockscope.Close && (v.v4 == dst.Addr() || v.isWild4() || v.a6 == dst.Addr() || v.typ == typeAny) {
			d += "; a bound socket that does not listen is never a target: " + describe(v.s)
			break
		}
	}
	r.Steps = append(r.Steps, Step{Name: "none", Detail: d})
	r.Verdict = None
}

func tcpPassDetail(addr netip.Addr, port uint16, in, res []*view, v4 bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listeners on %s score ", sockscope.FormatAddrPort(netip.AddrPortFrom(addr, port)))
	if v4 {
		b.WriteString("1, +1 if bound to the device, +1 if AF_INET")
	} else {
		b.WriteString("1, +1 if bound to the device")
	}
	b.WriteString("; the chain is walked newest first (AF_INET6 SO_REUSEPORT sockets last), and the first SO_REUSEPORT socket that beats the best score so far ends the walk with its group's pick")
	if !addr.IsUnspecified() {
		b.WriteString("; an exact-address listener always beats a wildcard one")
	}
	if len(res) > 1 {
		b.WriteString(fmt.Sprintf("; %d possible receivers: a reuseport group picks its member by a keyed hash of the 4-tuple, which cannot be computed offline", len(res)))
	}
	return b.String()
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
// assignment of the unknown SO_REUSEPORT bits (and, for UDP, of the CPU
// bonus) of the candidates in, and returns every socket that can receive.
// all is the chain (sockets of other addresses score -1 and do not
// matter); start is the initial best score.
func walkAll(all, in []*view, score func(*view) int, start int, udp bool, cpu []*view) []*view {
	var unk []*view
	for _, v := range in {
		if v.rp == unknown && !(udp && v.conn) {
			unk = append(unk, v)
		}
	}
	bits := len(unk) + len(cpu)
	if bits > 12 {
		// Too many hidden inputs to enumerate: every candidate is possible.
		return slices.Clone(in)
	}
	var out []*view
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
		for _, v := range walk(order, all, score, bonus, rpOf, start, udp) {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// walk is inet_lhash2_lookup / udp4_lib_lookup2 for one assignment.
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

func setResult(r *LookupResult, res []*view) {
	r.Candidates = views2socks(res)
	if len(res) == 1 {
		r.Verdict, r.Socket = One, res[0].s
		return
	}
	r.Verdict = OneOf
}

func isBroadcast(seg Segment, dst netip.Addr) bool {
	return seg.Broadcast || dst.IsMulticast() || dst == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// scoreUDP is the UDP compute_score for the bucket of addr, without the
// CPU bonus.
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

func lookupUDP(r *LookupResult, cands []*view, src, dst netip.AddrPort, seg Segment) {
	v4 := dst.Addr().Is4()
	if isBroadcast(seg, dst.Addr()) {
		var got []*view
		for _, v := range cands {
			if !devMatch(v.dev, seg.Ifindex) {
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
		r.Steps = append(r.Steps, Step{Name: "broadcast", Detail: "a broadcast or multicast datagram is copied to every matching socket (bound to the wildcard or to the destination, unconnected or connected to the sender), reuseport groups ignored; sockets that joined the group apply their source filters, which are not inspected", Matched: views2socks(got)})
		if len(got) == 0 {
			r.Verdict = None
			r.Steps = append(r.Steps, Step{Name: "none", Detail: "no socket matches: the datagram is dropped silently"})
			return
		}
		r.Verdict, r.Candidates = All, views2socks(got)
		if len(got) == 1 {
			r.Socket = got[0].s
		}
		return
	}
	// U1 step 1: the hash4 table holds connected sockets with a specific
	// local address; the first exact 4-tuple match (newest first) wins,
	// with no scoring.
	var h4 []*view
	for _, v := range cands {
		if v.conn && tupleMatch(v, src, dst) && devMatch(v.dev, seg.Ifindex) {
			h4 = append(h4, v)
		}
	}
	if len(h4) > 0 {
		sortNewestFirst(h4)
		r.Steps = append(r.Steps, Step{Name: "connected", Detail: "a connected socket has exactly this 4-tuple (the hash4 table): the first match, the most recently hashed, takes the datagram without scoring", Matched: views2socks(h4)})
		setResult(r, h4[:1])
		return
	}
	wild := v4Any
	if !v4 {
		wild = netip.IPv6Unspecified()
	}
	start := 0
	if !v4 {
		start = -1
	}
	passes := []struct {
		name string
		addr netip.Addr
	}{{"exact", dst.Addr()}, {"wildcard", wild}}
	for _, p := range passes {
		score := func(v *view) int { return scoreUDP(v, p.addr, src, v4, seg.Ifindex) }
		var in []*view
		for _, v := range cands {
			if score(v) >= 0 {
				in = append(in, v)
			}
		}
		// UDP updates sk_incoming_cpu on every receive, so any candidate
		// may get the +1 CPU bonus.
		res := walkAll(in, in, score, start, true, in)
		if len(res) == 0 {
			r.Steps = append(r.Steps, Step{Name: p.name, Detail: fmt.Sprintf("no socket bound to %s", sockscope.FormatAddrPort(netip.AddrPortFrom(p.addr, dst.Port())))})
			continue
		}
		d := fmt.Sprintf("sockets bound to %s score ", sockscope.FormatAddrPort(netip.AddrPortFrom(p.addr, dst.Port())))
		if v4 {
			d += "2 for AF_INET or 1 for dual-stack AF_INET6, +4 each for a connected remote address and port that match, +4 if bound to the device"
		} else {
			d += "0, +1 each for a connected remote address and port that match, +1 if bound to the device"
		}
		d += "; a tie goes to the socket walked first (the most recently bound), and the +1 a socket gets when the datagram arrives on the CPU that last fed it is unpredictable, so scores within 1 are ambiguous; a SO_REUSEPORT group answers with a keyed hash of the 4-tuple"
		r.Steps = append(r.Steps, Step{Name: p.name, Detail: d, Matched: views2socks(in)})
		setResult(r, res)
		return
	}
	r.Steps = append(r.Steps, Step{Name: "none", Detail: "no socket: the kernel answers with ICMP port unreachable (a connected sender gets ECONNREFUSED)"})
	r.Verdict = None
}
