package demux

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/sockscope/sockscope"
)

// benchSnap holds n established sockets on port 443 behind one listener,
// and n sockets on other ports.
func benchSnap(n int) *fx {
	f := newFx()
	f.add(sockscope.TCP, "0.0.0.0:443", sockscope.Listen, so{})
	for i := range n {
		f.add(sockscope.TCP, "10.0.0.5:443", sockscope.Established, so{remote: fmt.Sprintf("10.1.%d.%d:40000", i/250, i%250)})
		f.add(sockscope.TCP, fmt.Sprintf("10.0.0.5:%d", 1025+i), sockscope.Listen, so{})
	}
	return f
}

func BenchmarkCheckBind(b *testing.B) {
	f := benchSnap(5000)
	req := BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("127.0.0.1:443"), ReuseAddr: true}
	b.ReportAllocs()
	for b.Loop() {
		CheckBind(f.snap, req, envRoot(), nil)
	}
}

func BenchmarkLookup(b *testing.B) {
	f := benchSnap(5000)
	seg := seg(sockscope.TCP, "203.0.113.9:5000", "10.0.0.5:443", 2)
	b.ReportAllocs()
	for b.Loop() {
		Lookup(f.snap, seg, nil)
	}
}
