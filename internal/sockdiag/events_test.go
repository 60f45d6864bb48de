package sockdiag

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// The testdata/destroy_tcp4.bin datagram is a destroy event captured from
// Linux 6.18 by TestDestroyEventsLive -capture: a loopback TCP listener
// being closed.

func TestParseEventsFixture(t *testing.T) {
	b := readFixture(t, "destroy_tcp4.bin")
	var got []InetRecord
	if err := parseEvents(b, new(InetRecord), func(r *InetRecord) error {
		got = append(got, *r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d events, want 1", len(got))
	}
	r := got[0]
	if r.Family != afInet || r.Protocol != ProtoTCP || r.SockProtocol != ProtoTCP {
		t.Errorf("family %d protocol %d sk_protocol %d, want %d/%d/%d", r.Family, r.Protocol, r.SockProtocol, afInet, ProtoTCP, ProtoTCP)
	}
	if r.State != 7 || r.Inode != 0 || r.Cookie == 0 {
		t.Errorf("state %d inode %d cookie %d: want state 7 (close), inode 0, a cookie", r.State, r.Inode, r.Cookie)
	}
	if !r.Src.IsLoopback() || r.SrcPort == 0 {
		t.Errorf("source %v:%d, want a loopback listener", r.Src, r.SrcPort)
	}
}

func TestParseEventsMalformed(t *testing.T) {
	good := readFixture(t, "destroy_tcp4.bin")
	n := int(binary.NativeEndian.Uint32(good[0:4]))
	withSeq := bytes.Clone(good)
	binary.NativeEndian.PutUint32(withSeq[8:12], 42)
	shortMsg := bytes.Clone(good[:nlmsgHdrLen+20])
	binary.NativeEndian.PutUint32(shortMsg[0:4], uint32(len(shortMsg)))
	errMsg := append(append([]byte{}, u32(20)...), u16(nlmsgError)...)
	errMsg = append(errMsg, make([]byte, 10)...)
	errMsg = append(errMsg, u32(uint32(0x100000000-1))...) // -EPERM
	tests := []struct {
		name  string
		b     []byte
		count int
	}{
		{"empty", nil, 0},
		{"header cut", good[:10], 0},
		{"length past end", good[:n-1], 0},
		{"unicast seq", withSeq, 0},
		{"short inet_diag_msg", shortMsg, 0},
		{"nlmsg error", errMsg, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			count := 0
			err := parseEvents(tt.b, new(InetRecord), func(*InetRecord) error { count++; return nil })
			if count != tt.count {
				t.Errorf("%d events, want %d", count, tt.count)
			}
			if len(tt.b) > 0 && !errors.Is(err, errMalformed) {
				t.Errorf("error %v, want one wrapping errMalformed", err)
			}
			if len(tt.b) == 0 && err != nil {
				t.Errorf("empty datagram: %v", err)
			}
		})
	}
	t.Run("callback error", func(t *testing.T) {
		stop := errors.New("stop")
		twice := append(bytes.Clone(good), good...)
		count := 0
		err := parseEvents(twice, new(InetRecord), func(*InetRecord) error { count++; return stop })
		if !errors.Is(err, stop) || count != 1 {
			t.Errorf("err %v after %d calls, want stop after 1", err, count)
		}
	})
}

func FuzzParseEvents(f *testing.F) {
	seedFixtures(f, func(b []byte) { f.Add(b) })
	f.Add(readFixture(f, "destroy_tcp4.bin"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r InetRecord
		err := parseEvents(b, &r, func(r *InetRecord) error {
			if r.Family != afInet && r.Family != afInet6 {
				t.Fatalf("event with family %d", r.Family)
			}
			return nil
		})
		if err != nil && !errors.Is(err, errMalformed) && !errors.Is(err, errDumpInterrupted) {
			t.Fatalf("unexpected error kind %v", err)
		}
	})
}

func BenchmarkParseEvents(b *testing.B) {
	buf := readFixture(b, "destroy_tcp4.bin")
	var r InetRecord
	b.ReportAllocs()
	for b.Loop() {
		if err := parseEvents(buf, &r, func(*InetRecord) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
