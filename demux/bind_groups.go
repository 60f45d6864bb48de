package demux

import (
	"net/netip"

	"github.com/sockscope/sockscope"
)

// BlockerGroup is a set of blockers that block for the same reason: the
// same state, family, local address, device and rule, and equally
// definite. Thousands of TIME-WAIT sockets on one address make one group.
type BlockerGroup struct {
	Definite bool
	State    sockscope.State
	Family   sockscope.Family
	Local    netip.AddrPort
	// Interface is the bound device (ifindex), 0 for none.
	Interface uint32
	// Reason says in plain words why they conflict.
	Reason string
	// Sockets are the members, in the order of BindResult.Blockers.
	Sockets []*sockscope.Socket
}

// Groups gathers Blockers that block for the same reason, in the order
// of their first member (definite groups first, as Blockers are).
func (r BindResult) Groups() []BlockerGroup {
	type key struct {
		definite bool
		state    sockscope.State
		family   sockscope.Family
		local    netip.AddrPort
		dev      uint32
		reason   string
	}
	var out []BlockerGroup
	index := map[key]int{}
	for _, b := range r.Blockers {
		s := b.Socket
		if s == nil {
			continue
		}
		k := key{b.Definite, s.State, s.Family, s.Local, s.Interface, b.Reason}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, BlockerGroup{Definite: b.Definite, State: s.State, Family: s.Family, Local: s.Local, Interface: s.Interface, Reason: b.Reason})
		}
		out[i].Sockets = append(out[i].Sockets, s)
	}
	return out
}
