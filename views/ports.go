package views

import (
	"cmp"
	"slices"
	"strings"

	"github.com/sockscope/sockscope"
)

// PortBlock is everything on one (namespace, protocol, port): the sockets
// that own it (its listeners) and the other sockets that share it as their
// local port.
type PortBlock struct {
	NetNS   *sockscope.NetNS
	Port    sockscope.Port
	Service string
	// Listeners are the sockets that own the port: listeners
	// ([sockscope.Socket.IsListener]) and TCP sockets that are bound but
	// inactive ([sockscope.Socket.BoundInactive]), which hold the port
	// without receiving anything.
	Listeners []*sockscope.Socket
	// Sockets are the other sockets whose local port is this port.
	Sockets []*sockscope.Socket
	// States counts Sockets by state; Peers counts the connected ones by
	// remote address. Both are sorted by count, then label.
	States []Count
	Peers  []Count
}

// Count is a label and how often it occurs.
type Count struct {
	Label string
	N     int
}

// EphemeralSummary summarises the sockets of one (namespace, protocol)
// whose local port has no listener: the client side of connections.
type EphemeralSummary struct {
	NetNS   *sockscope.NetNS
	Proto   sockscope.Proto
	Sockets int
	// Ports counts the distinct local ports.
	Ports int
	// States counts the sockets by state, Remotes the connected ones by
	// remote endpoint.
	States  []Count
	Remotes []Count
}

// UnixBlock is one named Unix socket path and the sockets that share it (a
// listener and its accepted connections, or a bound datagram socket).
type UnixBlock struct {
	NetNS     *sockscope.NetNS
	Path      string
	Listeners []*sockscope.Socket
	Sockets   []*sockscope.Socket
	States    []Count
}

// PortsView is the port-first view of a snapshot.
type PortsView struct {
	// Blocks are in snapshot order: (netns, proto, port).
	Blocks    []*PortBlock
	Ephemeral []*EphemeralSummary
	// Unix is sorted by (netns inode, path). It includes paths without a
	// listener (connected sockets of a listener that is gone).
	Unix []*UnixBlock
	// Other counts sockets shown in no block: unnamed Unix sockets and
	// raw sockets.
	Other    []Count
	MultiNS  bool
	Warnings []sockscope.Warning
}

// ownsPort reports whether s gets a block of its own port: a listener, or a
// TCP socket that holds its port while inactive.
func ownsPort(s *sockscope.Socket) bool {
	return s.Proto.HasPorts() && (s.IsListener() || s.BoundInactive())
}

// FlagStates are the states whose sockets' bind flags the ports view
// shows: listeners (UDP: unconnected sockets, in state Close), bound-only
// TCP sockets and TIME-WAIT sockets ([sockscope.Options.FlagStates]).
const FlagStates = sockscope.StateSet(1<<sockscope.Listen | 1<<sockscope.Close | 1<<sockscope.TimeWait)

// BuildPorts groups a snapshot port-first. services names a port ("" if
// unknown); it may be nil.
func BuildPorts(snap *sockscope.Snapshot, services func(port uint16, proto string) string) *PortsView {
	b := newBuilder(snap)
	for _, s := range snap.Sockets {
		if ownsPort(s) {
			b.addOwner(s, services)
		}
	}
	for _, s := range snap.Sockets {
		b.place(s)
	}
	return b.finish()
}

type portKey struct {
	ns   *sockscope.NetNS
	port sockscope.Port
}

type nsProto struct {
	ns    *sockscope.NetNS
	proto sockscope.Proto
}

type unixKey struct {
	ns   uint64
	path string
}

// outbound accumulates one EphemeralSummary.
type outbound struct {
	sum     *EphemeralSummary
	ports   map[uint16]struct{}
	states  tally
	remotes tally
}

// builder holds the indexes BuildPorts fills in two passes: owners first, so
// that every other socket can be placed beside the owner of its port.
type builder struct {
	v        *PortsView
	blocks   map[portKey]*PortBlock
	outbound map[nsProto]*outbound
	outOrder []*outbound
	unix     map[unixKey]*UnixBlock
	other    tally
}

func newBuilder(snap *sockscope.Snapshot) *builder {
	return &builder{
		v:        &PortsView{Warnings: snap.Warnings, MultiNS: len(snap.NetNS) > 1},
		blocks:   map[portKey]*PortBlock{},
		outbound: map[nsProto]*outbound{},
		unix:     map[unixKey]*UnixBlock{},
	}
}

// addOwner adds a port owner to its port's block, opening the block.
func (b *builder) addOwner(s *sockscope.Socket, services func(uint16, string) string) {
	k := portKey{s.NetNS, s.Port()}
	blk := b.blocks[k]
	if blk == nil {
		blk = &PortBlock{NetNS: s.NetNS, Port: k.port}
		if services != nil {
			blk.Service = services(k.port.Num, k.port.Proto.String())
		}
		b.blocks[k] = blk
		b.v.Blocks = append(b.v.Blocks, blk)
	}
	blk.Listeners = append(blk.Listeners, s)
}

// place puts a socket that owns no port where the view shows it.
func (b *builder) place(s *sockscope.Socket) {
	switch {
	case ownsPort(s):
		// Already in its block.
	case s.Proto.HasPorts():
		if blk := b.blocks[portKey{s.NetNS, s.Port()}]; blk != nil {
			blk.Sockets = append(blk.Sockets, s)
		} else {
			b.addOutbound(s)
		}
	case s.Proto == sockscope.Unix && s.Path != "":
		b.addUnix(s)
	case s.Proto == sockscope.Unix:
		b.other.add("unnamed unix")
	default:
		b.other.add(s.Proto.String())
	}
}

// addOutbound counts a socket whose local port has no owner.
func (b *builder) addOutbound(s *sockscope.Socket) {
	k := nsProto{s.NetNS, s.Proto}
	o := b.outbound[k]
	if o == nil {
		o = &outbound{sum: &EphemeralSummary{NetNS: s.NetNS, Proto: s.Proto}, ports: map[uint16]struct{}{}}
		b.outbound[k] = o
		b.outOrder = append(b.outOrder, o)
	}
	o.sum.Sockets++
	o.ports[s.Local.Port()] = struct{}{}
	o.states.add(s.State.String())
	if s.Connected() {
		o.remotes.add(s.RemoteString())
	}
}

// addUnix adds a named Unix socket to its path's block.
func (b *builder) addUnix(s *sockscope.Socket) {
	k := unixKey{nsInode(s.NetNS), s.Path}
	blk := b.unix[k]
	if blk == nil {
		blk = &UnixBlock{NetNS: s.NetNS, Path: s.Path}
		b.unix[k] = blk
		b.v.Unix = append(b.v.Unix, blk)
	}
	if s.IsListener() {
		blk.Listeners = append(blk.Listeners, s)
	} else {
		blk.Sockets = append(blk.Sockets, s)
	}
}

// finish computes the counts and sorts the Unix blocks.
func (b *builder) finish() *PortsView {
	v := b.v
	for _, blk := range v.Blocks {
		blk.States, blk.Peers = stateCounts(blk.Sockets), peerCounts(blk.Sockets)
	}
	for _, o := range b.outOrder {
		o.sum.Ports = len(o.ports)
		o.sum.States, o.sum.Remotes = o.states.sorted(), o.remotes.sorted()
		v.Ephemeral = append(v.Ephemeral, o.sum)
	}
	for _, blk := range v.Unix {
		blk.States = stateCounts(blk.Sockets)
	}
	slices.SortStableFunc(v.Unix, func(a, b *UnixBlock) int {
		if c := cmp.Compare(nsInode(a.NetNS), nsInode(b.NetNS)); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
	v.Other = b.other.sorted()
	return v
}

// stateCounts counts sockets by state.
func stateCounts(socks []*sockscope.Socket) []Count {
	var t tally
	for _, s := range socks {
		t.add(s.State.String())
	}
	return t.sorted()
}

// peerCounts counts the connected sockets by remote address.
func peerCounts(socks []*sockscope.Socket) []Count {
	var t tally
	for _, s := range socks {
		if s.Connected() {
			t.add(s.Remote.Addr().String())
		}
	}
	return t.sorted()
}

func nsInode(ns *sockscope.NetNS) uint64 {
	if ns == nil {
		return 0
	}
	return ns.Inode
}

// tally counts labels. The zero tally is empty and ready to use.
type tally map[string]int

func (t *tally) add(label string) {
	if *t == nil {
		*t = map[string]int{}
	}
	(*t)[label]++
}

// sorted returns the counts, most frequent first, then by label; an empty
// tally gives an empty, non-nil slice.
func (t tally) sorted() []Count {
	out := make([]Count, 0, len(t))
	for k, n := range t {
		out = append(out, Count{k, n})
	}
	slices.SortFunc(out, func(a, b Count) int {
		if a.N != b.N {
			return b.N - a.N
		}
		return strings.Compare(a.Label, b.Label)
	})
	return out
}
