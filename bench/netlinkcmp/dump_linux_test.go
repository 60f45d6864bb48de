//go:build linux

package netlinkcmp

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/sockdiag"
)

// sockDiagByFamily is SOCK_DIAG_BY_FAMILY, the netlink message type of a
// sock_diag request (linux/sock_diag.h).
const sockDiagByFamily = 20

// inetDumpRequest is the body of a struct inet_diag_req_v2 that dumps
// every socket of family and protocol in every state, as DumpInet sends it
// without a port filter: family, protocol, ext, pad, states, then a zero
// inet_diag_sockid whose cookie is ~0 (none).
func inetDumpRequest(family, protocol uint8) []byte {
	b := []byte{family, protocol, 0, 0}
	b = binary.NativeEndian.AppendUint32(b, ^uint32(0))
	var id [48]byte
	binary.NativeEndian.PutUint32(id[40:44], ^uint32(0))
	binary.NativeEndian.PutUint32(id[44:48], ^uint32(0))
	return append(b, id[:]...)
}

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
	req := sockdiag.InetRequest{Family: unix.AF_INET, Protocol: sockdiag.ProtoTCP}

	b.Run("sockdiag", func(b *testing.B) {
		c, err := sockdiag.Dial()
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			n = 0
			if err := c.DumpInet(req, func(*sockdiag.InetRecord) error { n++; return nil }); err != nil {
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
			Data:   inetDumpRequest(req.Family, req.Protocol),
		}
		var r sockdiag.InetRecord
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			msgs, err := nc.Execute(msg)
			if err != nil {
				b.Fatal(err)
			}
			n = 0
			for _, m := range msgs {
				if err := sockdiag.ParseInetMsg(m.Data, &r); err != nil {
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
