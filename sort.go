package sockscope

import (
	"cmp"
	"slices"
	"strings"
)

// Display order, defined once, by compareSockets: (netns inode, proto,
// then for Unix sockets path and inode; for others local port, local
// address, state with LISTEN first, remote, inode, cookie).

// Less orders sockets for display: it reports whether a sorts before b.
func Less(a, b *Socket) bool { return compareSockets(a, b) < 0 }

// Sort sorts the snapshot's sockets in display order, the order Collect
// returns them in.
func (s *Snapshot) Sort() { sortSockets(s.Sockets) }

// sortSockets sorts in display order, with slices.SortFunc and a three-way
// comparison: half the time of sort.Slice at 100k sockets.
func sortSockets(socks []*Socket) {
	slices.SortFunc(socks, compareSockets)
}

// compareSockets is the display order as a three-way comparison: negative
// when a sorts before b, positive when after, 0 for equal keys.
func compareSockets(a, b *Socket) int {
	if an, bn := nsInodeOf(a), nsInodeOf(b); an != bn {
		return cmp.Compare(an, bn)
	}
	if a.Proto != b.Proto {
		return cmp.Compare(a.Proto, b.Proto)
	}
	if a.Proto == Unix {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return cmp.Compare(a.Inode, b.Inode)
	}
	if c := cmp.Compare(a.Local.Port(), b.Local.Port()); c != 0 {
		return c
	}
	if c := a.Local.Addr().Compare(b.Local.Addr()); c != 0 {
		return c
	}
	if a.State != b.State {
		// LISTEN first, then by number.
		switch {
		case a.State == Listen:
			return -1
		case b.State == Listen:
			return 1
		}
		return cmp.Compare(a.State, b.State)
	}
	if c := a.Remote.Compare(b.Remote); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Inode, b.Inode); c != 0 {
		return c
	}
	return cmp.Compare(a.Cookie, b.Cookie)
}
