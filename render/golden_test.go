package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/views"
)

// goldenServices names a few ports, as /etc/services would.
func goldenServices(port uint16, proto string) string {
	switch port {
	case 22:
		return "ssh"
	case 53:
		return "domain"
	case 80:
		return "http"
	case 7000:
		return "bbs"
	}
	return ""
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// goldenSnapshot is a fixed, hand-built snapshot of two namespaces: every
// kind of port owner (v4, v6-only, dual-stack and device-bound listeners,
// a bound inactive TCP socket, unconnected UDP), sockets that share ports,
// outbound connections, Unix paths, unnamed and raw sockets, hidden
// holders, warnings, and hostile strings in process names, arguments,
// paths and container names.
func goldenSnapshot() *sockscope.Snapshot {
	host := &sockscope.NetNS{Inode: 4026531840, Name: "host", Interfaces: map[uint32]string{3: "eth0"}}
	blue := &sockscope.NetNS{Inode: 4026532999, Name: "blue", Container: "web\x1b[2J\u202e"}
	sshd := &sockscope.Process{PID: 812, Comm: "sshd", Cmdline: []string{"sshd: /usr/sbin/sshd -D"}, User: "root"}
	nginx := &sockscope.Process{PID: 900, Comm: "nginx", Cmdline: []string{"nginx: master process"}, User: "root"}
	evil := &sockscope.Process{PID: 666, Comm: "ev\x1b[31mil\n\u202e", Cmdline: []string{"/tmp/x\x07", "--flag=\"q\""}, User: "nobody", UID: 65534}
	dns := &sockscope.Process{PID: 77, Comm: "dnsmasq", User: "dnsmasq", UID: 101}
	client := &sockscope.Process{PID: 1234, Comm: "curl", User: "alice", UID: 1000}
	h := func(p *sockscope.Process, fd int) []sockscope.Holder { return []sockscope.Holder{{Proc: p, FD: fd}} }
	tcp := func(fam sockscope.Family, st sockscope.State, local, remote string) *sockscope.Socket {
		s := &sockscope.Socket{Proto: sockscope.TCP, Family: fam, Type: sockscope.SockStream, State: st, Local: ap(local), NetNS: host}
		switch {
		case remote != "":
			s.Remote = ap(remote)
		case fam == sockscope.FamilyInet:
			s.Remote = ap("0.0.0.0:0") // as the kernel reports "no peer"
		default:
			s.Remote = ap("[::]:0")
		}
		return s
	}
	v4, v6 := sockscope.FamilyInet, sockscope.FamilyInet6
	sshV4 := tcp(v4, sockscope.Listen, "0.0.0.0:22", "")
	sshV4.Holders, sshV4.SendQ, sshV4.Inode, sshV4.Cookie = h(sshd, 3), 128, 1001, 501
	sshV6 := tcp(v6, sockscope.Listen, "[::]:22", "")
	sshV6.Holders, sshV6.SendQ, sshV6.V6Only, sshV6.Inode = h(sshd, 4), 128, sockscope.Yes, 1002
	est1 := tcp(v4, sockscope.Established, "10.0.0.5:22", "198.51.100.7:51000")
	est1.Holders, est1.Inode = h(sshd, 5), 1003
	est2 := tcp(v4, sockscope.Established, "10.0.0.5:22", "198.51.100.7:51001")
	est2.HoldersHidden, est2.Inode = true, 1004
	tw := tcp(v4, sockscope.TimeWait, "10.0.0.5:22", "203.0.113.9:40000")
	web := tcp(v6, sockscope.Listen, "[::]:80", "")
	web.V6Only, web.SendQ, web.RecvQ, web.Inode = sockscope.No, 511, 2, 1005
	web.Holders = []sockscope.Holder{{Proc: nginx, FD: 6}, {Proc: evil, FD: 7}, {Proc: nginx, FD: 8}, {Proc: nginx, FD: 9}, {Proc: nginx, FD: 10}}
	dev := tcp(v4, sockscope.Listen, "0.0.0.0:80", "")
	dev.Interface, dev.Holders, dev.Inode = 3, h(evil, 4), 1006
	bound := tcp(v4, sockscope.Close, "127.0.0.1:5000", "")
	bound.Holders, bound.Inode = h(evil, 9), 1007
	mapped := tcp(v6, sockscope.Listen, "[::ffff:127.0.0.1]:7000", "")
	mapped.V6Only, mapped.Inode = sockscope.No, 1008
	unknown := tcp(v6, sockscope.Listen, "[::]:7000", "")
	unknown.Inode = 1009 // /proc does not tell IPV6_V6ONLY
	out1 := tcp(v4, sockscope.Established, "10.0.0.5:41000", "93.184.216.34:443")
	out1.Holders, out1.Inode = h(client, 5), 1010
	out2 := tcp(v4, sockscope.SynSent, "10.0.0.5:41001", "93.184.216.34:443")
	out2.Holders, out2.Inode = h(client, 6), 1011
	out3 := tcp(v6, sockscope.Established, "[2001:db8::5]:41002", "[2001:db8::80]:80")
	out3.Inode = 1012
	udpDNS := &sockscope.Socket{Proto: sockscope.UDP, Family: v4, Type: sockscope.SockDgram, State: sockscope.Close,
		Local: ap("127.0.0.53:53"), Remote: ap("0.0.0.0:0"), Holders: h(dns, 4), Inode: 1013, NetNS: host}
	udpOut := &sockscope.Socket{Proto: sockscope.UDP, Family: v4, Type: sockscope.SockDgram, State: sockscope.Established,
		Local: ap("10.0.0.5:50123"), Remote: ap("9.9.9.9:53"), Holders: h(dns, 9), Inode: 1014, NetNS: host}
	unixL := &sockscope.Socket{Proto: sockscope.Unix, Family: sockscope.FamilyUnix, Type: sockscope.SockStream, State: sockscope.Listen,
		Path: "/run/app\n.sock", Holders: h(evil, 11), SendQ: 4096, Inode: 2001, Pending: []uint64{2005}, NetNS: host}
	unixA := &sockscope.Socket{Proto: sockscope.Unix, Family: sockscope.FamilyUnix, Type: sockscope.SockStream, State: sockscope.Established,
		Path: "/run/app\n.sock", PeerInode: 2003, Holders: h(evil, 12), Inode: 2002, NetNS: host}
	unixC := &sockscope.Socket{Proto: sockscope.Unix, Family: sockscope.FamilyUnix, Type: sockscope.SockStream, State: sockscope.Established,
		PeerInode: 2002, Peer: unixA, Holders: h(client, 7), Inode: 2003, NetNS: host}
	unixA.Peer = unixC
	unixD := &sockscope.Socket{Proto: sockscope.Unix, Family: sockscope.FamilyUnix, Type: sockscope.SockDgram, State: sockscope.Close,
		Path: "@journal\x00x", Inode: 2004, NetNS: host}
	unixOrphan := &sockscope.Socket{Proto: sockscope.Unix, Family: sockscope.FamilyUnix, Type: sockscope.SockStream, State: sockscope.Established,
		Path: "/run/gone.sock", PeerInode: 9999, Inode: 2006, NetNS: host}
	raw := &sockscope.Socket{Proto: sockscope.Raw, Family: v4, Type: sockscope.SockRaw, State: sockscope.Close, Local: ap("0.0.0.0:1"), Remote: ap("0.0.0.0:0"), Inode: 3001, NetNS: host}
	// The blue namespace: the same port numbers, other sockets.
	blueSSH := tcp(v4, sockscope.Listen, "0.0.0.0:22", "")
	blueSSH.NetNS, blueSSH.Holders, blueSSH.Inode = blue, h(sshd, 3), 4001
	blueDNS := &sockscope.Socket{Proto: sockscope.UDP, Family: v6, Type: sockscope.SockDgram, State: sockscope.Close,
		Local: ap("[::]:53"), Remote: ap("[::]:0"), V6Only: sockscope.Yes, Inode: 4002, NetNS: blue}
	blueOut := tcp(v4, sockscope.Established, "10.1.0.2:33000", "10.1.0.1:22")
	blueOut.NetNS, blueOut.Inode = blue, 4003
	blueUnix := &sockscope.Socket{Proto: sockscope.Unix, Family: sockscope.FamilyUnix, Type: sockscope.SockSeqpacket, State: sockscope.Listen,
		Path: "/run/ctl", Inode: 4004, NetNS: blue}
	blueUnnamed := &sockscope.Socket{Proto: sockscope.Unix, Family: sockscope.FamilyUnix, Type: sockscope.SockDgram, State: sockscope.Close, Inode: 4005, NetNS: blue}
	snap := &sockscope.Snapshot{
		NetNS: []*sockscope.NetNS{host, blue},
		Sockets: []*sockscope.Socket{
			// host, in snapshot order: tcp by port, udp, raw, unix by path.
			sshV4, sshV6, est1, est2, tw, web, dev, bound, mapped, unknown, out1, out2, out3,
			udpDNS, udpOut, raw, unixC, unixL, unixA, unixD, unixOrphan,
			blueSSH, blueOut, blueDNS, blueUnnamed, blueUnix,
		},
		Warnings: []sockscope.Warning{
			{Kind: "permission", Count: 3, Msg: "holders of 3 sockets are hidden: process 666 is not readable"},
			{Kind: "netns", Count: 1, Msg: "namespace \"evil\x1b]0;title\x07\" could not be entered"},
		},
	}
	for _, s := range snap.Sockets {
		s.HoldersScanned = true // a snapshot taken with the holder scan
	}
	return snap
}

// onlyNS keeps the sockets of the first namespace: a one-namespace snapshot.
func onlyNS(snap *sockscope.Snapshot) *sockscope.Snapshot {
	out := *snap
	out.NetNS = snap.NetNS[:1]
	out.Sockets = nil
	for _, s := range snap.Sockets {
		if s.NetNS == snap.NetNS[0] {
			out.Sockets = append(out.Sockets, s)
		}
	}
	return &out
}

// portSockets keeps the inet sockets whose local port is num.
func portSockets(snap *sockscope.Snapshot, num uint16) *sockscope.Snapshot {
	out := *snap
	out.Sockets = nil
	for _, s := range snap.Sockets {
		if s.Proto.HasPorts() && s.Local.Port() == num {
			out.Sockets = append(out.Sockets, s)
		}
	}
	return &out
}

func TestGoldenPorts(t *testing.T) {
	one := onlyNS(goldenSnapshot())
	for _, c := range []struct {
		name string
		snap *sockscope.Snapshot
		st   Style
	}{
		{"ports_tty", one, Style{TTY: true}},
		{"ports_tty_color", one, Style{TTY: true, Color: true}},
		{"ports_tty_numeric", one, Style{TTY: true, Numeric: true}},
		{"ports_pipe", one, Style{}},
		{"ports_pipe_numeric", one, Style{Numeric: true}},
		{"ports_multins_tty", goldenSnapshot(), Style{TTY: true}},
		{"ports_multins_pipe", goldenSnapshot(), Style{}},
		{"ports_empty_tty", &sockscope.Snapshot{}, Style{TTY: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WritePorts(&b, views.BuildPorts(c.snap, goldenServices), c.st); err != nil {
				t.Fatal(err)
			}
			checkTerminalText(t, b.Bytes(), c.st.Color)
			golden(t, c.name, b.Bytes())
		})
	}
}

// checkTerminalText fails on any control byte other than newline and tab,
// and on escape sequences other than the SGR colours when colour is on:
// hostile strings must have been escaped.
func checkTerminalText(t *testing.T, out []byte, color bool) {
	t.Helper()
	s := string(out)
	if color {
		for _, c := range sgr {
			s = strings.ReplaceAll(s, c, "")
		}
		s = strings.ReplaceAll(s, reset, "")
	}
	for i, r := range s {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || r == '\u202e' {
			t.Fatalf("raw control character %U at byte %d in:\n%s", r, i, out)
		}
	}
}

func TestGoldenPort(t *testing.T) {
	snap := goldenSnapshot()
	for _, c := range []struct {
		name string
		num  uint16
		st   Style
	}{
		{"port22_tty", 22, Style{TTY: true, NetNS: true}},
		{"port22_pipe", 22, Style{}},
		{"port7000_tty", 7000, Style{TTY: true}},
		{"port7000_pipe", 7000, Style{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := c.st
			st.Services = goldenServices
			p := portSockets(snap, c.num)
			explain := []string{"A sentence about the port with a hostile \x1b[31mname\x1b[0m."}
			var b bytes.Buffer
			if err := WritePort(&b, explain, views.BuildPorts(p, goldenServices), p.Sockets, st); err != nil {
				t.Fatal(err)
			}
			checkTerminalText(t, b.Bytes(), false)
			golden(t, c.name, b.Bytes())
			// Inside a port's view the port is never a service name
			// (issue 9: "port 7000 prints 127.0.0.1:bbs").
			if svc := goldenServices(c.num, "tcp"); strings.Contains(b.String(), ":"+svc) {
				t.Errorf("the view of port %d names its endpoints %q:\n%s", c.num, ":"+svc, b.String())
			}
		})
	}
}

func TestGoldenSockets(t *testing.T) {
	snap := goldenSnapshot()
	for _, c := range []struct {
		name string
		st   Style
	}{
		{"ls_tty", Style{TTY: true}},
		{"ls_tty_color_all", Style{TTY: true, Color: true, Processes: true, Extended: true, NetNS: true}},
		{"ls_pipe", Style{Processes: true, NetNS: true}},
		{"ls_pipe_numeric", Style{Numeric: true, Extended: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := c.st
			st.Services = goldenServices
			var b bytes.Buffer
			if err := WriteSockets(&b, snap.Sockets, st); err != nil {
				t.Fatal(err)
			}
			checkTerminalText(t, b.Bytes(), st.Color)
			golden(t, c.name, b.Bytes())
		})
	}
}

func TestGoldenJSON(t *testing.T) {
	snap := goldenSnapshot()
	var b bytes.Buffer
	if err := WritePortsJSON(&b, views.BuildPorts(snap, goldenServices)); err != nil {
		t.Fatal(err)
	}
	golden(t, "ports.json", b.Bytes())
	b.Reset()
	if err := WritePortsJSON(&b, views.BuildPorts(&sockscope.Snapshot{}, nil)); err != nil {
		t.Fatal(err)
	}
	golden(t, "ports_empty.json", b.Bytes())
	b.Reset()
	if err := WriteSocketsJSON(&b, snap.Sockets, snap.Warnings); err != nil {
		t.Fatal(err)
	}
	golden(t, "ls.json", b.Bytes())
	b.Reset()
	if err := WriteSocketsNDJSON(&b, snap.Sockets); err != nil {
		t.Fatal(err)
	}
	golden(t, "ls.ndjson", b.Bytes())
}

// TestPortsJSONDocument reads the ports document back and checks it against
// the view it came from: every listener with its stack label, netns one
// type (an object) in ports and outbound, counts in order.
func TestPortsJSONDocument(t *testing.T) {
	snap := goldenSnapshot()
	v := views.BuildPorts(snap, goldenServices)
	var b bytes.Buffer
	if err := WritePortsJSON(&b, v); err != nil {
		t.Fatal(err)
	}
	type netns struct {
		Inode uint64 `json:"inode"`
		Name  string `json:"name"`
	}
	var doc struct {
		Version int `json:"version"`
		Ports   []struct {
			Proto     string `json:"proto"`
			Port      uint16 `json:"port"`
			Service   string `json:"service"`
			NetNS     netns  `json:"netns"`
			Listeners []struct {
				Local string `json:"local"`
				Stack string `json:"stack"`
				Inode uint64 `json:"inode"`
			} `json:"listeners"`
			Sockets int             `json:"sockets"`
			States  json.RawMessage `json:"states"`
		} `json:"ports"`
		Outbound []struct {
			NetNS   netns `json:"netns"`
			Sockets int   `json:"sockets"`
		} `json:"outbound"`
		Unix []struct {
			Path      string `json:"path"`
			Listeners []struct {
				Stack *string `json:"stack"`
			} `json:"listeners"`
		} `json:"unix"`
		Other    map[string]int `json:"other"`
		Warnings []struct {
			Kind string `json:"kind"`
		} `json:"warnings"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("invalid document: %v\n%s", err, b.String())
	}
	if doc.Version != SchemaVersion {
		t.Errorf("version %d, want %d", doc.Version, SchemaVersion)
	}
	if len(doc.Ports) != len(v.Blocks) {
		t.Fatalf("%d ports, want %d", len(doc.Ports), len(v.Blocks))
	}
	for i, p := range doc.Ports {
		blk := v.Blocks[i]
		if p.Port != blk.Port.Num || p.Proto != blk.Port.Proto.String() || p.NetNS.Inode != blk.NetNS.Inode || p.Sockets != len(blk.Sockets) {
			t.Errorf("port %d: %+v, want %v in %d with %d sockets", i, p, blk.Port, blk.NetNS.Inode, len(blk.Sockets))
		}
		for j, l := range p.Listeners {
			s := blk.Listeners[j]
			if l.Inode != s.Inode || l.Stack != views.StackOf(s).String() || l.Stack == "" {
				t.Errorf("%v listener %d: inode %d stack %q, want %d %q", blk.Port, j, l.Inode, l.Stack, s.Inode, views.StackOf(s))
			}
		}
		var keys []string
		dec := json.NewDecoder(bytes.NewReader(p.States))
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			if k, ok := tok.(string); ok {
				keys = append(keys, k)
			}
		}
		var want []string
		for _, c := range blk.States {
			want = append(want, c.Label)
		}
		if !cmp.Equal(keys, want) {
			t.Errorf("%v states in order %q, want %q", blk.Port, keys, want)
		}
	}
	for i, o := range doc.Outbound {
		if o.NetNS.Inode != v.Ephemeral[i].NetNS.Inode || o.NetNS.Name != v.Ephemeral[i].NetNS.Name {
			t.Errorf("outbound %d netns %+v, want %+v", i, o.NetNS, v.Ephemeral[i].NetNS)
		}
	}
	for _, u := range doc.Unix {
		for _, l := range u.Listeners {
			if l.Stack != nil {
				t.Errorf("unix listener of %q has a stack %q", u.Path, *l.Stack)
			}
		}
	}
	if doc.Other["unnamed unix"] != 2 || doc.Other["raw"] != 1 {
		t.Errorf("other = %v, want 2 unnamed unix (a connected client and one in blue) and 1 raw", doc.Other)
	}
	if len(doc.Warnings) != 2 {
		t.Errorf("%d warnings, want 2", len(doc.Warnings))
	}
	// HTML-significant characters stay as the socket fast path writes them.
	if bytes.Contains(b.Bytes(), []byte(`\u003c`)) || bytes.Contains(b.Bytes(), []byte(`\u0026`)) {
		t.Errorf("the document escapes HTML characters")
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errBroken }

var errBroken = errors.New("broken pipe")

func TestWritersReportWriteErrors(t *testing.T) {
	snap := goldenSnapshot()
	v := views.BuildPorts(snap, goldenServices)
	for name, f := range map[string]func() error{
		"WritePorts tty":     func() error { return WritePorts(failWriter{}, v, Style{TTY: true}) },
		"WritePorts pipe":    func() error { return WritePorts(failWriter{}, v, Style{}) },
		"WritePort tty":      func() error { return WritePort(failWriter{}, []string{"x"}, v, snap.Sockets, Style{TTY: true}) },
		"WritePort pipe":     func() error { return WritePort(failWriter{}, nil, v, snap.Sockets, Style{}) },
		"WritePortsJSON":     func() error { return WritePortsJSON(failWriter{}, v) },
		"WriteSockets tty":   func() error { return WriteSockets(failWriter{}, snap.Sockets, Style{TTY: true}) },
		"WriteSockets pipe":  func() error { return WriteSockets(failWriter{}, snap.Sockets, Style{}) },
		"WriteSocketsJSON":   func() error { return WriteSocketsJSON(failWriter{}, snap.Sockets, nil) },
		"WriteSocketsNDJSON": func() error { return WriteSocketsNDJSON(failWriter{}, snap.Sockets) },
	} {
		if err := f(); !errors.Is(err, errBroken) {
			t.Errorf("%s: error %v, want the writer's", name, err)
		}
	}
}
