package procnet

import (
	"bytes"
	"os"
	"testing"

	"github.com/sockscope/sockscope/internal/sockdiag"
)

func FuzzParseInet(f *testing.F) {
	for _, name := range []string{"tcp.txt", "tcp6.txt", "udp.txt", "udp6.txt", "raw.txt", "raw6.txt", "udplite.txt"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, bytes.Contains(b, []byte("remote_address")), uint8(protoTCP))
	}
	f.Add([]byte("  sl  local_address\n 0: 0100007F:0050 00000000:0000 0A 0:0 00:FFFFFFFFFFFFFFFF 0 0 0 0\n"), false, uint8(protoUDP))
	f.Add([]byte("  sl  local_address\n\n"), true, uint8(protoRaw))
	f.Fuzz(func(t *testing.T, data []byte, v6 bool, proto uint8) {
		family := uint8(afInet)
		if v6 {
			family = afInet6
		}
		n := 0
		err := ParseInet(bytes.NewReader(data), family, proto, func(r *sockdiag.InetRecord) error {
			n++
			if r.Family != family || r.Protocol != proto || r.V6Only != -1 || r.Cookie != 0 {
				t.Fatalf("record does not carry the caller's family/protocol or /proc defaults: %+v", r)
			}
			if !r.Src.IsValid() || !r.Dst.IsValid() || r.Src.Is4() != !v6 || r.Dst.Is4() != !v6 {
				t.Fatalf("address family mismatch: %v %v for family %d", r.Src, r.Dst, family)
			}
			return nil
		})
		if err == nil && n != bytes.Count(data, []byte("\n"))+boolInt(len(data) > 0 && data[len(data)-1] != '\n')-1 {
			t.Fatalf("%d records from %d lines without error", n, bytes.Count(data, []byte("\n")))
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func FuzzParseUnix(f *testing.F) {
	b, err := os.ReadFile("testdata/unix.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(unixHeader + "0000000000000000: 00000002 00000000 00000000 0001 01  4242 \nx\n\n"))
	f.Add([]byte(unixHeader + "0: 0 0 10000 5 4 0 @a@b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = ParseUnix(bytes.NewReader(data), func(r *sockdiag.UnixRecord) error {
			if len(r.Name) > maxName {
				t.Fatalf("name of %d bytes, longer than sun_path", len(r.Name))
			}
			switch r.State {
			case tcpEstablished, tcpSynSent, tcpClose, tcpListen:
			default:
				t.Fatalf("state %d outside the unix_diag numbering", r.State)
			}
			return nil
		})
	})
}
