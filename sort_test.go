package sockscope

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// keySockets builds sockets whose keys collide often and also differ in
// every packed field: namespaces, protocols past the packed range, states
// past 30, IPv4, IPv6 (with zones and common prefixes), v4-mapped and
// invalid addresses.
func keySockets(r *rand.Rand, n int, nss []*NetNS) []*Socket {
	addrs := []netip.Addr{
		netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("0.0.0.0"),
		netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("::ffff:127.0.0.1"), netip.MustParseAddr("::1"),
		netip.MustParseAddr("::"), netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("fe80::1%eth1"),
		netip.MustParseAddr("fe80::2"), netip.MustParseAddr("fe80:0:0:1::1"), netip.MustParseAddr("2001:db8::1:0:0:1"),
		netip.MustParseAddr("2001:db8::1:0:0:2"), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), {},
	}
	states := []State{Established, Listen, TimeWait, SynSent, Close, BoundInactive, 29, 30, 31, 255}
	protos := []Proto{TCP, TCP, UDP, UDPLite, Unix, Raw, ProtoUnknown, 6, 7, 8, 255}
	ports := []uint16{0, 1, 22, 80, 65535}
	ap := func() netip.AddrPort {
		return netip.AddrPortFrom(addrs[r.IntN(len(addrs))], ports[r.IntN(len(ports))])
	}
	socks := make([]*Socket, n)
	for i := range socks {
		s := &Socket{
			Proto: protos[r.IntN(len(protos))], State: states[r.IntN(len(states))],
			Local: ap(), Remote: ap(), NetNS: nss[r.IntN(len(nss))],
			Inode: uint64(r.IntN(n)), Cookie: uint64(r.IntN(3 * n)),
		}
		if s.Proto == Unix {
			s.Path = []string{"", "/a", "/b", "@c"}[r.IntN(4)]
		}
		socks[i] = s
	}
	return socks
}

// TestSortKeysMonotone checks the property sortByKeys relies on: when two
// keys differ, their order is compareSockets' order.
func TestSortKeysMonotone(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	nss := []*NetNS{nil, {Inode: 5}, {Inode: 3}, {Inode: 1 << 40}}
	socks := keySockets(r, 400, nss)
	ranks := nsRanks(socks)
	keys := make([]sortKey, len(socks))
	for i, s := range socks {
		keys[i] = makeSortKey(s, ranks[nsInodeOf(s)])
	}
	differ := 0
	for i, a := range keys {
		for _, b := range keys[:i] {
			kc := 0
			switch {
			case a.k1 != b.k1:
				kc = cmpU64(a.k1, b.k1)
			case a.k2 != b.k2:
				kc = cmpU64(a.k2, b.k2)
			default:
				continue
			}
			differ++
			if c := compareSockets(a.s, b.s); c == 0 || (c < 0) != (kc < 0) {
				t.Fatalf("keys %x,%x and %x,%x order %+v and %+v as %d; compareSockets says %d", a.k1, a.k2, b.k1, b.k2, *a.s, *b.s, kc, c)
			}
		}
	}
	if differ == 0 {
		t.Fatal("no two keys differed: the test checks nothing")
	}
}

func cmpU64(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}

// TestSortByKeysMatchesCompare sorts random sockets both ways, including
// namespace ranks past the packed range, and expects the same order.
func TestSortByKeysMatchesCompare(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	many := []*NetNS{nil}
	for i := range maxNSRank + 20 {
		many = append(many, &NetNS{Inode: uint64(1000 + 7*i)})
	}
	for _, tc := range []struct {
		name string
		nss  []*NetNS
		n    int
	}{
		{"few namespaces", []*NetNS{nil, {Inode: 2}, {Inode: 1}}, 5000},
		{"more namespaces than ranks", many, 20000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			socks := keySockets(r, tc.n, tc.nss)
			want := slices.Clone(socks)
			slices.SortFunc(want, compareSockets)
			got := slices.Clone(socks)
			sortSockets(got)
			for i := range want {
				if compareSockets(got[i], want[i]) != 0 {
					t.Fatalf("position %d: got %+v, want %+v", i, *got[i], *want[i])
				}
			}
		})
	}
}
