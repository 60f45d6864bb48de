package render

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
	"github.com/sockscope/sockscope/views"
)

// hostileName is an escape-laden string (window title, clear screen, bell,
// right-to-left override) with an invalid UTF-8 byte; tag keeps the
// fields apart in a failure.
func hostileName(tag string) string {
	return tag + "\x1b]0;T\a\x1b[2J\u202e\xff"
}

// hostileSnapshot has a hostile string in every field that comes from the
// system: namespace name and container, comm, cmdline, user, cgroup,
// unit, Unix paths (own and peer's).
func hostileSnapshot() *sockscope.Snapshot {
	ns := &sockscope.NetNS{Inode: 4026532001, Name: hostileName("ns"), Container: hostileName("ctr"), Unit: hostileName("nsunit")}
	plain := &sockscope.NetNS{Inode: 4026532002, Name: hostileName("plain")}
	p := &sockscope.Process{PID: 42, Comm: hostileName("comm"), Cmdline: []string{hostileName("argv0"), hostileName("argv1")},
		User: hostileName("user"), Cgroup: hostileName("cgroup"), Unit: hostileName("unit"), Container: hostileName("pctr")}
	h := []sockscope.Holder{{Proc: p, FD: 3}}
	ln := &sockscope.Socket{Proto: sockscope.TCP, Family: sockscope.FamilyInet, Type: sockscope.SockStream, State: sockscope.Listen,
		Local: netip.MustParseAddrPort("0.0.0.0:4242"), Holders: h, Inode: 1, NetNS: ns}
	est := &sockscope.Socket{Proto: sockscope.TCP, Family: sockscope.FamilyInet, Type: sockscope.SockStream, State: sockscope.Established,
		Local: netip.MustParseAddrPort("10.0.0.1:4242"), Remote: netip.MustParseAddrPort("10.0.0.2:50000"), Holders: h, Inode: 2, NetNS: ns}
	out := &sockscope.Socket{Proto: sockscope.TCP, Family: sockscope.FamilyInet, Type: sockscope.SockStream, State: sockscope.Established,
		Local: netip.MustParseAddrPort("10.0.0.1:50001"), Remote: netip.MustParseAddrPort("10.0.0.9:4242"), Holders: h, Inode: 3, NetNS: plain}
	ul := &sockscope.Socket{Proto: sockscope.Unix, Family: sockscope.FamilyUnix, Type: sockscope.SockStream, State: sockscope.Listen,
		Path: hostileName("/run/path"), Holders: h, Inode: 4, NetNS: plain}
	ua := &sockscope.Socket{Proto: sockscope.Unix, Family: sockscope.FamilyUnix, Type: sockscope.SockStream, State: sockscope.Established,
		Path: hostileName("/run/path"), PeerInode: 6, Holders: h, Inode: 5, NetNS: plain}
	uc := &sockscope.Socket{Proto: sockscope.Unix, Family: sockscope.FamilyUnix, Type: sockscope.SockStream, State: sockscope.Established,
		PeerInode: 5, Peer: ua, Holders: h, Inode: 6, NetNS: plain}
	ua.Peer = uc
	return &sockscope.Snapshot{
		NetNS:    []*sockscope.NetNS{ns, plain},
		Sockets:  []*sockscope.Socket{ln, est, out, ul, ua, uc},
		Warnings: []sockscope.Warning{{Kind: sockscope.WarnNetNS, Count: 1, Msg: hostileName("warning")}},
	}
}

// hostileServices names every port with a hostile string, as a crafted
// /etc/services could.
func hostileServices(uint16, string) string { return hostileName("svc") }

// checkSafeText fails unless out is valid UTF-8 with no control
// character but newline and tab, no bidi override, and (when color) no
// escape sequence but the SGR colours.
func checkSafeText(t *testing.T, out []byte, color bool) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Fatalf("output is not valid UTF-8:\n%q", out)
	}
	checkTerminalText(t, out, color)
	if len(out) == 0 {
		t.Fatal("no output")
	}
}

// TestHostileStringsTerminal (issue 15 item 3): every terminal view of a
// snapshot whose every system string is hostile escapes them all, and
// still names what it shows (the escaped form is printed).
func TestHostileStringsTerminal(t *testing.T) {
	snap := hostileSnapshot()
	all := Style{Processes: true, Extended: true, NetNS: true, Services: hostileServices}
	for _, c := range []struct {
		name string
		want string // an escaped field the view must show
		run  func(*bytes.Buffer, Style) error
	}{
		{"ls", Sanitize(hostileName("ns")), func(b *bytes.Buffer, st Style) error { return WriteSockets(b, snap.Sockets, st) }},
		{"ports", Sanitize(hostileName("plain")), func(b *bytes.Buffer, st Style) error {
			return WritePorts(b, views.BuildPorts(snap, hostileServices), st)
		}},
		{"port", Sanitize(hostileName("ns")), func(b *bytes.Buffer, st Style) error {
			return WritePort(b, []string{hostileName("explain")}, views.BuildPorts(snap, hostileServices), snap.Sockets[:2], st)
		}},
		{"watch", Sanitize(hostileName("comm")), func(b *bytes.Buffer, st Style) error {
			return WriteWatchFrame(b, WatchFrame{Taken: time.Unix(0, 0), Sockets: snap.Sockets, Interval: time.Second}, st)
		}},
		{"demux", Sanitize(hostileName("comm")), func(b *bytes.Buffer, st Style) error {
			seg := demux.Segment{Proto: sockscope.TCP, Src: netip.MustParseAddrPort("[fe80::1%" + hostileName("zone") + "]:1"), Dst: snap.Sockets[0].Local}
			return WriteDemux(b, st, DemuxReport{Segment: seg, Result: demux.LookupResult{Socket: snap.Sockets[0],
				Steps: []demux.Step{{Name: "listener", Detail: hostileName("detail"), Matched: snap.Sockets[:1]}}}})
		}},
	} {
		for _, st := range []Style{all, {TTY: true, Processes: true, NetNS: true, Services: hostileServices}, func() Style { s := all; s.TTY, s.Color = true, true; return s }()} {
			var b bytes.Buffer
			if err := c.run(&b, st); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			out := b.Bytes()
			if c.name == "watch" {
				out = bytes.TrimPrefix(out, []byte(ClearScreen))
			}
			checkSafeText(t, out, st.Color)
			if !strings.Contains(b.String(), c.want) {
				t.Errorf("%s (tty %v): %q not shown escaped in:\n%s", c.name, st.TTY, c.want, b.Bytes())
			}
		}
	}
}

// TestHostileStringsJSON: the JSON documents stay valid JSON in valid
// UTF-8, with no raw control byte, and carry each string exactly (each
// invalid byte as U+FFFD).
func TestHostileStringsJSON(t *testing.T) {
	snap := hostileSnapshot()
	wantNS := strings.ToValidUTF8(hostileName("ns"), "\ufffd")
	var b bytes.Buffer
	check := func(name string, doc []byte) {
		t.Helper()
		if !utf8.Valid(doc) || bytes.ContainsFunc(doc, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f }) {
			t.Fatalf("%s: not valid UTF-8 or a raw control byte:\n%q", name, doc)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(doc), []byte("\n")) {
			if name != "ndjson" {
				line = doc
			}
			if !json.Valid(line) {
				t.Fatalf("%s: invalid JSON:\n%s", name, line)
			}
			if name != "ndjson" {
				break
			}
		}
		if !bytes.Contains(doc, []byte(`"name":`)) {
			t.Fatalf("%s: no namespace name in:\n%s", name, doc)
		}
	}
	if err := WriteSocketsJSON(&b, snap.Sockets, snap.Warnings); err != nil {
		t.Fatal(err)
	}
	check("ls", b.Bytes())
	var ls struct {
		Sockets []struct {
			NetNS struct {
				Name string `json:"name"`
			} `json:"netns"`
			Holders []struct {
				Comm    string `json:"comm"`
				Cmdline string `json:"cmdline"`
				User    string `json:"user"`
			} `json:"holders"`
		} `json:"sockets"`
	}
	if err := json.Unmarshal(b.Bytes(), &ls); err != nil {
		t.Fatal(err)
	}
	if got := ls.Sockets[0].NetNS.Name; got != wantNS {
		t.Errorf("ls JSON netns name %q, want %q", got, wantNS)
	}
	if got, want := ls.Sockets[0].Holders[0].Comm, strings.ToValidUTF8(hostileName("comm"), "\ufffd"); got != want {
		t.Errorf("ls JSON comm %q, want %q", got, want)
	}
	b.Reset()
	if err := WriteSocketsNDJSON(&b, snap.Sockets); err != nil {
		t.Fatal(err)
	}
	check("ndjson", b.Bytes())
	b.Reset()
	if err := WritePortsJSON(&b, views.BuildPorts(snap, hostileServices)); err != nil {
		t.Fatal(err)
	}
	check("ports", b.Bytes())
	var ports struct {
		Ports []struct {
			Service string `json:"service"`
			NetNS   struct {
				Name string `json:"name"`
			} `json:"netns"`
		} `json:"ports"`
	}
	if err := json.Unmarshal(b.Bytes(), &ports); err != nil {
		t.Fatal(err)
	}
	if len(ports.Ports) == 0 || ports.Ports[0].NetNS.Name != wantNS {
		t.Errorf("ports JSON: %+v, want the netns name %q", ports.Ports, wantNS)
	}
}

// TestHostileBindCheck: the address a user typed for bind-check, with a
// hostile IPv6 zone, is escaped in the headline.
func TestHostileBindCheck(t *testing.T) {
	req := demux.BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("[fe80::1%" + hostileName("zone") + "]:80")}
	var b bytes.Buffer
	if err := WriteBindCheck(&b, Style{}, req, demux.BindResult{Verdict: demux.OK}); err != nil {
		t.Fatal(err)
	}
	checkSafeText(t, b.Bytes(), false)
	if !strings.Contains(b.String(), Sanitize(hostileName("zone"))) {
		t.Errorf("the zone is not shown escaped:\n%s", b.String())
	}
}
