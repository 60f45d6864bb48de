package sockscope

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/sockscope/sockscope/internal/holders"
	"github.com/sockscope/sockscope/internal/sockdiag"
)

// benchRecords returns n/2 loopback connections as sock_diag would report
// them: both ends of each, in dump order.
func benchRecords(n int) []sockdiag.InetRecord {
	recs := make([]sockdiag.InetRecord, 0, n)
	lo := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	for i := 0; len(recs)+1 < n; i++ {
		src := netip.AddrFrom4([4]byte{127, 1, byte(i >> 16), byte(i >> 8)})
		sport := uint16(32768 + i%20000)
		recs = append(recs,
			sockdiag.InetRecord{Family: 2, State: 1, Src: src, SrcPort: sport, Dst: lo, DstPort: 20000, Inode: uint32(2*i + 1000), Cookie: uint64(2*i + 1)},
			sockdiag.InetRecord{Family: 2, State: 1, Src: lo, SrcPort: 20000, Dst: src, DstPort: sport, Inode: uint32(2*i + 1001), Cookie: uint64(2*i + 2)})
	}
	return recs
}

func buildBench(recs []sockdiag.InetRecord) *builder {
	b := newBuilder(Options{})
	b.ns = &NetNS{Inode: 1, Name: "host"}
	for i := range recs {
		b.addInet(TCP, &recs[i])
	}
	b.finish()
	return b
}

func BenchmarkBuildSockets(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		recs := benchRecords(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buildBench(recs)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/socket")
		})
	}
}

func BenchmarkLinkPeers(b *testing.B) {
	for _, n := range []int{10000, 100000, 1000000} {
		socks := buildBench(benchRecords(n)).sockets
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, s := range socks {
					s.Peer = nil
				}
				linkPeers(socks)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/socket")
		})
	}
}

func BenchmarkSortSockets(b *testing.B) {
	socks := buildBench(benchRecords(100000)).sockets
	snap := &Snapshot{Sockets: make([]*Socket, len(socks))}
	b.ReportAllocs()
	for b.Loop() {
		copy(snap.Sockets, socks)
		sortSockets(snap.Sockets)
	}
}

func BenchmarkAttachHolders(b *testing.B) {
	socks := buildBench(benchRecords(100000)).sockets
	res := &holders.Result{}
	for p := 0; p < 50; p++ {
		res.Procs = append(res.Procs, holders.Proc{PID: 1000 + p, Comm: "holder"})
	}
	for i, s := range socks {
		res.Refs = append(res.Refs, holders.Ref{Inode: s.Inode, Proc: int32(i % 50), FD: int32(i + 3)})
	}
	slices.SortFunc(res.Refs, func(a, b holders.Ref) int { return cmp.Compare(a.Inode, b.Inode) })
	snap := &Snapshot{Sockets: socks}
	b.ReportAllocs()
	for b.Loop() {
		attachHolders(snap, res, nil, 0, b.TempDir(), nil)
	}
}

// BenchmarkSortShuffled sorts sockets that lie in memory in an order
// unrelated to the display order, as a dump leaves them (the kernel walks
// its hash tables): at 1M sockets nearly every comparison of two socket
// pointers misses the cache.
func BenchmarkSortShuffled(b *testing.B) {
	for _, n := range []int{100000, 1000000} {
		recs := benchRecords(n)
		r := rand.New(rand.NewPCG(1, 2))
		r.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
		socks := buildBench(recs).sockets
		work := make([]*Socket, len(socks))
		for _, f := range []struct {
			name string
			sort func([]*Socket)
		}{{"keys", sortSockets}, {"pointers", func(s []*Socket) { slices.SortFunc(s, compareSockets) }}} {
			b.Run(fmt.Sprint(f.name, "/", n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					copy(work, socks)
					f.sort(work)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/socket")
			})
		}
	}
}
