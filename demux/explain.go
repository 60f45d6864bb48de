package demux

import (
	"net/netip"
	"slices"

	"github.com/sockscope/sockscope"
)

// PortReport is what [ExplainPort] says about one port, as data: how many
// sockets share it and in which states, how many receive new connections
// or datagrams, and which socket a probe to each receiving address would
// reach. [PortReport.Sentences] puts it into words.
type PortReport struct {
	Port sockscope.Port
	// Valid is false when Port is not a port (a protocol without ports,
	// or no snapshot); the other fields are then empty.
	Valid bool
	// Sockets counts the TCP/UDP sockets on the port; States splits them
	// by state, in State order.
	Sockets int
	States  []StateCount
	// Namespaces counts the network namespaces the sockets live in.
	Namespaces int
	// Listeners counts the sockets that receive new connections (TCP
	// LISTEN) or datagrams (unconnected UDP).
	Listeners int
	// Probes are the imagined segments, one per receiving address.
	Probes []Probe
}

// StateCount is the number of sockets in one state.
type StateCount struct {
	State sockscope.State
	Count int
}

// Probe is a new connection (or datagram) from a remote client to one
// receiving address, and the socket Lookup says it reaches.
type Probe struct {
	Segment Segment
	Result  LookupResult
}

// Probe sources: documentation addresses (RFC 5737, RFC 3849), never
// local.
var (
	probeSrc4 = netip.MustParseAddrPort("198.51.100.1:40000")
	probeSrc6 = netip.MustParseAddrPort("[2001:db8::1]:40000")
)

// AnalyzePort builds the PortReport of p in snap. Probes come from a remote
// client (198.51.100.1 or 2001:db8::1) arriving on the listener's device,
// or on ifindex 1 (lo) for an unbound one; a wildcard address is tried as
// the loopback address. flags tells hidden socket options (nil: unknown).
func AnalyzePort(snap *sockscope.Snapshot, p sockscope.Port, flags FlagFunc) PortReport {
	rep := PortReport{Port: p}
	if snap == nil || !p.Proto.HasPorts() {
		return rep
	}
	rep.Valid = true
	var socks, listeners []*sockscope.Socket
	counts := map[sockscope.State]int{}
	for _, s := range snap.Sockets {
		if s == nil || s.Proto != p.Proto || s.Local.Port() != p.Num || (s.Family != sockscope.FamilyInet && s.Family != sockscope.FamilyInet6) {
			continue
		}
		socks = append(socks, s)
		counts[s.State]++
		if s.IsListener() {
			listeners = append(listeners, s)
		}
	}
	rep.Sockets, rep.Listeners = len(socks), len(listeners)
	if len(socks) == 0 {
		return rep
	}
	for st, n := range counts {
		rep.States = append(rep.States, StateCount{State: st, Count: n})
	}
	slices.SortFunc(rep.States, func(a, b StateCount) int { return int(a.State) - int(b.State) })
	rep.Namespaces = namespaces(socks)
	tried := map[netip.AddrPort]bool{}
	for _, l := range listeners {
		seg := probeTo(l, p)
		if tried[seg.Dst] {
			continue
		}
		tried[seg.Dst] = true
		rep.Probes = append(rep.Probes, Probe{Segment: seg, Result: Lookup(snap, seg, flags)})
	}
	return rep
}

// probeTo is the segment a remote client sends to listener l.
func probeTo(l *sockscope.Socket, p sockscope.Port) Segment {
	dst := l.Local.Addr().WithZone("").Unmap()
	if dst.IsUnspecified() || !dst.IsValid() {
		dst = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		if l.Family == sockscope.FamilyInet6 && l.V6Only == sockscope.Yes {
			dst = netip.IPv6Loopback()
		}
	}
	src := probeSrc4
	if dst.Is6() {
		src = probeSrc6
	}
	dif := l.Interface
	if dif == 0 {
		dif = 1
	}
	var ns uint64
	if l.NetNS != nil {
		ns = l.NetNS.Inode
	}
	return Segment{Proto: p.Proto, Src: src, Dst: netip.AddrPortFrom(dst, p.Num), Ifindex: dif, NetNS: ns}
}

// ExplainPort describes a port of snap in a few plain sentences:
// [AnalyzePort] with hidden options unknown, followed by
// [PortReport.Sentences].
func ExplainPort(snap *sockscope.Snapshot, p sockscope.Port) []string {
	return AnalyzePort(snap, p, nil).Sentences()
}
