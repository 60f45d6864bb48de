package sockscope_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/sockscope/sockscope"
)

// Collect one snapshot and find the listener this example opens. Many
// sockets may share its port; the listener is the one in LISTEN state.
func ExampleCollect() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)

	snap, err := sockscope.Collect(context.Background(), sockscope.Options{
		Protos: []sockscope.Proto{sockscope.TCP},
		States: sockscope.StateSet(0).With(sockscope.Listen),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range snap.Sockets {
		if s.Local.Port() == port {
			fmt.Println(s.Proto, s.State, s.Port().Proto, s.LocalEndpoint().Addr())
		}
	}
	// Output: tcp LISTEN tcp 127.0.0.1
}

// A connection is a 5-tuple; reversing it gives the other end's view.
func ExampleConnection_Reverse() {
	c := sockscope.Connection{
		Proto:  sockscope.TCP,
		Local:  netip.MustParseAddrPort("127.0.0.1:40000"),
		Remote: netip.MustParseAddrPort("127.0.0.1:443"),
	}
	fmt.Println(c)
	fmt.Println(c.Reverse())
	// Output:
	// tcp 127.0.0.1:40000 -> 127.0.0.1:443
	// tcp 127.0.0.1:443 -> 127.0.0.1:40000
}

// FormatAddrPort prints an address as ss does; a socket's own endpoints
// also need its IPV6_V6ONLY flag, which tells "[::]" (IPv6 only) from "*"
// (dual-stack).
func ExampleFormatAddrPort() {
	fmt.Println(sockscope.FormatAddrPort(netip.MustParseAddrPort("0.0.0.0:80")))
	fmt.Println(sockscope.FormatAddrPort(netip.MustParseAddrPort("[::1]:8080")))
	fmt.Println(sockscope.FormatSocketAddrPort(netip.MustParseAddrPort("[::]:80"), sockscope.Yes))
	fmt.Println(sockscope.FormatSocketAddrPort(netip.MustParseAddrPort("[::]:80"), sockscope.No))
	fmt.Println(sockscope.FormatSocketAddrPort(netip.MustParseAddrPort("[::]:0"), sockscope.No))
	// Output:
	// 0.0.0.0:80
	// [::1]:8080
	// [::]:80
	// *:80
	// *:*
}
