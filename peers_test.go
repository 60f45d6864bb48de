package sockscope

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLinkPeersLargeMatchesTupleMap is TestLinkPeersMatchesTupleMap with
// lists long enough for the radix sort (and its runs of equal hashes).
func TestLinkPeersLargeMatchesTupleMap(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{300, 3000, 20000} {
		socks := randomSockets(r, n)
		want := make([]*Socket, len(socks))
		for i, s := range socks {
			c := *s
			want[i] = &c
		}
		linkPeersMap(want)
		linkPeers(socks)
		w, g := peerIndexes(want), peerIndexes(socks)
		if !slices.Equal(w, g) {
			t.Fatalf("%d sockets: peers differ", n)
		}
		if !slices.ContainsFunc(g, func(p int) bool { return p >= 0 }) {
			t.Fatalf("%d sockets: none linked: the data exercise nothing", n)
		}
	}
}

func TestRadixSortHigh32(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{0, 1, 255, 256, 1000, 50000} {
		es := make([]uint64, n)
		for i := range es {
			// Few distinct high halves, so that stability matters.
			es[i] = uint64(r.IntN(1+n/8))<<40 | uint64(r.Uint32())<<32&0xff00000000 | uint64(i)
		}
		want := slices.Clone(es)
		slices.SortStableFunc(want, func(a, b uint64) int { return cmp.Compare(a>>32, b>>32) })
		radixSortHigh32(es)
		if !slices.Equal(es, want) {
			t.Fatalf("n=%d: radix order differs from a stable sort", n)
		}
	}
}

// TestPairWhileSorting pairs peers during the key sort, as Collect does,
// and expects the order and the peers of doing one after the other (run
// with -race, it also checks that the two do not touch the same memory).
func TestPairWhileSorting(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	socks := randomSockets(r, 4*keySortMin)
	want := make([]*Socket, len(socks))
	at := make(map[*Socket]int, len(socks))
	for i, s := range socks {
		c := *s
		want[i] = &c
		at[s] = i
	}
	linkPeers(want)
	wantPeers := peerIndexes(want)
	got := slices.Clone(socks)
	sortSocketsAlongside(got, func() { linkPeers(got) })
	if !slices.IsSortedFunc(got, compareSockets) {
		t.Fatal("not sorted")
	}
	for _, s := range got {
		i := at[s]
		switch {
		case wantPeers[i] < 0 && s.Peer != nil:
			t.Fatalf("socket %d: peer %p, want none", i, s.Peer)
		case wantPeers[i] >= 0 && s.Peer != socks[wantPeers[i]]:
			t.Fatalf("socket %d: peer %p, want socket %d", i, s.Peer, wantPeers[i])
		}
	}
}
