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
