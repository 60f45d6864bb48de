package procnet

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/sockscope/sockscope/internal/sockdiag"
)

// genInet returns a tcp (or tcp6) table of n rows in the kernel's layout.
func genInet(n int, v6 bool) []byte {
	var b bytes.Buffer
	if v6 {
		b.WriteString("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
	} else {
		b.WriteString("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     \n")
	}
	for i := range n {
		if v6 {
			fmt.Fprintf(&b, "%4d: 0000000000000000FFFF00000100007F:%04X 00000000000000000000000001000000:%04X 01 00000000:00000000 00:00000000 00000000  1000        0 %d 1 0000000000000000 20 4 30 10 -1\n",
				i, 1024+i%60000, 80, 100000+i)
		} else {
			fmt.Fprintf(&b, "%4d: 0100007F:%04X 0200007F:%04X 01 00000000:00000000 02:000000A4 00000000  1000        0 %d 1 0000000000000000 20 4 30 10 -1                      \n",
				i, 1024+i%60000, 80, 100000+i)
		}
	}
	return b.Bytes()
}

func BenchmarkParseInet(b *testing.B) {
	for _, v6 := range []bool{false, true} {
		data := genInet(10000, v6)
		family := uint8(afInet)
		if v6 {
			family = afInet6
		}
		b.Run(fmt.Sprintf("v6=%v/10k", v6), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				n := 0
				if err := ParseInet(bytes.NewReader(data), family, protoTCP, func(*sockdiag.InetRecord) error { n++; return nil }); err != nil {
					b.Fatal(err)
				}
				if n != 10000 {
					b.Fatalf("%d records", n)
				}
			}
		})
	}
}

func BenchmarkParseUnix(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(unixHeader)
	for i := range 10000 {
		if i%2 == 0 {
			fmt.Fprintf(&buf, "0000000000000000: 00000003 00000000 00000000 0001 03 %5d\n", 100000+i)
		} else {
			fmt.Fprintf(&buf, "0000000000000000: 00000002 00000000 00010000 0001 01 %5d /run/service %d.sock\n", 100000+i, i)
		}
	}
	data := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := ParseUnix(bytes.NewReader(data), func(*sockdiag.UnixRecord) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
