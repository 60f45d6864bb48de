package render

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/sockscope/sockscope"
)

// PortBlock is everything on one (namespace, protocol, port): the sockets
// that receive new connections or datagrams for it (listeners), and the
// other sockets that share the port as their local port.
type PortBlock struct {
	NetNS   *sockscope.NetNS
	Port    sockscope.Port
	Service string
	// Listeners are TCP LISTEN sockets, UDP sockets that are bound and not
	// connected, and TCP sockets that are bound but inactive.
	Listeners []*sockscope.Socket
	// Sockets are the other sockets whose local port is this port.
	Sockets []*sockscope.Socket
	States  []Count
	Peers   []Count
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
	Ports   int
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
	Blocks    []*PortBlock
	Ephemeral []*EphemeralSummary
	Unix      []*UnixBlock
	// Other counts sockets shown in no block: unnamed Unix sockets and
	// raw sockets.
	Other    []Count
	MultiNS  bool
	Warnings []sockscope.Warning
}

// IsListener reports whether s receives new connections or datagrams for
// its port: a LISTEN socket, an unconnected bound UDP socket, or a TCP
// socket that holds its port while inactive.
func IsListener(s *sockscope.Socket) bool {
	switch s.Proto {
	case sockscope.TCP:
		return s.State == sockscope.Listen || s.State == sockscope.Close
	case sockscope.UDP, sockscope.UDPLite:
		return !s.Connected() && s.Local.Port() != 0
	case sockscope.Unix:
		return s.State == sockscope.Listen || (s.Type == sockscope.SockDgram && s.Path != "" && s.PeerInode == 0)
	}
	return false
}

type portKey struct {
	ns   *sockscope.NetNS
	port sockscope.Port
}

type nsProto struct {
	ns    *sockscope.NetNS
	proto sockscope.Proto
}

// BuildPorts groups a snapshot port-first. services names a port ("" if
// unknown); it may be nil.
func BuildPorts(snap *sockscope.Snapshot, services func(port uint16, proto string) string) *PortsView {
	v := &PortsView{Warnings: snap.Warnings, MultiNS: len(snap.NetNS) > 1}
	blocks := map[portKey]*PortBlock{}
	for _, s := range snap.Sockets {
		if s.Proto.HasPorts() && IsListener(s) {
			k := portKey{s.NetNS, s.Port()}
			b := blocks[k]
			if b == nil {
				b = &PortBlock{NetNS: s.NetNS, Port: k.port}
				if services != nil {
					b.Service = services(k.port.Num, k.port.Proto.String())
				}
				blocks[k] = b
				v.Blocks = append(v.Blocks, b)
			}
			b.Listeners = append(b.Listeners, s)
		}
	}
	eph := map[nsProto]*EphemeralSummary{}
	ephPorts := map[portKey]struct{}{}
	ephStates := map[nsProto]map[string]int{}
	ephRemotes := map[nsProto]map[string]int{}
	unixBlocks := map[string]*UnixBlock{}
	other := map[string]int{}
	for _, s := range snap.Sockets {
		switch {
		case s.Proto.HasPorts():
			if IsListener(s) {
				continue
			}
			if b := blocks[portKey{s.NetNS, s.Port()}]; b != nil {
				b.Sockets = append(b.Sockets, s)
				continue
			}
			k := nsProto{s.NetNS, s.Proto}
			e := eph[k]
			if e == nil {
				e = &EphemeralSummary{NetNS: s.NetNS, Proto: s.Proto}
				eph[k] = e
				v.Ephemeral = append(v.Ephemeral, e)
				ephStates[k] = map[string]int{}
				ephRemotes[k] = map[string]int{}
			}
			e.Sockets++
			pk := portKey{s.NetNS, s.Port()}
			if _, ok := ephPorts[pk]; !ok {
				ephPorts[pk] = struct{}{}
				e.Ports++
			}
			ephStates[k][s.State.String()]++
			if s.Connected() {
				ephRemotes[k][sockscope.FormatAddrPort(s.Remote)]++
			}
		case s.Proto == sockscope.Unix && s.Path != "":
			key := strconv.FormatUint(nsInode(s.NetNS), 10) + "\x00" + s.Path
			b := unixBlocks[key]
			if b == nil {
				b = &UnixBlock{NetNS: s.NetNS, Path: s.Path}
				unixBlocks[key] = b
				v.Unix = append(v.Unix, b)
			}
			if IsListener(s) {
				b.Listeners = append(b.Listeners, s)
			} else {
				b.Sockets = append(b.Sockets, s)
			}
		case s.Proto == sockscope.Unix:
			other["unnamed unix"]++
		default:
			other[s.Proto.String()]++
		}
	}
	for _, b := range v.Blocks {
		states := map[string]int{}
		peers := map[string]int{}
		for _, s := range b.Sockets {
			states[s.State.String()]++
			if s.Connected() {
				peers[addrLabel(s.Remote.Addr())]++
			}
		}
		b.States = sortedCounts(states)
		b.Peers = sortedCounts(peers)
	}
	for k, e := range eph {
		e.States = sortedCounts(ephStates[k])
		e.Remotes = sortedCounts(ephRemotes[k])
	}
	for _, b := range v.Unix {
		states := map[string]int{}
		for _, s := range b.Sockets {
			states[s.State.String()]++
		}
		b.States = sortedCounts(states)
	}
	v.Other = sortedCounts(other)
	// Blocks come out in snapshot order (netns, proto, port); keep only
	// Unix paths that have a listener or several sockets at the top.
	slices.SortStableFunc(v.Unix, func(a, b *UnixBlock) int {
		if c := cmp.Compare(nsInode(a.NetNS), nsInode(b.NetNS)); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
	return v
}

func nsInode(ns *sockscope.NetNS) uint64 {
	if ns == nil {
		return 0
	}
	return ns.Inode
}

func addrLabel(a interface{ String() string }) string { return a.String() }

func sortedCounts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, n := range m {
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
