//go:build linux

package sockdiag

import (
	"net"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// benchSockets is how many loopback TCP connections BenchmarkDumpTCP
// creates: each gives a client and an accepted socket.
const benchSockets = 1000

// BenchmarkDumpTCP dumps ~2,000 loopback TCP sockets with DumpInet and,
// for comparison, with github.com/mdlayher/netlink (Conn.Execute, then
// ParseInetMsg on each message).
func BenchmarkDumpTCP(b *testing.B) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	for range benchSockets {
		cl, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		srv, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Close()
	}
	req := InetRequest{Family: unix.AF_INET, Protocol: ProtoTCP}

	b.Run("sockdiag", func(b *testing.B) {
		c, err := Dial()
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			n = 0
			if err := c.DumpInet(req, func(*InetRecord) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
		if n < 2*benchSockets {
			b.Fatalf("%d sockets, want >= %d", n, 2*benchSockets)
		}
		b.ReportMetric(float64(n), "sockets/op")
	})

	b.Run("mdlayher-netlink", func(b *testing.B) {
		nc, err := netlink.Dial(unix.NETLINK_SOCK_DIAG, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		msg := netlink.Message{
			Header: netlink.Header{Type: sockDiagByFamily, Flags: netlink.Request | netlink.Dump},
			Data:   appendInetRequest(nil, req, 0)[nlmsgHdrLen:],
		}
		var r InetRecord
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			msgs, err := nc.Execute(msg)
			if err != nil {
				b.Fatal(err)
			}
			n = 0
			for _, m := range msgs {
				if err := ParseInetMsg(m.Data, &r); err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
		if n < 2*benchSockets {
			b.Fatalf("%d sockets, want >= %d", n, 2*benchSockets)
		}
		b.ReportMetric(float64(n), "sockets/op")
	})
}
