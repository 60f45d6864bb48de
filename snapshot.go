package sockscope

import (
	"sort"
	"time"
)

// Snapshot is the result of one collection. Sockets are sorted by
// (netns, proto, local port, local address, state, remote, inode) so that
// output is stable.
type Snapshot struct {
	Taken   time.Time
	Sockets []*Socket
	NetNS   []*NetNS
	// Source is "netlink" or "proc".
	Source string
	// Warnings lists what could not be seen (permission, vanished
	// processes, namespaces that could not be entered). They are normal.
	Warnings []Warning
	// HiddenHolders counts sockets whose holders could not be determined
	// because some processes could not be inspected.
	HiddenHolders int
}

// Warning is one partial-result notice.
type Warning struct {
	// Kind is a short machine-readable tag: "permission", "vanished",
	// "netns", "timeout", "source".
	Kind string
	// Count is how many things it covers.
	Count int
	// Msg is one line for people.
	Msg string
}

// String returns the warning's one-line text.
func (w Warning) String() string { return w.Msg }

// Less orders sockets for display.
func Less(a, b *Socket) bool {
	var an, bn uint64
	if a.NetNS != nil {
		an = a.NetNS.Inode
	}
	if b.NetNS != nil {
		bn = b.NetNS.Inode
	}
	if an != bn {
		return an < bn
	}
	if a.Proto != b.Proto {
		return a.Proto < b.Proto
	}
	if a.Proto == Unix {
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Inode < b.Inode
	}
	if a.Local.Port() != b.Local.Port() {
		return a.Local.Port() < b.Local.Port()
	}
	if c := a.Local.Addr().Compare(b.Local.Addr()); c != 0 {
		return c < 0
	}
	if a.State != b.State {
		// LISTEN first, then by number.
		if a.State == Listen || b.State == Listen {
			return a.State == Listen
		}
		return a.State < b.State
	}
	if c := a.Remote.Compare(b.Remote); c != 0 {
		return c < 0
	}
	if a.Inode != b.Inode {
		return a.Inode < b.Inode
	}
	return a.Cookie < b.Cookie
}

// Sort sorts the snapshot's sockets in display order.
func (s *Snapshot) Sort() {
	sort.Slice(s.Sockets, func(i, j int) bool { return Less(s.Sockets[i], s.Sockets[j]) })
}

// Diff compares two snapshots by socket key. Added are in b but not a,
// Removed in a but not b, Changed in both with a different state or queues.
func Diff(a, b *Snapshot) (added, removed, changed []*Socket) {
	old := make(map[Key]*Socket, len(a.Sockets))
	for _, s := range a.Sockets {
		old[s.Key()] = s
	}
	for _, s := range b.Sockets {
		k := s.Key()
		o, ok := old[k]
		if !ok {
			added = append(added, s)
			continue
		}
		delete(old, k)
		if o.State != s.State || o.Remote != s.Remote || o.RecvQ != s.RecvQ || o.SendQ != s.SendQ {
			changed = append(changed, s)
		}
	}
	for _, s := range a.Sockets {
		if _, ok := old[s.Key()]; ok {
			removed = append(removed, s)
		}
	}
	return added, removed, changed
}
