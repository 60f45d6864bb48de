package sockscope

import (
	"cmp"
	"encoding/binary"
	"net/netip"
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

// sortSockets sorts in display order. Large lists are sorted by keys (see
// sortKey); small ones with slices.SortFunc and compareSockets.
func sortSockets(socks []*Socket) { sortSocketsAlongside(socks, nil) }

// sortSocketsAlongside sorts like sortSockets and runs also, if not nil,
// while it sorts: on another goroutine while the keys are sorted, when
// the list is long enough for keys. also may read the sockets and the
// list and write the sockets' Peer, which the sort does not touch; it
// must not change the list.
func sortSocketsAlongside(socks []*Socket, also func()) {
	if len(socks) < keySortMin {
		if also != nil {
			also()
		}
		slices.SortFunc(socks, compareSockets)
		return
	}
	sortByKeys(socks, also)
}

// keySortMin is the list length from which sortByKeys pays for its keys.
const keySortMin = 512

// sortKey holds the leading fields of a socket's display order packed into
// two integers, so that sorting compares mostly adjacent memory. Sorting
// the pointers with compareSockets loads both sockets of every comparison
// from wherever the dump put them: at 1M sockets (216 MB of Socket values)
// nearly every load missed the cache and the TLB, and the sort took a
// quarter of `ls -tan`, growing faster than n log n from 100k to 1M.
//
// Keys are monotone: k1, k2 of a before those of b implies compareSockets
// (a, b) < 0. Equal keys leave the order to compareSockets. A field that
// cannot be packed exactly (a long IPv6 address, a namespace rank past the
// bits kept) is cut or clamped and ends the key: every later bit is 0, so
// sockets that differ only after it tie and are compared in full.
type sortKey struct {
	k1, k2 uint64
	s      *Socket
}

// Bits of k1: namespace rank (10), protocol (3), local port (16), local
// address class (2: none, IPv4, IPv6) and its first 32 bits.
const (
	nsRankBits = 10
	maxNSRank  = 1<<nsRankBits - 1
	maxKeyProt = 7
)

// sortByKeys sorts socks with a sortKey each, then writes the pointers
// back in order; also, if not nil, runs on another goroutine meanwhile.
func sortByKeys(socks []*Socket, also func()) {
	ranks := nsRanks(socks)
	keys := make([]sortKey, len(socks))
	var lastNS *NetNS
	var lastRank uint64
	if len(socks) > 0 {
		lastNS, lastRank = socks[0].NetNS, ranks[nsInodeOf(socks[0])]
	}
	for i, s := range socks {
		if s.NetNS != lastNS {
			lastNS, lastRank = s.NetNS, ranks[nsInodeOf(s)]
		}
		keys[i] = makeSortKey(s, lastRank)
	}
	var done chan struct{}
	if also != nil {
		done = make(chan struct{})
		go func() {
			defer close(done)
			also()
		}()
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if a.k1 != b.k1 {
			return cmp.Compare(a.k1, b.k1)
		}
		if a.k2 != b.k2 {
			return cmp.Compare(a.k2, b.k2)
		}
		return compareSockets(a.s, b.s)
	})
	if done != nil {
		<-done
	}
	for i := range keys {
		socks[i] = keys[i].s
	}
}

// nsRanks numbers the namespaces' inodes in ascending order from 0.
func nsRanks(socks []*Socket) map[uint64]uint64 {
	var inodes []uint64
	seen := map[uint64]bool{}
	var last *NetNS
	for i, s := range socks {
		if i > 0 && s.NetNS == last {
			continue
		}
		last = s.NetNS
		if ino := nsInodeOf(s); !seen[ino] {
			seen[ino] = true
			inodes = append(inodes, ino)
		}
	}
	slices.Sort(inodes)
	ranks := make(map[uint64]uint64, len(inodes))
	for i, ino := range inodes {
		ranks[ino] = uint64(i)
	}
	return ranks
}

// makeSortKey packs s's leading sort fields (see sortKey).
func makeSortKey(s *Socket, rank uint64) sortKey {
	k := sortKey{s: s}
	if rank >= maxNSRank {
		k.k1 = maxNSRank << (64 - nsRankBits)
		return k
	}
	k.k1 = rank << (64 - nsRankBits)
	if s.Proto >= maxKeyProt {
		k.k1 |= maxKeyProt << (61 - nsRankBits)
		return k
	}
	k.k1 |= uint64(s.Proto) << (61 - nsRankBits)
	if s.Proto == Unix {
		return k // path, then inode: compared in full
	}
	k.k1 |= uint64(s.Local.Port()) << 35
	class, hi, exact := addrKey(s.Local.Addr())
	k.k1 |= class<<32 | hi
	if !exact {
		if class == 2 {
			// The next 64 bits of an IPv6 address.
			a := s.Local.Addr().As16()
			k.k2 = binary.BigEndian.Uint64(a[4:12])
		}
		return k
	}
	// k2: state rank (5: LISTEN first, then by number), remote address
	// class (2) and first 32 bits, remote port (16).
	if s.State >= 30 {
		k.k2 = 31 << 59
		return k
	}
	st := uint64(s.State) + 1
	if s.State == Listen {
		st = 0
	}
	k.k2 = st << 59
	class, hi, exact = addrKey(s.Remote.Addr())
	k.k2 |= class<<57 | hi<<25
	if exact {
		k.k2 |= uint64(s.Remote.Port()) << 9
	}
	return k
}

// addrKey is an address's class (0 invalid, 1 IPv4, 2 IPv6: the order
// of netip.Addr.Compare, which orders by BitLen first), its first 32 bits,
// and whether those are the whole address (IPv4, and the invalid
// address, have no zone).
func addrKey(a netip.Addr) (class, hi uint64, exact bool) {
	switch {
	case a.Is4():
		b := a.As4()
		return 1, uint64(binary.BigEndian.Uint32(b[:])), true
	case a.Is6():
		b := a.As16()
		return 2, uint64(binary.BigEndian.Uint32(b[:4])), false
	}
	return 0, 0, true
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
