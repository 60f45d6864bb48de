package render

// Golden tests of the renderers of the smaller commands: summary, kill,
// the packet/netlink/MPTCP tables, version, watch --destroyed lines and
// the watch screen's ages and filter error. Inputs are fixed and built by
// hand; every text field that comes from the system (process names,
// namespace names, interface names) carries escape sequences and U+202E.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/internal/buildinfo"
)

// evilText is appended to untrusted names: a colour change, a screen clear
// and a right-to-left override.
const evilText = "\x1b[31m\x1b[2J\u202e"

// goldenSummary is two namespaces: the host with counters that add up
// (sockstat and the dump agree), and a evilText-named one whose counters
// could not be read and which listed nothing.
func goldenSummary() *sockscope.Summary {
	host := &sockscope.NetNS{Inode: 4026531840, Name: "host"}
	blue := &sockscope.NetNS{Inode: 4026532999, Name: "blue" + evilText}
	sshd := &sockscope.Process{PID: 812, Comm: "sshd", User: "root"}
	evil := &sockscope.Process{PID: 666, Comm: "ev" + evilText + "il\n", User: "nobody", UID: 65534}
	hostSum := &sockscope.NetNSSummary{
		NetNS: host,
		SockStat: sockscope.SockStat{
			"sockets": {"used": 120},
			"tcp":     {"inuse": 5, "orphan": 1, "tw": 1, "alloc": 9, "mem": 3},
			"udp":     {"inuse": 2, "mem": 1},
			"raw":     {"inuse": 1},
			"frag":    {"inuse": 0, "memory": 0},
			"tcp6":    {"inuse": 2},
			"udp6":    {"inuse": 1},
			"raw6":    {"inuse": 0},
		},
		TCPEstab: 3,
		Sockets:  15,
		Counts: []sockscope.ProtoCount{
			{Proto: sockscope.TCP, Family: sockscope.FamilyInet, Total: 6,
				States: map[sockscope.State]int{sockscope.Established: 3, sockscope.Listen: 2, sockscope.TimeWait: 1}},
			{Proto: sockscope.TCP, Family: sockscope.FamilyInet6, Total: 2, States: map[sockscope.State]int{sockscope.Listen: 2}},
			{Proto: sockscope.UDP, Family: sockscope.FamilyInet, Total: 2, States: map[sockscope.State]int{sockscope.Close: 2}},
			{Proto: sockscope.UDP, Family: sockscope.FamilyInet6, Total: 1, States: map[sockscope.State]int{sockscope.Close: 1}},
			{Proto: sockscope.Raw, Family: sockscope.FamilyInet, Total: 1, States: map[sockscope.State]int{sockscope.Close: 1}},
			{Proto: sockscope.Unix, Family: sockscope.FamilyUnix, Total: 3,
				States: map[sockscope.State]int{sockscope.Listen: 1, sockscope.Established: 2}},
		},
		Ports: []sockscope.PortCount{
			{Port: sockscope.Port{Proto: sockscope.TCP, Num: 22}, Sockets: 4, Listeners: 2, Established: 2},
			{Port: sockscope.Port{Proto: sockscope.TCP, Num: 80}, Sockets: 2, Listeners: 2},
			{Port: sockscope.Port{Proto: sockscope.UDP, Num: 53}, Sockets: 1, Listeners: 1},
			{Port: sockscope.Port{Proto: sockscope.TCP, Num: 5000}, Sockets: 1, Established: 1},
		},
		Processes: []sockscope.ProcessCount{{Proc: sshd, Sockets: 4}, {Proc: evil, Sockets: 2}},
	}
	blueSum := &sockscope.NetNSSummary{NetNS: blue, TCPEstab: -1}
	return &sockscope.Summary{
		NetNS:    []*sockscope.NetNSSummary{hostSum, blueSum},
		Warnings: []sockscope.Warning{{Kind: "netns", Count: 1, Msg: "the counters of namespace \"blue" + evilText + "\" could not be read"}},
	}
}

func TestGoldenSummary(t *testing.T) {
	sum := goldenSummary()
	one := &sockscope.Summary{NetNS: sum.NetNS[:1]}
	for _, c := range []struct {
		name string
		sum  *sockscope.Summary
		st   Style
	}{
		{"summary_tty", one, Style{TTY: true, Services: goldenServices}},
		{"summary_tty_numeric_netns", one, Style{TTY: true, Numeric: true, NetNS: true, Services: goldenServices}},
		{"summary_multins", sum, Style{Services: goldenServices}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteSummary(&b, c.sum, c.st); err != nil {
				t.Fatal(err)
			}
			checkTerminalText(t, b.Bytes(), false)
			golden(t, c.name, b.Bytes())
			out := b.String()
			// ss -s's lines, computed from the counters above.
			for _, want := range []string{
				"Total: 120\n",
				"TCP:   10 (estab 3, closed 3, orphaned 1, timewait 1)\n",
				"INET      11        8         3        \n",
				"Sockets listed: 15\n",
				"tcp      ipv4        6  ESTAB 3, TIME-WAIT 1, LISTEN 2\n", // state-number order
			} {
				if !strings.Contains(out, want) {
					t.Errorf("no %q in:\n%s", want, out)
				}
			}
			if hasSvc := strings.Contains(out, "tcp/ssh"); hasSvc == c.st.Numeric {
				t.Errorf("numeric %v, but port 22 named ssh: %v", c.st.Numeric, hasSvc)
			}
			if title := strings.Contains(out, "== netns host (4026531840) =="); title != (len(c.sum.NetNS) > 1 || c.st.NetNS) {
				t.Errorf("namespace title shown: %v:\n%s", title, out)
			}
		})
	}
}

func TestGoldenSummaryJSON(t *testing.T) {
	sum := goldenSummary()
	var b bytes.Buffer
	if err := WriteSummaryJSON(&b, sum); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.json", b.Bytes())
	var doc struct {
		Version int `json:"version"`
		NetNS   []struct {
			NetNS *struct {
				Inode uint64 `json:"inode"`
				Name  string `json:"name"`
			} `json:"netns"`
			SockStat map[string]map[string]int64 `json:"sockstat"`
			SS       *struct {
				Total     int64 `json:"total"`
				TCPTotal  int64 `json:"tcp_total"`
				TCPClosed int64 `json:"tcp_closed"`
				Transport map[string]struct {
					Total, IPv4, IPv6 int64
				} `json:"transport"`
			} `json:"ss"`
			Sockets   int `json:"sockets"`
			Protocols []struct {
				Proto  string          `json:"proto"`
				Family string          `json:"family"`
				Total  int             `json:"total"`
				States json.RawMessage `json:"states"`
			} `json:"protocols"`
			Ports []struct {
				Proto string `json:"proto"`
				Port  uint16 `json:"port"`
			} `json:"busiest_ports"`
			Processes []struct {
				PID  int    `json:"pid"`
				Comm string `json:"comm"`
			} `json:"busiest_processes"`
		} `json:"netns"`
		Warnings []struct {
			Msg string `json:"message"`
		} `json:"warnings"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("invalid document: %v\n%s", err, b.String())
	}
	if doc.Version != SchemaVersion || len(doc.NetNS) != 2 || len(doc.Warnings) != 1 {
		t.Fatalf("version %d, %d namespaces, %d warnings; want %d, 2, 1", doc.Version, len(doc.NetNS), len(doc.Warnings), SchemaVersion)
	}
	h, blue := doc.NetNS[0], doc.NetNS[1]
	if h.SS == nil || h.SS.Total != 120 || h.SS.TCPTotal != 10 || h.SS.TCPClosed != 3 {
		t.Errorf("host ss = %+v, want total 120, tcp_total 10, tcp_closed 3", h.SS)
	}
	if in := h.SS.Transport["inet"]; in.Total != 11 || in.IPv4 != 8 || in.IPv6 != 3 {
		t.Errorf("inet row %+v, want 11 = 8 + 3", in)
	}
	if h.SockStat["tcp"]["alloc"] != 9 {
		t.Errorf("sockstat tcp alloc %d, want 9", h.SockStat["tcp"]["alloc"])
	}
	total := 0
	for _, p := range h.Protocols {
		total += p.Total
	}
	if total != h.Sockets || h.Protocols[0].Family != "ipv4" || string(h.Protocols[0].States) != `{"ESTAB":3,"TIME-WAIT":1,"LISTEN":2}` {
		t.Errorf("protocols %+v (sum %d), want the sum %d and states in state order", h.Protocols, total, h.Sockets)
	}
	if len(h.Ports) != 4 || h.Ports[2].Proto != "udp" || h.Ports[2].Port != 53 {
		t.Errorf("ports %+v", h.Ports)
	}
	// JSON carries the exact bytes of names; only terminals see escapes.
	if len(h.Processes) != 2 || h.Processes[1].Comm != "ev"+evilText+"il\n" {
		t.Errorf("processes %+v", h.Processes)
	}
	if blue.SS != nil || blue.SockStat != nil || blue.NetNS.Name != "blue"+evilText || blue.Protocols == nil || len(blue.Protocols) != 0 {
		t.Errorf("unreadable namespace: %+v, want ss and sockstat null, the raw name, empty lists", blue)
	}
}

// goldenKill is a kill of an established TCP socket that failed with
// EPERM, a v6 listener that closed, a Unix socket the kernel cannot
// destroy, and a socket with a evilText scoped address.
func goldenKill() []sockscope.DestroyResult {
	est := &sockscope.Socket{Proto: sockscope.TCP, Family: sockscope.FamilyInet, State: sockscope.Established,
		Local: ap("10.0.0.5:22"), Remote: ap("198.51.100.7:51000"), Cookie: 501, Inode: 1003}
	lis := &sockscope.Socket{Proto: sockscope.TCP, Family: sockscope.FamilyInet6, State: sockscope.Listen,
		Local: ap("[::]:8080"), Remote: ap("[::]:0"), V6Only: sockscope.Yes, Cookie: 502, Inode: 1004}
	unix := &sockscope.Socket{Proto: sockscope.Unix, Family: sockscope.FamilyUnix, Type: sockscope.SockStream, State: sockscope.Listen,
		Path: "/run/app" + evilText + ".sock", Inode: 2001}
	zoned := &sockscope.Socket{Proto: sockscope.UDP, Family: sockscope.FamilyInet6, State: sockscope.Close,
		Local: ap("[fe80::1%eth" + evilText + "]:546"), Remote: ap("[::]:0"), Cookie: 503, Inode: 1005}
	return []sockscope.DestroyResult{
		{Socket: est, Err: fmt.Errorf("destroy: %w", syscall.EPERM)},
		{Socket: lis},
		{Socket: unix, Err: sockscope.ErrCannotDestroy},
		{Socket: zoned, Err: fmt.Errorf("socket gone\x1b[2J: %w", syscall.ENOENT)},
	}
}

func TestGoldenKill(t *testing.T) {
	res := goldenKill()
	for _, c := range []struct {
		name string
		rep  KillReport
		st   Style
	}{
		{"kill_tty", KillReport{Results: res}, Style{TTY: true}},
		{"kill_tty_color", KillReport{Results: res}, Style{TTY: true, Color: true}},
		{"kill_pipe", KillReport{Results: res}, Style{}},
		{"kill_dryrun_tty", KillReport{DryRun: true, Results: []sockscope.DestroyResult{{Socket: res[0].Socket}, {Socket: res[2].Socket}}}, Style{TTY: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteKill(&b, c.rep, c.st); err != nil {
				t.Fatal(err)
			}
			checkTerminalText(t, b.Bytes(), c.st.Color)
			golden(t, c.name, b.Bytes())
			if !c.rep.DryRun && !strings.Contains(b.String(), "EPERM: destroy: operation not permitted") {
				t.Errorf("no errno in:\n%s", b.String())
			}
		})
	}
}

func TestGoldenKillJSON(t *testing.T) {
	for _, dry := range []bool{false, true} {
		name := "kill.json"
		if dry {
			name = "kill_dryrun.json"
		}
		rep := KillReport{DryRun: dry, Results: goldenKill()}
		if dry {
			for i := range rep.Results {
				rep.Results[i].Err = nil
			}
		}
		var b bytes.Buffer
		if err := WriteKillJSON(&b, rep); err != nil {
			t.Fatal(err)
		}
		golden(t, name, b.Bytes())
		var doc struct {
			Version int  `json:"version"`
			DryRun  bool `json:"dry_run"`
			Results []struct {
				Socket struct {
					Cookie uint64 `json:"cookie"`
					Path   string `json:"path"`
				} `json:"socket"`
				Closed bool    `json:"closed"`
				Errno  *string `json:"errno"`
				Error  *string `json:"error"`
			} `json:"results"`
		}
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatalf("invalid document: %v\n%s", err, b.String())
		}
		if doc.DryRun != dry || len(doc.Results) != 4 {
			t.Fatalf("dry_run %v with %d results, want %v and 4", doc.DryRun, len(doc.Results), dry)
		}
		r := doc.Results
		if dry {
			for i, x := range r {
				if x.Closed || x.Errno != nil || x.Error != nil {
					t.Errorf("dry run result %d: %+v, want not closed, no error", i, x)
				}
			}
			continue
		}
		if r[0].Closed || r[0].Errno == nil || *r[0].Errno != "EPERM" || r[0].Socket.Cookie != 501 {
			t.Errorf("result 0: %+v, want EPERM for cookie 501", r[0])
		}
		if !r[1].Closed || r[1].Errno != nil || r[1].Error != nil {
			t.Errorf("result 1: %+v, want closed", r[1])
		}
		if r[2].Closed || r[2].Errno != nil || r[2].Error == nil || *r[2].Error != sockscope.ErrCannotDestroy.Error() || r[2].Socket.Path != "/run/app"+evilText+".sock" {
			t.Errorf("result 2: %+v, want the Unix socket's error without an errno", r[2])
		}
	}
}

// goldenExtra has a packet socket of each kind (every device, a named
// device with a evilText name, a device gone), netlink sockets (the
// kernel's, a process's with groups and a peer), and MPTCP sockets (a
// listener and a connection with two subflows), in two namespaces.
func goldenExtra() *sockscope.ExtraSnapshot {
	host := &sockscope.NetNS{Inode: 4026531840, Name: "host"}
	blue := &sockscope.NetNS{Inode: 4026532999, Name: "blue" + evilText, Container: "web" + evilText}
	dhcp := &sockscope.Process{PID: 400, Comm: "dhclient", User: "root"}
	evil := &sockscope.Process{PID: 666, Comm: "ev" + evilText + "il", User: "nobody", UID: 65534}
	h := func(p *sockscope.Process, fd int) []sockscope.Holder { return []sockscope.Holder{{Proc: p, FD: fd}} }
	return &sockscope.ExtraSnapshot{
		NetNS: []*sockscope.NetNS{host, blue},
		Packet: []*sockscope.PacketSocket{
			{Cookie: 11, Inode: 5001, Type: sockscope.SockRaw, Protocol: 0x0003, Running: true, Holders: h(evil, 3), HoldersScanned: true, NetNS: host},
			{Cookie: 12, Inode: 5002, Type: sockscope.SockDgram, Protocol: 0x0800, Interface: 3, InterfaceName: "eth" + evilText + "0",
				Running: true, Holders: h(dhcp, 5), HoldersScanned: true, NetNS: host},
			{Cookie: 13, Inode: 5003, Type: sockscope.SockRaw, Protocol: 0x1234, Interface: 7, UID: 1000, HoldersScanned: true, HoldersHidden: true, NetNS: blue},
		},
		Netlink: []*sockscope.NetlinkSocket{
			{Cookie: 21, Inode: 6001, Type: sockscope.SockRaw, Protocol: 0, HoldersScanned: true, NetNS: host},
			{Cookie: 22, Inode: 6002, Type: sockscope.SockRaw, Protocol: 0, PortID: 400, Groups: []uint32{1, 5}, Holders: h(dhcp, 6), HoldersScanned: true, NetNS: host},
			{Cookie: 23, Inode: 6003, Type: sockscope.SockDgram, Protocol: 15, PortID: 4242, DstPortID: 0, DstGroup: 1, HoldersScanned: true, NetNS: blue},
			{Cookie: 24, Inode: 6004, Type: sockscope.SockRaw, Protocol: 200, PortID: 77, DstPortID: 88, HoldersScanned: true, NetNS: blue},
		},
		MPTCP: []*sockscope.MPTCPSocket{
			{Cookie: 31, Inode: 7001, Family: sockscope.FamilyInet, State: sockscope.Listen, Local: ap("0.0.0.0:8080"), Remote: ap("0.0.0.0:0"),
				SendQ: 128, Holders: h(evil, 9), HoldersScanned: true, NetNS: host},
			{Cookie: 32, Inode: 7002, Family: sockscope.FamilyInet, State: sockscope.Established, Local: ap("10.0.0.5:41000"), Remote: ap("10.0.0.9:8080"),
				RecvQ: 10, UID: 1000, Token: 0xdeadbeef, HasToken: true, HoldersScanned: true, NetNS: host,
				Subflows: []sockscope.MPTCPSubflow{
					{Cookie: 41, Family: sockscope.FamilyInet, State: sockscope.Established, Local: ap("10.0.0.5:41000"), Remote: ap("10.0.0.9:8080")},
					{Cookie: 42, Family: sockscope.FamilyInet, State: sockscope.SynSent, Local: ap("10.0.1.5:41001"), Remote: ap("10.0.0.9:8080")},
				}},
		},
		Notes:    []sockscope.FamilyNote{{Family: sockscope.ExtraSCTP, Msg: "the kernel has no sctp_diag" + evilText}},
		Warnings: []sockscope.Warning{{Kind: "permission", Count: 1, Msg: "holders of 1 socket are hidden"}},
	}
}

var allExtra = []sockscope.ExtraFamily{sockscope.ExtraPacket, sockscope.ExtraNetlink, sockscope.ExtraMPTCP, sockscope.ExtraSCTP}

func TestGoldenExtra(t *testing.T) {
	snap := goldenExtra()
	// Only notes: the packet family missing its module prints no table;
	// netlink with no socket but no note prints its header.
	notes := &sockscope.ExtraSnapshot{Notes: []sockscope.FamilyNote{{Family: sockscope.ExtraPacket, Msg: "no packet_diag"}}}
	for _, c := range []struct {
		name string
		snap *sockscope.ExtraSnapshot
		want []sockscope.ExtraFamily
		st   Style
	}{
		{"extra_tty", snap, allExtra, Style{TTY: true}},
		{"extra_tty_color_all", snap, allExtra, Style{TTY: true, Color: true, NetNS: true, Processes: true}},
		{"extra_pipe_all", snap, allExtra, Style{NetNS: true, Processes: true}},
		{"extra_tty_noheader_order", snap, []sockscope.ExtraFamily{sockscope.ExtraMPTCP, sockscope.ExtraPacket}, Style{TTY: true, NoHeader: true, Processes: true}},
		{"extra_notes_tty", notes, []sockscope.ExtraFamily{sockscope.ExtraPacket, sockscope.ExtraNetlink}, Style{TTY: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteExtra(&b, c.snap, c.want, c.st); err != nil {
				t.Fatal(err)
			}
			checkTerminalText(t, b.Bytes(), c.st.Color)
			golden(t, c.name, b.Bytes())
			out := b.String()
			if c.snap == snap && !strings.Contains(out, "eth\\x1b[31m\\x1b[2J\\u202e0") {
				t.Errorf("the interface name is not escaped once:\n%s", out)
			}
			if c.st.NetNS && !strings.Contains(out, "blue\\x1b[31m\\x1b[2J\\u202e/web\\x1b[31m\\x1b[2J\\u202e") {
				t.Errorf("the namespace name is not escaped once:\n%s", out)
			}
		})
	}
}

func TestGoldenExtraJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteExtraJSON(&b, goldenExtra(), allExtra); err != nil {
		t.Fatal(err)
	}
	golden(t, "extra.json", b.Bytes())
	var doc struct {
		Version int `json:"version"`
		Packet  []struct {
			Type         string `json:"type"`
			ProtocolName string `json:"protocol_name"`
			Ifindex      uint32 `json:"ifindex"`
			Interface    string `json:"interface"`
			Cookie       uint64 `json:"cookie"`
			NetNS        struct {
				Name string `json:"name"`
			} `json:"netns"`
			Holders []struct {
				PID  int    `json:"pid"`
				Comm string `json:"comm"`
			} `json:"holders"`
		} `json:"packet"`
		Netlink []struct {
			ProtocolName string   `json:"protocol_name"`
			PortID       uint32   `json:"port_id"`
			Groups       []uint32 `json:"groups"`
		} `json:"netlink"`
		MPTCP []struct {
			State    string  `json:"state"`
			Token    *uint32 `json:"token"`
			Subflows []struct {
				State  string `json:"state"`
				Cookie uint64 `json:"cookie"`
			} `json:"subflows"`
		} `json:"mptcp"`
		Notes []struct {
			Family string `json:"family"`
		} `json:"unavailable"`
		Warnings []json.RawMessage `json:"warnings"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("invalid document: %v\n%s", err, b.String())
	}
	if len(doc.Packet) != 3 || len(doc.Netlink) != 4 || len(doc.MPTCP) != 2 || len(doc.Notes) != 1 || len(doc.Warnings) != 1 {
		t.Fatalf("%d packet, %d netlink, %d mptcp, %d notes, %d warnings; want 3, 4, 2, 1, 1",
			len(doc.Packet), len(doc.Netlink), len(doc.MPTCP), len(doc.Notes), len(doc.Warnings))
	}
	if p := doc.Packet[1]; p.Interface != "eth"+evilText+"0" || p.Ifindex != 3 || p.ProtocolName != "ip" || len(p.Holders) != 1 || p.Holders[0].PID != 400 {
		t.Errorf("packet 1: %+v", p)
	}
	if p := doc.Packet[2]; p.NetNS.Name != "blue"+evilText || p.Holders == nil || len(p.Holders) != 0 {
		t.Errorf("packet 2: %+v, want the raw namespace name and no holders", p)
	}
	if n := doc.Netlink[0]; n.Groups == nil || len(n.Groups) != 0 || n.PortID != 0 {
		t.Errorf("netlink 0: %+v, want groups [] and port 0", n)
	}
	if m := doc.MPTCP[1]; m.Token == nil || *m.Token != 0xdeadbeef || len(m.Subflows) != 2 || m.Subflows[1].State != "SYN-SENT" || m.Subflows[1].Cookie != 42 {
		t.Errorf("mptcp 1: %+v", m)
	}
	if doc.MPTCP[0].Token != nil {
		t.Errorf("the listener has a token %d, want null", *doc.MPTCP[0].Token)
	}
	// Only the families asked for have keys.
	b.Reset()
	if err := WriteExtraJSON(&b, goldenExtra(), []sockscope.ExtraFamily{sockscope.ExtraNetlink}); err != nil {
		t.Fatal(err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b.Bytes(), &keys); err != nil {
		t.Fatal(err)
	}
	if _, ok := keys["packet"]; ok || keys["netlink"] == nil {
		t.Errorf("netlink only: keys %v", keys)
	}
}

func TestGoldenVersion(t *testing.T) {
	info := buildinfo.Info{Version: "v1.2.3" + evilText, Commit: "0123456789abcdef0123456789abcdef01234567", GoVersion: "go1.26.0", Platform: "linux/amd64", Dirty: true}
	var b bytes.Buffer
	if err := WriteVersion(&b, info); err != nil {
		t.Fatal(err)
	}
	checkTerminalText(t, b.Bytes(), false)
	golden(t, "version", b.Bytes())
	if !strings.Contains(b.String(), "built:      unknown\n") {
		t.Errorf("an empty date is not unknown:\n%s", b.String())
	}
	b.Reset()
	if err := WriteVersionJSON(&b, info); err != nil {
		t.Fatal(err)
	}
	golden(t, "version.json", b.Bytes())
	var doc struct {
		Version int    `json:"version"`
		Release string `json:"release"`
		Date    string `json:"build_date"`
		Dirty   bool   `json:"dirty"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("invalid document: %v\n%s", err, b.String())
	}
	if doc.Version != SchemaVersion || doc.Release != info.Version || doc.Date != "" || !doc.Dirty {
		t.Errorf("version document %+v", doc)
	}
	if bytes.Count(b.Bytes(), []byte("\n")) != 1 {
		t.Errorf("not one line: %q", b.String())
	}
}

func TestGoldenDestroyedLines(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 34, 56, 789e6, time.Local)
	socks := []*sockscope.Socket{
		{Proto: sockscope.TCP, Family: sockscope.FamilyInet, State: sockscope.Close, Local: ap("10.0.0.5:41000"), Remote: ap("93.184.216.34:443"), Cookie: 1001},
		{Proto: sockscope.UDP, Family: sockscope.FamilyInet6, State: sockscope.Close, Local: ap("[fe80::1%eth" + evilText + "]:546"), Remote: ap("[::]:0"), Cookie: 1002},
	}
	for _, c := range []struct {
		name string
		st   Style
	}{{"destroyed_tty", Style{TTY: true}}, {"destroyed_pipe", Style{}}} {
		t.Run(c.name, func(t *testing.T) {
			var b []byte
			if c.st.TTY {
				b = append(b, DestroyedHeader...)
			}
			for _, s := range socks {
				b = AppendDestroyedLine(b, at, s, c.st)
			}
			checkTerminalText(t, b, false)
			golden(t, c.name, b)
			lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			if c.st.TTY {
				// The columns start where the header's do.
				if i := strings.Index(lines[0], "COOKIE"); !strings.HasSuffix(lines[1][:i+4], "1001") {
					t.Errorf("cookie not under COOKIE:\n%s", b)
				}
			} else if f := strings.Split(lines[1], "\t"); len(f) != 5 || f[0] != "12:34:56.789" || f[4] != "1002" {
				t.Errorf("record %q, want 5 fields", lines[1])
			}
		})
	}
}

func TestTableBelow(t *testing.T) {
	for _, tty := range []bool{true, false} {
		var b bytes.Buffer
		tb := NewTable(&b, tty, false, "A", "B")
		tb.Below("ignored: no row yet")
		tb.Row(Cell{Text: "x"}, Cell{Text: "yy"})
		tb.Below("under x")
		tb.Row(Cell{Text: "long one"}, Cell{Text: "z"})
		if err := tb.Flush(); err != nil {
			t.Fatal(err)
		}
		want := "A         B\nx         yy\n\t under x\nlong one  z\n" // ss -i indents with a tab and a space
		if !tty {
			want = "\tignored: no row yet\nx\tyy\n\tunder x\nlong one\tz\n"
		}
		if b.String() != want {
			t.Errorf("tty %v:\n%q\nwant\n%q", tty, b.String(), want)
		}
	}
	// A failed write stops the table.
	tb := NewTable(failWriter{}, false, false)
	tb.Row(Cell{Text: "x"})
	tb.Below("y")
	tb.Below("z")
	if err := tb.Flush(); err == nil {
		t.Error("a failed write was not reported")
	}
}

func TestGoldenWatchScreenAgesAndError(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	mk := func(port uint16) *sockscope.Socket {
		return &sockscope.Socket{Proto: sockscope.TCP, Family: sockscope.FamilyInet, State: sockscope.Established, Cookie: uint64(port),
			Local: ap(fmt.Sprintf("127.0.0.1:%d", port)), Remote: ap("127.0.0.1:80")}
	}
	rows := []WatchRow{
		{Socket: mk(40001), Seen: now.Add(-90*time.Second - 400*time.Millisecond), Initial: true},
		{Socket: mk(40002), Seen: now.Add(-5 * time.Second), Mark: MarkAdded},
		{Socket: mk(40003)}, // never seen: no age
		{Socket: mk(40004), Seen: now.Add(2 * time.Second)}, // clock skew: 0s
	}
	sc := WatchScreen{Taken: now, Now: now, Sockets: 4, Interval: time.Second, Rows: rows, Total: len(rows), Width: 100, Height: 12,
		Sort: "age", Prompting: true, Input: "port 40", PromptErr: "port 4x\x1b[2J\n     ^ not a number\u202e"}
	out := sc.Render(Style{TTY: true})
	checkTerminalText(t, []byte(strings.ReplaceAll(out, "\x1b[", "")), false)
	golden(t, "watch_screen_ages", []byte(out))
	for _, want := range []string{">1m30s", "5s", "0s", "port 4x\\x1b[2J", "^ not a number\\u202e"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}

func TestAppendJSONStringPublic(t *testing.T) {
	for _, s := range []string{"plain", "q\"b\\", "ev" + evilText + "\n\x00", "\xff\xfe", "<&>"} {
		b := AppendJSONString([]byte("x="), s)
		var got string
		if err := json.Unmarshal(b[2:], &got); err != nil {
			t.Errorf("%q: invalid JSON %s: %v", s, b, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if s == "\xff\xfe" {
			want = "\uFFFD\uFFFD"
		}
		if got != want || string(b[:2]) != "x=" {
			t.Errorf("%q: %s decodes to %q, want %q", s, b, got, want)
		}
	}
}
