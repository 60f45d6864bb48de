package views

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sockscope/sockscope"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func inet(p sockscope.Proto, st sockscope.State, local, remote string, ns *sockscope.NetNS) *sockscope.Socket {
	s := &sockscope.Socket{Proto: p, Family: sockscope.FamilyInet, State: st, Local: ap(local), NetNS: ns}
	if remote != "" {
		s.Remote = ap(remote)
	}
	if ap(local).Addr().Is6() {
		s.Family = sockscope.FamilyInet6
	}
	return s
}

// samePtr compares sockets by identity: the view must hold the snapshot's
// own sockets.
var samePtr = cmp.Comparer(func(a, b *sockscope.Socket) bool { return a == b })

func TestBuildPorts(t *testing.T) {
	a := &sockscope.NetNS{Inode: 1, Name: "host"}
	b := &sockscope.NetNS{Inode: 2, Name: "b"}
	tcp, udp := sockscope.TCP, sockscope.UDP
	lst := inet(tcp, sockscope.Listen, "0.0.0.0:80", "", a)
	lst6 := inet(tcp, sockscope.Listen, "[::]:80", "", a)
	e1 := inet(tcp, sockscope.Established, "10.0.0.1:80", "192.0.2.1:1000", a)
	e2 := inet(tcp, sockscope.Established, "10.0.0.1:80", "192.0.2.1:1001", a)
	e3 := inet(tcp, sockscope.Established, "10.0.0.1:80", "192.0.2.2:1000", a)
	tw := inet(tcp, sockscope.TimeWait, "10.0.0.1:80", "192.0.2.3:1000", a)
	bound := inet(tcp, sockscope.Close, "127.0.0.1:5000", "", a)
	onBound := inet(tcp, sockscope.Established, "127.0.0.1:5000", "127.0.0.1:80", a) // shares the bound port
	cli1 := inet(tcp, sockscope.Established, "10.0.0.1:40000", "192.0.2.9:443", a)
	cli2 := inet(tcp, sockscope.SynSent, "10.0.0.1:40001", "192.0.2.9:443", a)
	cli3 := inet(tcp, sockscope.Established, "10.0.0.1:40001", "192.0.2.8:443", a) // same local port as cli2
	udpL := inet(udp, sockscope.Close, "0.0.0.0:53", "", a)
	udpC := inet(udp, sockscope.Established, "10.0.0.1:53", "192.0.2.5:53", a) // connected, on a listened port
	udpUnbound := inet(udp, sockscope.Close, "0.0.0.0:0", "", a)
	lstB := inet(tcp, sockscope.Listen, "0.0.0.0:80", "", b) // same port, other namespace
	cliB := inet(tcp, sockscope.Established, "10.1.0.1:40000", "10.1.0.2:80", b)
	ux := func(typ sockscope.SockType, st sockscope.State, path string, peer uint64, ns *sockscope.NetNS) *sockscope.Socket {
		return &sockscope.Socket{Proto: sockscope.Unix, Family: sockscope.FamilyUnix, Type: typ, State: st, Path: path, PeerInode: peer, NetNS: ns}
	}
	uL := ux(sockscope.SockStream, sockscope.Listen, "/run/z.sock", 0, a)
	uA := ux(sockscope.SockStream, sockscope.Established, "/run/z.sock", 7, a)
	uD := ux(sockscope.SockDgram, sockscope.Close, "@log", 0, a)
	uDconn := ux(sockscope.SockDgram, sockscope.Established, "/run/a.sock", 9, a) // bound, connected: not a listener
	uN := ux(sockscope.SockStream, sockscope.Established, "", 8, a)
	uLB := ux(sockscope.SockSeqpacket, sockscope.Listen, "/run/a.sock", 0, b)
	raw := &sockscope.Socket{Proto: sockscope.Raw, Family: sockscope.FamilyInet, State: sockscope.Close, NetNS: a}
	snap := &sockscope.Snapshot{
		NetNS: []*sockscope.NetNS{a, b},
		Sockets: []*sockscope.Socket{lst, lst6, e1, e2, e3, tw, bound, onBound, cli1, cli2, cli3, udpUnbound, udpL, udpC,
			raw, uN, uDconn, uD, uL, uA, lstB, cliB, uLB},
		Warnings: []sockscope.Warning{{Kind: "netns", Count: 1, Msg: "m"}},
	}
	var asked []string
	v := BuildPorts(snap, func(port uint16, proto string) string {
		asked = append(asked, fmt.Sprintf("%s/%d", proto, port))
		if port == 80 {
			return "http"
		}
		return ""
	})
	if !v.MultiNS || len(v.Warnings) != 1 {
		t.Errorf("MultiNS %v, %d warnings; want true, 1", v.MultiNS, len(v.Warnings))
	}
	type block struct {
		NS        string
		Port      string
		Service   string
		Listeners []*sockscope.Socket
		Sockets   []*sockscope.Socket
		States    []Count
		Peers     []Count
	}
	var got []block
	for _, blk := range v.Blocks {
		got = append(got, block{blk.NetNS.Name, blk.Port.String(), blk.Service, blk.Listeners, blk.Sockets, blk.States, blk.Peers})
	}
	none := []Count{}
	want := []block{
		{"host", "tcp/80", "http", []*sockscope.Socket{lst, lst6}, []*sockscope.Socket{e1, e2, e3, tw},
			[]Count{{"ESTAB", 3}, {"TIME-WAIT", 1}}, []Count{{"192.0.2.1", 2}, {"192.0.2.2", 1}, {"192.0.2.3", 1}}},
		{"host", "tcp/5000", "", []*sockscope.Socket{bound}, []*sockscope.Socket{onBound}, []Count{{"ESTAB", 1}}, []Count{{"127.0.0.1", 1}}},
		{"host", "udp/53", "", []*sockscope.Socket{udpL}, []*sockscope.Socket{udpC}, []Count{{"ESTAB", 1}}, []Count{{"192.0.2.5", 1}}},
		{"b", "tcp/80", "http", []*sockscope.Socket{lstB}, nil, none, none},
	}
	if d := cmp.Diff(want, got, samePtr); d != "" {
		t.Errorf("blocks (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"tcp/80", "tcp/5000", "udp/53", "tcp/80"}, asked); d != "" {
		t.Errorf("services asked once per block (-want +got):\n%s", d)
	}
	type eph struct {
		NS             string
		Proto          string
		Sockets, Ports int
		States         []Count
		Remotes        []Count
	}
	var gotE []eph
	for _, e := range v.Ephemeral {
		gotE = append(gotE, eph{e.NetNS.Name, e.Proto.String(), e.Sockets, e.Ports, e.States, e.Remotes})
	}
	wantE := []eph{
		{"host", "tcp", 3, 2, []Count{{"ESTAB", 2}, {"SYN-SENT", 1}}, []Count{{"192.0.2.9:443", 2}, {"192.0.2.8:443", 1}}},
		{"host", "udp", 1, 1, []Count{{"UNCONN", 1}}, none},
		{"b", "tcp", 1, 1, []Count{{"ESTAB", 1}}, []Count{{"10.1.0.2:80", 1}}},
	}
	if d := cmp.Diff(wantE, gotE); d != "" {
		t.Errorf("outbound (-want +got):\n%s", d)
	}
	type unixBlock struct {
		NS, Path  string
		Listeners []*sockscope.Socket
		Sockets   []*sockscope.Socket
		States    []Count
	}
	var gotU []unixBlock
	for _, u := range v.Unix {
		gotU = append(gotU, unixBlock{u.NetNS.Name, u.Path, u.Listeners, u.Sockets, u.States})
	}
	wantU := []unixBlock{ // by namespace, then path
		{"host", "/run/a.sock", nil, []*sockscope.Socket{uDconn}, []Count{{"ESTAB", 1}}},
		{"host", "/run/z.sock", []*sockscope.Socket{uL}, []*sockscope.Socket{uA}, []Count{{"ESTAB", 1}}},
		{"host", "@log", []*sockscope.Socket{uD}, nil, none},
		{"b", "/run/a.sock", []*sockscope.Socket{uLB}, nil, none},
	}
	if d := cmp.Diff(wantU, gotU, samePtr); d != "" {
		t.Errorf("unix (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]Count{{"raw", 1}, {"unnamed unix", 1}}, v.Other); d != "" {
		t.Errorf("other (-want +got):\n%s", d)
	}
}

// TestBuildPortsPlacesEverySocketOnce: whatever the snapshot, each socket
// is in exactly one place of the view (a block's listeners or sockets, an
// outbound summary, a Unix block, or the other counts), and every socket
// that shares a block's port is in that block.
func TestBuildPortsPlacesEverySocketOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	nss := []*sockscope.NetNS{{Inode: 1, Name: "a"}, {Inode: 2, Name: "b"}, nil}
	protos := []sockscope.Proto{sockscope.TCP, sockscope.UDP, sockscope.UDPLite, sockscope.Raw, sockscope.Unix}
	states := []sockscope.State{sockscope.Listen, sockscope.Established, sockscope.Close, sockscope.TimeWait}
	for round := range 200 {
		var snap sockscope.Snapshot
		snap.NetNS = nss[:2]
		for range rng.IntN(40) {
			s := &sockscope.Socket{
				Proto: protos[rng.IntN(len(protos))], State: states[rng.IntN(len(states))], NetNS: nss[rng.IntN(len(nss))],
				Local: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(rng.IntN(3))}), uint16(rng.IntN(4))),
				Type:  sockscope.SockType(1 + rng.IntN(2)),
			}
			if rng.IntN(2) == 0 {
				s.Remote = ap("192.0.2.1:9")
				s.PeerInode = 5
			}
			if rng.IntN(2) == 0 {
				s.Path = []string{"/x", "@y"}[rng.IntN(2)]
			}
			snap.Sockets = append(snap.Sockets, s)
		}
		v := BuildPorts(&snap, nil)
		seen := map[*sockscope.Socket]int{}
		placed := 0
		for _, blk := range v.Blocks {
			for _, s := range blk.Listeners {
				seen[s]++
				if !s.IsListener() && !s.BoundInactive() {
					t.Fatalf("round %d: %v owns %v but is neither a listener nor bound", round, s, blk.Port)
				}
			}
			for _, s := range blk.Sockets {
				seen[s]++
				if s.Port() != blk.Port || s.NetNS != blk.NetNS {
					t.Fatalf("round %d: socket on %v in the block of %v", round, s.Port(), blk.Port)
				}
			}
			placed += len(blk.Listeners) + len(blk.Sockets)
		}
		for _, e := range v.Ephemeral {
			placed += e.Sockets
		}
		for _, u := range v.Unix {
			for _, s := range append(u.Listeners[:len(u.Listeners):len(u.Listeners)], u.Sockets...) {
				seen[s]++
			}
			placed += len(u.Listeners) + len(u.Sockets)
		}
		for _, c := range v.Other {
			placed += c.N
		}
		if placed != len(snap.Sockets) {
			t.Fatalf("round %d: %d sockets placed, snapshot has %d", round, placed, len(snap.Sockets))
		}
		for s, n := range seen {
			if n != 1 {
				t.Fatalf("round %d: %+v placed %d times", round, s, n)
			}
		}
	}
}

func TestStackOf(t *testing.T) {
	for _, c := range []struct {
		fam    sockscope.Family
		local  string
		v6only sockscope.Tristate
		want   Stack
		label  string
	}{
		{sockscope.FamilyInet, "0.0.0.0:80", sockscope.Unknown, IPv4, "IPv4"},
		{sockscope.FamilyInet, "127.0.0.1:80", sockscope.Unknown, IPv4, "IPv4"},
		{sockscope.FamilyInet6, "[::]:80", sockscope.Yes, IPv6Only, "IPv6 only"},
		{sockscope.FamilyInet6, "[::]:80", sockscope.No, DualStack, "dual-stack"},
		{sockscope.FamilyInet6, "[::]:80", sockscope.Unknown, IPv6Unknown, "IPv6 (v6only unknown)"},
		{sockscope.FamilyInet6, "[::1]:80", sockscope.No, IPv6Only, "IPv6 only"},
		{sockscope.FamilyInet6, "[2001:db8::1]:80", sockscope.Unknown, IPv6Only, "IPv6 only"},
		{sockscope.FamilyInet6, "[::ffff:127.0.0.1]:80", sockscope.No, IPv4, "IPv4"},
		{sockscope.FamilyUnix, "0.0.0.0:0", sockscope.Unknown, NotIP, ""},
	} {
		s := &sockscope.Socket{Proto: sockscope.TCP, Family: c.fam, Local: ap(c.local), V6Only: c.v6only}
		if got := StackOf(s); got != c.want || got.String() != c.label {
			t.Errorf("StackOf(%v %s v6only=%v) = %d %q, want %d %q", c.fam, c.local, c.v6only, got, got, c.want, c.label)
		}
	}
}
