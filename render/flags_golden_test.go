package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/views"
)

// flagsSnapshot is a fixed snapshot whose bind flags are partly known (as
// the BPF source reads them) and partly unknown (as sock_diag reports
// them): port 8080 has a SO_REUSEPORT group and TIME-WAIT sockets with
// known and unknown flags; port 9090 a listener with both flags known and
// unset; port 9191 one whose flags are unknown.
func flagsSnapshot() *sockscope.Snapshot {
	ns := &sockscope.NetNS{Inode: 4026531840, Name: "host"}
	web := &sockscope.Process{PID: 900, Comm: "web", User: "root"}
	tcp := func(st sockscope.State, local, remote string, inode uint64, ra, rp sockscope.Tristate) *sockscope.Socket {
		return &sockscope.Socket{Proto: sockscope.TCP, Family: sockscope.FamilyInet, Type: sockscope.SockStream, State: st,
			Local: ap(local), Remote: ap(remote), Inode: inode, Cookie: inode + 100, NetNS: ns, ReuseAddr: ra, ReusePort: rp,
			HoldersScanned: true}
	}
	y, n, u := sockscope.Yes, sockscope.No, sockscope.Unknown
	rp1 := tcp(sockscope.Listen, "0.0.0.0:8080", "0.0.0.0:0", 11, n, y)
	rp1.Holders = []sockscope.Holder{{Proc: web, FD: 3}}
	rp2 := tcp(sockscope.Listen, "0.0.0.0:8080", "0.0.0.0:0", 12, y, y)
	rp2.Holders = []sockscope.Holder{{Proc: web, FD: 4}}
	tw1 := tcp(sockscope.TimeWait, "127.0.0.1:8080", "127.0.0.1:40000", 0, y, n)
	tw2 := tcp(sockscope.TimeWait, "127.0.0.1:8080", "127.0.0.1:40001", 0, n, n)
	tw3 := tcp(sockscope.TimeWait, "127.0.0.1:8080", "127.0.0.1:40002", 0, u, u)
	tw4 := tcp(sockscope.TimeWait, "127.0.0.1:8080", "127.0.0.1:40003", 0, y, n)
	plain := tcp(sockscope.Listen, "127.0.0.1:9090", "0.0.0.0:0", 21, n, n)
	unknown := tcp(sockscope.Listen, "127.0.0.1:9191", "0.0.0.0:0", 31, u, u)
	rp1.ReuseportProg, rp2.ReuseportProg, plain.ReuseportProg = y, y, n
	return &sockscope.Snapshot{NetNS: []*sockscope.NetNS{ns},
		Sockets: []*sockscope.Socket{rp1, rp2, tw1, tw2, tw3, tw4, plain, unknown}}
}

func TestGoldenFlags(t *testing.T) {
	snap := flagsSnapshot()
	var b bytes.Buffer
	if err := WritePorts(&b, views.BuildPorts(snap, nil), Style{TTY: true}); err != nil {
		t.Fatal(err)
	}
	golden(t, "ports_flags_tty", b.Bytes())
	out := b.String()
	// Known-set flags are named; known-unset and unknown print nothing.
	for _, want := range []string{"IPv4 (reuseport)", "IPv4 (reuseaddr reuseport)", "TIME-WAIT flags: 2 reuseaddr, 1 none"} {
		if !strings.Contains(out, want) {
			t.Errorf("ports view lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "false") {
		t.Errorf("ports view prints \"false\":\n%s", out)
	}

	for _, c := range []struct {
		name string
		num  uint16
	}{{"port8080_flags_tty", 8080}, {"port9191_flags_tty", 9191}} {
		b.Reset()
		p := portSockets(snap, c.num)
		if err := WritePort(&b, nil, views.BuildPorts(p, nil), p.Sockets, Style{TTY: true}); err != nil {
			t.Fatal(err)
		}
		golden(t, c.name, b.Bytes())
		// The FLAGS column appears only when some socket's flags are known.
		if has, want := strings.Contains(b.String(), "FLAGS"), AnyFlagsKnown(p.Sockets); has != want {
			t.Errorf("%s: FLAGS column printed=%v, want %v:\n%s", c.name, has, want, b.String())
		}
	}

	b.Reset()
	if err := WritePortsJSON(&b, views.BuildPorts(snap, nil)); err != nil {
		t.Fatal(err)
	}
	golden(t, "ports_flags.json", b.Bytes())
	var doc struct {
		Ports []struct {
			Port      uint16                       `json:"port"`
			Listeners []map[string]json.RawMessage `json:"listeners"`
		} `json:"ports"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v in %s", err, b.Bytes())
	}
	byInode := map[uint64]*sockscope.Socket{}
	for _, s := range snap.Sockets {
		byInode[s.Inode] = s
	}
	seen := 0
	for _, p := range doc.Ports {
		for _, l := range p.Listeners {
			var inode uint64
			if err := json.Unmarshal(l["inode"], &inode); err != nil {
				t.Fatal(err)
			}
			s := byInode[inode]
			for key, tri := range map[string]sockscope.Tristate{"reuseaddr": s.ReuseAddr, "reuseport": s.ReusePort, "reuseport_prog": s.ReuseportProg} {
				raw, ok := l[key]
				switch {
				case tri == sockscope.Unknown && ok:
					t.Errorf("port %d listener %d: %q=%s present although unknown", p.Port, inode, key, raw)
				case tri != sockscope.Unknown && string(raw) != map[bool]string{true: "true", false: "false"}[tri == sockscope.Yes]:
					t.Errorf("port %d listener %d: %q=%s, want %v", p.Port, inode, key, raw, tri)
				}
			}
			seen++
		}
	}
	if seen != 4 {
		t.Errorf("%d listeners in the JSON document, want 4", seen)
	}
}
