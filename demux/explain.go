package demux

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/sockscope/sockscope"
)

// ExplainPort describes a port of snap in a few plain sentences: how many
// sockets share it and in which states, how many listen, and which socket a
// new connection (or datagram) to each listening address would reach, and
// why. Connections are imagined from a remote client
// (198.51.100.1 or 2001:db8::1) arriving on the listener's device, or on
// ifindex 1 (lo) for an unbound one; a wildcard address is tried as the
// loopback address.
func ExplainPort(snap *sockscope.Snapshot, p sockscope.Port) []string {
	if snap == nil || !p.Proto.HasPorts() {
		return []string{fmt.Sprintf("%s is not a port: only TCP and UDP sockets have ports", p)}
	}
	var socks []*sockscope.Socket
	for _, s := range snap.Sockets {
		if s != nil && s.Proto == p.Proto && s.Local.Port() == p.Num && (s.Family == sockscope.FamilyInet || s.Family == sockscope.FamilyInet6) {
			socks = append(socks, s)
		}
	}
	if len(socks) == 0 {
		return []string{fmt.Sprintf("No socket uses %s: a bind to it meets no conflict, and a connection to it is refused.", p)}
	}
	var out []string
	states := map[sockscope.State]int{}
	var order []sockscope.State
	var listeners []*sockscope.Socket
	for _, s := range socks {
		if states[s.State] == 0 {
			order = append(order, s.State)
		}
		states[s.State]++
		if s.IsListener() {
			listeners = append(listeners, s)
		}
	}
	slices.Sort(order)
	var parts []string
	for _, st := range order {
		parts = append(parts, fmt.Sprintf("%d %s", states[st], st))
	}
	noun := "socket uses"
	if len(socks) > 1 {
		noun = "sockets share"
	}
	first := fmt.Sprintf("%d %s %s: %s.", len(socks), noun, p, strings.Join(parts, ", "))
	if n := namespaces(socks); n > 1 {
		first += fmt.Sprintf(" They live in %d network namespaces, each with its own socket table.", n)
	}
	out = append(out, first)
	if p.Proto == sockscope.TCP {
		switch len(listeners) {
		case 0:
			out = append(out, "Nothing listens, so a new connection is refused; the sockets here are ends of existing connections or bound sockets, which never accept.")
		case 1:
			out = append(out, "1 socket listens: it is the only one that receives new connections; every accepted connection becomes a separate socket with the same local port.")
		default:
			out = append(out, fmt.Sprintf("%d sockets listen: they are on addresses or devices that do not overlap, or in SO_REUSEPORT groups.", len(listeners)))
		}
	} else if len(listeners) > 0 {
		out = append(out, fmt.Sprintf("%d unconnected socket(s) receive datagrams to this port; UDP has no listeners or connections on the wire.", len(listeners)))
	}
	tried := map[netip.AddrPort]bool{}
	for _, l := range listeners {
		dst := l.Local.Addr().WithZone("").Unmap()
		if dst.IsUnspecified() || !dst.IsValid() {
			dst = netip.AddrFrom4([4]byte{127, 0, 0, 1})
			if l.Family == sockscope.FamilyInet6 && l.V6Only == sockscope.Yes {
				dst = netip.IPv6Loopback()
			}
		}
		ap := netip.AddrPortFrom(dst, p.Num)
		if tried[ap] {
			continue
		}
		tried[ap] = true
		src := netip.MustParseAddrPort("198.51.100.1:40000")
		if dst.Is6() {
			src = netip.MustParseAddrPort("[2001:db8::1]:40000")
		}
		dif := l.Interface
		if dif == 0 {
			dif = 1
		}
		var ns uint64
		if l.NetNS != nil {
			ns = l.NetNS.Inode
		}
		res := Lookup(snap, Segment{Proto: p.Proto, Src: src, Dst: ap, Ifindex: dif, NetNS: ns}, nil)
		what := "A new connection"
		if p.Proto != sockscope.TCP {
			what = "A datagram"
		}
		why := ""
		if n := len(res.Steps); n > 0 {
			why = res.Steps[n-1].Detail
		}
		switch res.Verdict {
		case One:
			out = append(out, fmt.Sprintf("%s to %s reaches %s. Why: %s.", what, sockscope.FormatAddrPort(ap), describe(res.Socket), why))
		case OneOf:
			var names []string
			for _, c := range res.Candidates {
				names = append(names, describe(c))
			}
			out = append(out, fmt.Sprintf("%s to %s reaches one of %d sockets (%s), chosen by a keyed hash of the 4-tuple or by inputs the kernel does not show. Why: %s.", what, sockscope.FormatAddrPort(ap), len(names), strings.Join(names, "; "), why))
		case None:
			out = append(out, fmt.Sprintf("%s to %s reaches no socket. %s.", what, sockscope.FormatAddrPort(ap), why))
		}
	}
	return out
}
