package sockscope

import (
	"encoding/binary"
	"net/netip"
)

type connKey struct {
	ns            uint64
	proto         Proto
	local, remote netip.AddrPort
}

func nsInodeOf(s *Socket) uint64 {
	if s.NetNS != nil {
		return s.NetNS.Inode
	}
	return 0
}

// linkPeers pairs both ends of local connections: inet sockets whose
// reversed 5-tuple is also a socket in the same namespace, and connected
// Unix sockets by peer inode.
func linkPeers(socks []*Socket) {
	var conns peerIndex
	var byInode map[uint64]*Socket
	for _, s := range socks {
		switch {
		case s.Proto == Unix && s.Inode != 0:
			if byInode == nil {
				byInode = make(map[uint64]*Socket)
			}
			byInode[s.Inode] = s
		case s.Proto.HasPorts() && s.Remote.Port() != 0 && s.State != Listen && s.State != TimeWait:
			conns.add(connKey{nsInodeOf(s), s.Proto, s.Local, s.Remote}, s, len(socks))
		}
	}
	for _, s := range socks {
		if s.Peer != nil {
			continue
		}
		if s.Proto == Unix {
			if s.PeerInode != 0 {
				if p := byInode[s.PeerInode]; p != nil && p != s {
					s.Peer = p
				}
			}
			continue
		}
		if conns.byHash == nil || s.Remote.Port() == 0 {
			continue
		}
		if p := conns.get(connKey{nsInodeOf(s), s.Proto, s.Remote, s.Local}); p != nil && p != s && p.State != TimeWait && s.State != TimeWait {
			s.Peer = p
			p.Peer = s
		}
	}
}

// peerIndex maps a connection (netns, proto, local, remote) to the last
// socket added with it. It is keyed by a 64-bit hash of the tuple, which is
// checked on lookup, because a map keyed by the 80-byte tuple itself cost
// four times as much at 100k sockets; the rare tuple whose hash collides
// with a different tuple goes to an exact map.
type peerIndex struct {
	byHash map[uint64]*Socket
	exact  map[connKey]*Socket
}

func (x *peerIndex) add(k connKey, s *Socket, sizeHint int) {
	if x.byHash == nil {
		x.byHash = make(map[uint64]*Socket, sizeHint)
	}
	h := k.hash()
	if old, ok := x.byHash[h]; ok && connKeyOf(old) != k {
		if x.exact == nil {
			x.exact = make(map[connKey]*Socket)
		}
		x.exact[k] = s
		return
	}
	x.byHash[h] = s
}

func (x *peerIndex) get(k connKey) *Socket {
	if p := x.byHash[k.hash()]; p != nil && connKeyOf(p) == k {
		return p
	}
	return x.exact[k]
}

func connKeyOf(s *Socket) connKey {
	return connKey{nsInodeOf(s), s.Proto, s.Local, s.Remote}
}

// hash mixes every field of the key except address zones (which the exact
// comparison on lookup still checks).
func (k connKey) hash() uint64 {
	const m = 0x9e3779b97f4a7c15
	l, r := k.local.Addr().As16(), k.remote.Addr().As16()
	h := (k.ns ^ uint64(k.proto)<<56) * m
	h = (h ^ binary.BigEndian.Uint64(l[:8])) * m
	h = (h ^ binary.BigEndian.Uint64(l[8:]) ^ uint64(k.local.Port())<<32) * m
	h = (h ^ binary.BigEndian.Uint64(r[:8])) * m
	h = (h ^ binary.BigEndian.Uint64(r[8:]) ^ uint64(k.remote.Port())<<32 ^ uint64(k.local.Addr().BitLen())<<48) * m
	return mix64(h)
}
