package render

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strconv"
	"testing"

	"github.com/sockscope/sockscope"
)

// hostileSockets adds to recordSockets what the constant fragments and the
// netns cache must get right: values beyond the fragment tables, several
// namespaces taking turns, a NetNS that is reused after another, and
// strings that need escaping or are not UTF-8, also at the joints of the
// joined cmdline.
func hostileSockets() []*sockscope.Socket {
	nsA := &sockscope.NetNS{Inode: 10, Name: "a\"\\\n\u2028"}
	nsB := &sockscope.NetNS{Inode: 11, Name: "b", Container: "ctr\x00\xff", Interfaces: map[uint32]string{1: "e\"\x1b\xff", 6: "eth0"}}
	nsC := &sockscope.NetNS{Inode: 12, Name: "host"}
	p1 := &sockscope.Process{PID: 7, Comm: "c\u2029\x7f", Cmdline: []string{"/bin/x\xe2\x82", "\xac-y", "", "z\"\t"}, User: "u\\", UID: 5, Cgroup: "/a\x01b"}
	p2 := &sockscope.Process{PID: -3, Comm: "", Cmdline: []string{"\xf0\x9f\x98", "\x80"}, User: "root"}
	p3 := &sockscope.Process{PID: 9, Comm: "none", Cmdline: nil}
	socks := recordSockets()
	for i, ns := range []*sockscope.NetNS{nsA, nsB, nsA, nil, nsC, nsC, nsB} {
		s := &sockscope.Socket{
			Proto: sockscope.Proto(i % 8), Family: []sockscope.Family{0, 1, 2, 10, 3, 200, 2}[i],
			Type: sockscope.SockType(i * 2), State: sockscope.State(i * 9),
			Local:  []netip.AddrPort{netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(i)}), uint16(i*1000)), netip.MustParseAddrPort("[::]:1"), netip.MustParseAddrPort("0.0.0.0:0")}[i%3],
			Remote: netip.MustParseAddrPort("[fe80::1%e\"th0]:9"),
			Inode:  uint64(i) << 40, Cookie: ^uint64(i), UID: ^uint32(0), RecvQ: 1, SendQ: 2,
			Interface: uint32(i), V6Only: sockscope.Tristate(i%3 - 1), HoldersHidden: i%2 == 0, HoldersScanned: i%4 != 1,
			NetNS: ns, Path: "/p\xc0" + strconv.Itoa(i), PeerInode: uint64(i), Pending: make([]uint64, i),
			Holders: []sockscope.Holder{{Proc: p1, FD: i}, {Proc: p2, FD: -1}, {Proc: p3}, {FD: 4}},
		}
		if i > 0 {
			s.Peer = socks[len(socks)-1]
		}
		if i%3 == 2 {
			s.Holders = nil // scanned or not, no holder
		}
		socks = append(socks, s)
	}
	// The same NetNS pointer with another name: a later document must not
	// see the old bytes.
	return append(socks, benchSockets(3)...)
}

// refDocument is WriteSocketsJSON's document built with the reference
// encoder.
func refDocument(socks []*sockscope.Socket, ws []sockscope.Warning) []byte {
	b := []byte(`{"version":` + strconv.Itoa(SchemaVersion) + `,"sockets":[`)
	for i, s := range socks {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n  "...)
		b = refAppendSocketJSON(b, s)
	}
	b = append(b, "\n],\"warnings\":"...)
	b = AppendWarningsJSON(b, ws)
	return append(b, "}\n"...)
}

func TestSocketJSONMatchesReference(t *testing.T) {
	socks := hostileSockets()
	for _, s := range socks {
		want := refAppendSocketJSON(nil, s)
		got := AppendSocketJSON(nil, s)
		if !bytes.Equal(got, want) {
			t.Errorf("AppendSocketJSON:\n got %s\nwant %s", got, want)
		}
		if !json.Valid(got) {
			t.Errorf("invalid JSON: %s", got)
		}
	}
	ws := []sockscope.Warning{{Kind: "k\"", Count: 2, Msg: "m\n"}}
	var doc bytes.Buffer
	if err := WriteSocketsJSON(&doc, socks, ws); err != nil {
		t.Fatal(err)
	}
	if want := refDocument(socks, ws); !bytes.Equal(doc.Bytes(), want) {
		t.Errorf("WriteSocketsJSON differs from the reference:\n got %s\nwant %s", doc.Bytes(), want)
	}
	var nd bytes.Buffer
	if err := WriteSocketsNDJSON(&nd, socks); err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, s := range socks {
		want = append(refAppendSocketJSON(want, s), '\n')
	}
	if !bytes.Equal(nd.Bytes(), want) {
		t.Errorf("WriteSocketsNDJSON differs from the reference:\n got %s\nwant %s", nd.Bytes(), want)
	}

	// A namespace renamed between two documents: the second shows the new
	// name.
	ns := socks[0].NetNS
	old := ns.Name
	ns.Name = "renamed"
	defer func() { ns.Name = old }()
	doc.Reset()
	if err := WriteSocketsJSON(&doc, socks, nil); err != nil {
		t.Fatal(err)
	}
	if want := refDocument(socks, nil); !bytes.Equal(doc.Bytes(), want) {
		t.Errorf("after a rename, WriteSocketsJSON differs from the reference")
	}
}

// A large document crosses the write-chunk boundary.
func TestSocketsJSONLargeMatchesReference(t *testing.T) {
	socks := benchSockets(5000)
	var doc bytes.Buffer
	if err := WriteSocketsJSON(&doc, socks, nil); err != nil {
		t.Fatal(err)
	}
	if want := refDocument(socks, nil); !bytes.Equal(doc.Bytes(), want) {
		t.Errorf("WriteSocketsJSON of %d sockets differs from the reference", len(socks))
	}
}

func FuzzSocketJSONMatchesReference(f *testing.F) {
	f.Add("/run/a.sock", "nginx", "-g", "daemon off;", "host", "", uint8(1), uint8(2), uint8(1))
	f.Add("@\x00x", "e\xe2\x82", "\xac", "\u2028\"", "n\\", "c\x1b", uint8(5), uint8(10), uint8(13))
	f.Add("", "", "\xff", "\x80", "", "\x00", uint8(200), uint8(255), uint8(99))
	f.Fuzz(func(t *testing.T, path, comm, a1, a2, nsName, container string, proto, fam, state uint8) {
		p := &sockscope.Process{PID: 1, Comm: comm, Cmdline: []string{a1, a2}, User: a2, Cgroup: a1}
		s := &sockscope.Socket{
			Proto: sockscope.Proto(proto), Family: sockscope.Family(fam), Type: sockscope.SockType(state % 7),
			State: sockscope.State(state), Path: path, NetNS: &sockscope.NetNS{Name: nsName, Container: container},
			Holders: []sockscope.Holder{{Proc: p, FD: 3}},
		}
		got, want := AppendSocketJSON(nil, s), refAppendSocketJSON(nil, s)
		if !bytes.Equal(got, want) {
			t.Fatalf("got %s\nwant %s", got, want)
		}
		if !json.Valid(got) {
			t.Fatalf("invalid JSON: %s", got)
		}
	})
}
