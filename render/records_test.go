package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sockscope/sockscope"
)

// tableRecords is the reference: SocketRow's cells through a pipe Table.
func tableRecords(socks []*sockscope.Socket, st Style) string {
	var b bytes.Buffer
	t := NewTable(&b, false, false, SocketHeader(st)...)
	for _, s := range socks {
		t.Row(SocketRow(s, st)...)
	}
	_ = t.Flush()
	return b.String()
}

func recordSockets() []*sockscope.Socket {
	host := &sockscope.NetNS{Inode: 1, Name: "host", Interfaces: map[uint32]string{2: "eth0", 3: "d\x1b[31m\"x"}}
	ctr := &sockscope.NetNS{Inode: 2, Name: "netns:2", Container: "web\x1b[31m"}
	nginx := &sockscope.Process{PID: 10, Comm: "nginx"}
	evil := &sockscope.Process{PID: 11, Comm: "ev\til\\\u202e"}
	peer := &sockscope.Socket{Proto: sockscope.Unix, Type: sockscope.SockStream, Path: "/run/peer\n.sock"}
	return []*sockscope.Socket{
		{Proto: sockscope.TCP, Family: sockscope.FamilyInet, State: sockscope.Listen, Local: netip.MustParseAddrPort("0.0.0.0:80"), NetNS: host,
			Holders: []sockscope.Holder{{Proc: nginx, FD: 6}, {Proc: evil, FD: 7}}, Inode: 5, Cookie: 9, UID: 33},
		{Proto: sockscope.TCP, Family: sockscope.FamilyInet, State: sockscope.Established, RecvQ: 3, SendQ: 1 << 31,
			Local: netip.MustParseAddrPort("127.0.0.1:443"), Remote: netip.MustParseAddrPort("127.1.2.3:50000"), NetNS: ctr, HoldersHidden: true, Inode: 6},
		{Proto: sockscope.TCP, Family: sockscope.FamilyInet6, State: sockscope.TimeWait,
			Local: netip.MustParseAddrPort("[::1]:22"), Remote: netip.MustParseAddrPort("[fe80::1%eth0]:1")},
		{Proto: sockscope.TCP, Family: sockscope.FamilyInet6, State: sockscope.Listen, Local: netip.MustParseAddrPort("[::]:0")},
		{Proto: sockscope.TCP, State: sockscope.SynRecv, Local: netip.MustParseAddrPort("[::ffff:127.0.0.1]:8080"), Remote: netip.MustParseAddrPort("10.0.0.1:8080")},
		{Proto: sockscope.UDP, Family: sockscope.FamilyInet, State: sockscope.Close},
		{Proto: sockscope.Raw, Family: sockscope.FamilyInet, State: sockscope.State(99), Inode: 1},
		{Proto: sockscope.Unix, Type: sockscope.SockStream, State: sockscope.Established, Path: "@abs\x00tract", Peer: peer, Inode: 7},
		{Proto: sockscope.Unix, Type: sockscope.SockDgram, State: sockscope.Close},
		{Proto: sockscope.Unix, Type: sockscope.SockSeqpacket, State: sockscope.Listen, Path: "/tmp/s", Holders: []sockscope.Holder{{FD: 3}}},
		// Every wildcard kind: IPv4, IPv6 only, dual-stack, unknown.
		{Proto: sockscope.UDP, Family: sockscope.FamilyInet, State: sockscope.Close, Local: netip.MustParseAddrPort("0.0.0.0:53"), Remote: netip.MustParseAddrPort("0.0.0.0:0"), HoldersScanned: true},
		{Proto: sockscope.TCP, Family: sockscope.FamilyInet6, State: sockscope.Listen, Local: netip.MustParseAddrPort("[::]:80"), Remote: netip.MustParseAddrPort("[::]:0"), V6Only: sockscope.Yes},
		{Proto: sockscope.TCP, Family: sockscope.FamilyInet6, State: sockscope.Listen, Local: netip.MustParseAddrPort("[::]:443"), Remote: netip.MustParseAddrPort("[::]:0"), V6Only: sockscope.No},
		{Proto: sockscope.UDP, Family: sockscope.FamilyInet6, State: sockscope.Close, Local: netip.MustParseAddrPort("[::ffff:127.0.0.1]:53"), Remote: netip.MustParseAddrPort("[::]:0"), V6Only: sockscope.No},
		{Proto: sockscope.UDP, Family: sockscope.FamilyInet6, State: sockscope.Established, Local: netip.MustParseAddrPort("[::ffff:127.0.0.1]:5353"), Remote: netip.MustParseAddrPort("[::7f00:2]:53")},
		// Bound to a device: a known name, a hostile one, an unknown index.
		{Proto: sockscope.UDP, Family: sockscope.FamilyInet, State: sockscope.Close, Local: netip.MustParseAddrPort("0.0.0.0:68"), Remote: netip.MustParseAddrPort("0.0.0.0:0"), Interface: 2, NetNS: host},
		{Proto: sockscope.TCP, Family: sockscope.FamilyInet6, State: sockscope.Listen, Local: netip.MustParseAddrPort("[::]:80"), Remote: netip.MustParseAddrPort("[::]:0"), V6Only: sockscope.No, Interface: 3, NetNS: host},
		{Proto: sockscope.TCP, Family: sockscope.FamilyInet, State: sockscope.Listen, Local: netip.MustParseAddrPort("127.0.0.1:80"), Remote: netip.MustParseAddrPort("0.0.0.0:0"), Interface: 9},
	}
}

func TestSocketRecordsMatchTable(t *testing.T) {
	services := func(port uint16, proto string) string {
		switch {
		case port == 80 && proto == "tcp":
			return "http"
		case port == 443:
			return "https"
		}
		return ""
	}
	socks := recordSockets()
	for _, numeric := range []bool{false, true} {
		for _, ext := range []bool{false, true} {
			for _, procs := range []bool{false, true} {
				for _, ns := range []bool{false, true} {
					for _, svc := range []bool{false, true} {
						st := Style{Numeric: numeric, Extended: ext, Processes: procs, NetNS: ns}
						if svc {
							st.Services = services
						}
						t.Run(fmt.Sprintf("n=%v,e=%v,p=%v,ns=%v,svc=%v", numeric, ext, procs, ns, svc), func(t *testing.T) {
							var got bytes.Buffer
							if err := writeSocketRecords(&got, socks, st); err != nil {
								t.Fatal(err)
							}
							if diff := cmp.Diff(tableRecords(socks, st), got.String()); diff != "" {
								t.Errorf("records differ from the table (-want +got):\n%s", diff)
							}
						})
					}
				}
			}
		}
	}
}

// benchSockets builds n loopback TCP connections, as in the bench harness.
func benchSockets(n int) []*sockscope.Socket {
	ns := &sockscope.NetNS{Inode: 1, Name: "host"}
	proc := &sockscope.Process{PID: 1234, Comm: "holder"}
	socks := make([]*sockscope.Socket, n)
	for i := range socks {
		socks[i] = &sockscope.Socket{
			Proto: sockscope.TCP, Family: sockscope.FamilyInet, State: sockscope.Established,
			Local:   netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 20000),
			Remote:  netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 1, byte(i >> 8), byte(i)}), uint16(32768+i%20000)),
			Inode:   uint64(100000 + i),
			Cookie:  uint64(i),
			NetNS:   ns,
			Holders: []sockscope.Holder{{Proc: proc, FD: i + 3}},
		}
	}
	return socks
}

func BenchmarkWriteSocketsPipe(b *testing.B) {
	socks := benchSockets(10000)
	for _, procs := range []bool{false, true} {
		b.Run(fmt.Sprintf("processes=%v", procs), func(b *testing.B) {
			st := Style{Numeric: true, Processes: procs}
			b.ReportAllocs()
			for b.Loop() {
				if err := WriteSockets(discard{}, socks, st); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(socks)), "ns/socket")
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestSocketJSONAddresses checks the appended local and remote strings
// against Socket.LocalString and RemoteString, zones included.
func TestSocketJSONAddresses(t *testing.T) {
	for _, s := range recordSockets() {
		if s.Proto == sockscope.Unix {
			continue
		}
		var got struct{ Local, Remote string }
		b := AppendSocketJSON(nil, s)
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if want := s.LocalString(); got.Local != want {
			t.Errorf("local = %q, want %q", got.Local, want)
		}
		if want := s.RemoteString(); got.Remote != want {
			t.Errorf("remote = %q, want %q", got.Remote, want)
		}
	}
}

// TestDeviceNameSanitized: a device name is untrusted (an unprivileged
// user can name an interface in its own namespace): tables escape it, JSON
// escapes it as a string.
func TestDeviceNameSanitized(t *testing.T) {
	ns := &sockscope.NetNS{Interfaces: map[uint32]string{3: "d\x1b[2Jx"}}
	s := &sockscope.Socket{Proto: sockscope.TCP, Family: sockscope.FamilyInet, State: sockscope.Listen,
		Local: netip.MustParseAddrPort("0.0.0.0:80"), Remote: netip.MustParseAddrPort("0.0.0.0:0"), Interface: 3, NetNS: ns}
	if got, want := (Style{Numeric: true}).LocalText(s), `0.0.0.0%d\x1b[2Jx:80`; got != want {
		t.Errorf("LocalText = %q, want %q", got, want)
	}
	var rec bytes.Buffer
	if err := writeSocketRecords(&rec, []*sockscope.Socket{s}, Style{Numeric: true}); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.String(), "tcp\tLISTEN\t0\t0\t0.0.0.0%d\\x1b[2Jx:80\t0.0.0.0:*\n"; got != want {
		t.Errorf("pipe record = %q, want %q", got, want)
	}
	if got, want := string(AppendSocketJSON(nil, s)), `"local":"0.0.0.0%d\u001b[2Jx:80"`; !strings.Contains(got, want) {
		t.Errorf("JSON %s lacks %s", got, want)
	}
}

func BenchmarkWriteSocketsJSON(b *testing.B) {
	socks := benchSockets(10000)
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteSocketsJSON(discard{}, socks, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(socks)), "ns/socket")
}

// TestWriteSocketsJSONBlocks: a list long enough to be encoded in parallel
// blocks gives the bytes of one sequential pass with one encoder, over
// namespaces that change inside and across blocks, and the JSON parses.
func TestWriteSocketsJSONBlocks(t *testing.T) {
	socks := benchSockets(5*jsonBlock + 77)
	other := &sockscope.NetNS{Inode: 2, Name: "other\x1b"}
	for i := range socks {
		if i/1000%2 == 1 {
			socks[i].NetNS = other
		}
	}
	var enc socketEncoder
	want := []byte(`{"version":` + strconv.Itoa(SchemaVersion) + `,"sockets":[`)
	for i, s := range socks {
		if i > 0 {
			want = append(want, ',')
		}
		want = append(want, "\n  "...)
		want = enc.appendSocket(want, s)
	}
	want = append(want, "\n],\"warnings\":[]}\n"...)
	var got bytes.Buffer
	if err := WriteSocketsJSON(&got, socks, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("parallel blocks differ from one pass: %d bytes, want %d", got.Len(), len(want))
	}
	var stream bytes.Buffer
	if err := WriteSocketsJSONStream(&stream, socks, nil); err != nil || !bytes.Equal(stream.Bytes(), want) {
		t.Fatalf("WriteSocketsJSONStream: %d bytes, %v; want the same %d bytes", stream.Len(), err, len(want))
	}
	var doc struct{ Sockets []json.RawMessage }
	if err := json.Unmarshal(got.Bytes(), &doc); err != nil || len(doc.Sockets) != len(socks) {
		t.Errorf("document: %d sockets, %v; want %d", len(doc.Sockets), err, len(socks))
	}
	// NDJSON: the same objects, one a line.
	var lines []byte
	for _, s := range socks {
		lines = append(AppendSocketJSON(lines, s), '\n')
	}
	got.Reset()
	if err := WriteSocketsNDJSON(&got, socks); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), lines) {
		t.Errorf("NDJSON in parallel blocks differs from one line per socket: %d bytes, want %d", got.Len(), len(lines))
	}
}

// TestWriteSocketsJSONWriteError: a writer that fails stops the encoding
// with its error, and leaves no goroutine behind.
func TestWriteSocketsJSONWriteError(t *testing.T) {
	socks := benchSockets(20 * jsonBlock)
	before := runtime.NumGoroutine()
	w := &failAfter{n: 3}
	if err := WriteSocketsJSON(w, socks, nil); !errors.Is(err, errWrite) {
		t.Fatalf("error %v, want %v", err, errWrite)
	}
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after a failed write, %d before", runtime.NumGoroutine(), before)
		}
	}
}

var errWrite = errors.New("test: write failed")

// failAfter fails every write after its first n.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errWrite
	}
	f.n--
	return len(p), nil
}
