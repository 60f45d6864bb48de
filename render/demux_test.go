package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
)

// demuxCases are fixed demux reports: every verdict, the kernel agreeing,
// disagreeing, failing and not asked, and hostile strings.
func demuxCases() map[string]DemuxReport {
	mp := netip.MustParseAddrPort
	host := &sockscope.NetNS{Inode: 4026531840, Name: "host"}
	nginx := &sockscope.Process{PID: 900, Comm: "nginx", User: "root"}
	evil := &sockscope.Process{PID: 666, Comm: "ev\x1b[31mil\n\u202e", User: "nobody", UID: 65534}
	sock := func(proto sockscope.Proto, st sockscope.State, local, remote string, cookie, inode uint64, p *sockscope.Process) *sockscope.Socket {
		// demux scans holders; an unconnected socket's peer is 0.0.0.0:0.
		s := &sockscope.Socket{Proto: proto, Family: sockscope.FamilyInet, State: st, Local: mp(local), Remote: mp("0.0.0.0:0"),
			Cookie: cookie, Inode: inode, NetNS: host, HoldersScanned: true}
		if remote != "" {
			s.Remote = mp(remote)
		}
		if p != nil {
			s.Holders = []sockscope.Holder{{Proc: p, FD: 6}}
		}
		return s
	}
	hooks := demux.Step{Name: "hooks", Detail: "not inspected: TPROXY rules"}
	ln := sock(sockscope.TCP, sockscope.Listen, "0.0.0.0:443", "", 11, 501, nginx)
	tcpSeg := demux.Segment{Proto: sockscope.TCP, Src: mp("10.0.0.7:51000"), Dst: mp("10.0.0.5:443"), Ifindex: 2}
	u1 := sock(sockscope.UDP, sockscope.Close, "127.0.0.1:53", "", 21, 601, nil)
	u2 := sock(sockscope.UDP, sockscope.Close, "127.0.0.1:53", "", 22, 602, evil)
	u2.HoldersHidden = true
	procSock := sock(sockscope.UDP, sockscope.Close, "127.0.0.1:53", "", 0, 700, nil) // read from /proc: no cookie
	udpSeg := demux.Segment{Proto: sockscope.UDP, Src: mp("127.0.0.1:40000"), Dst: mp("127.0.0.1:53"), Ifindex: 1}
	one := demux.LookupResult{Verdict: demux.One, Socket: ln, Candidates: []*sockscope.Socket{ln}, Steps: []demux.Step{
		hooks,
		{Name: "established", Detail: "no socket in the established hash has this 4-tuple"},
		{Name: "listener-exact", Detail: "no listener on 10.0.0.5:443"},
		{Name: "listener-wildcard", Detail: "the only listener on 0.0.0.0:443", Matched: []*sockscope.Socket{ln}},
	}}
	// A SO_REUSEPORT group of two nginx workers; the kernel's lookup names
	// the second.
	w1 := sock(sockscope.TCP, sockscope.Listen, "0.0.0.0:443", "", 31, 801, nginx)
	w2 := sock(sockscope.TCP, sockscope.Listen, "0.0.0.0:443", "", 32, 802, &sockscope.Process{PID: 901, Comm: "nginx", User: "root"})
	groupRes := demux.LookupResult{Verdict: demux.OneOf, Ambiguity: demux.ReuseportHash, Candidates: []*sockscope.Socket{w1, w2}, Steps: []demux.Step{
		hooks,
		{Name: "listener-wildcard", Detail: "2 listeners on 0.0.0.0:443; 2 possible receivers", Matched: []*sockscope.Socket{w1, w2}},
	}}
	hiddenK := demux.KernelCheck{Asked: true, Found: true, Agrees: true, Reply: sockscope.LookupReply{Cookie: 21, Inode: 601, Local: mp("127.0.0.1:53")}}
	pickK := demux.KernelCheck{Asked: true, Found: true, Agrees: true, Reply: sockscope.LookupReply{Cookie: 32, Inode: 802, Local: mp("0.0.0.0:443")}}
	return map[string]DemuxReport{
		"kernel_pick": {Segment: tcpSeg, Result: demux.WithKernel(groupRes, pickK), Kernel: pickK},
		"kernel_pick_hidden": {Segment: udpSeg, Result: demux.WithKernel(demux.LookupResult{Verdict: demux.OneOf, Ambiguity: demux.HiddenInput,
			Candidates: []*sockscope.Socket{u1, u2}, Steps: []demux.Step{hooks}}, hiddenK), Kernel: hiddenK},
		"one": {Segment: tcpSeg, Result: one, Kernel: demux.KernelCheck{Asked: true, Found: true, Agrees: true,
			Reply: sockscope.LookupReply{Cookie: 11, Inode: 501, Local: mp("0.0.0.0:443")}}},
		"disagree": {Segment: tcpSeg, Result: one, Kernel: demux.KernelCheck{Asked: true, Found: true,
			Reply: sockscope.LookupReply{Cookie: 99, Inode: 999, Local: mp("10.0.0.5:443"), Remote: mp("10.0.0.7:51000"), Interface: 2}}},
		"oneof": {Segment: udpSeg, Result: demux.LookupResult{Verdict: demux.OneOf, Ambiguity: demux.ReuseportHash | demux.HiddenInput,
			Candidates: []*sockscope.Socket{u1, u2}, Steps: []demux.Step{
				hooks,
				{Name: "exact", Detail: "2 sockets bound to 127.0.0.1:53 score \x07 alike; 2 possible receivers", Matched: []*sockscope.Socket{u1, u2}},
			}}, Kernel: demux.KernelCheck{Asked: true, Found: true, Agrees: true, Reply: sockscope.LookupReply{Cookie: 22, Inode: 602, Local: mp("127.0.0.1:53")}}},
		"none": {Segment: tcpSeg, Result: demux.LookupResult{Verdict: demux.None, Steps: []demux.Step{hooks, {Name: "none", Detail: "no listener"}}},
			Kernel: demux.KernelCheck{Asked: true, Err: errors.New("sockscope: kernel lookup: operation not permitted\x1b[2J")}},
		"notlocal": {Segment: demux.Segment{Proto: sockscope.TCP, Src: mp("127.0.0.1:5000"), Dst: mp("192.0.2.9:22")},
			Result: demux.LookupResult{Verdict: demux.NotLocal, Steps: []demux.Step{hooks, {Name: "route", Detail: "192.0.2.9 is not an address of this network namespace"}}}},
		"oneof_hash": {Segment: udpSeg, Result: demux.LookupResult{Verdict: demux.OneOf, Ambiguity: demux.ReuseportHash,
			Candidates: []*sockscope.Socket{u1, u2}, Steps: []demux.Step{hooks}}, Kernel: demux.KernelCheck{Asked: true}},
		"oneof_hidden": {Segment: udpSeg, Result: demux.LookupResult{Verdict: demux.OneOf, Ambiguity: demux.HiddenInput,
			Candidates: []*sockscope.Socket{procSock, u1}, Steps: []demux.Step{hooks}}},
		"none_agrees": {Segment: udpSeg, Result: demux.LookupResult{Verdict: demux.None, Steps: []demux.Step{hooks, {Name: "none", Detail: "no socket"}}},
			Kernel: demux.KernelCheck{Asked: true, Agrees: true}},
		"all": {Segment: demux.Segment{Proto: sockscope.UDP, Src: mp("127.0.0.1:5000"), Dst: mp("127.255.255.255:53"), Broadcast: true, Ifindex: 1},
			Result: demux.LookupResult{Verdict: demux.All, Candidates: []*sockscope.Socket{u1, u2}, Steps: []demux.Step{hooks, {Name: "broadcast", Detail: "copied to every matching socket", Matched: []*sockscope.Socket{u1, u2}}}}},
	}
}

func TestDemuxGolden(t *testing.T) {
	for name, rep := range demuxCases() {
		t.Run(name, func(t *testing.T) {
			var tbl, col, js bytes.Buffer
			if err := WriteDemux(&tbl, Style{TTY: true}, rep); err != nil {
				t.Fatal(err)
			}
			golden(t, "demux_"+name, tbl.Bytes())
			if err := WriteDemux(&col, Style{TTY: true, Color: true}, rep); err != nil {
				t.Fatal(err)
			}
			if plain := stripANSI(col.String()); plain != tbl.String() {
				t.Errorf("colored output differs from plain beyond colors:\n%s", plain)
			}
			if err := WriteDemuxJSON(&js, rep); err != nil {
				t.Fatal(err)
			}
			golden(t, "demux_"+name+".json", js.Bytes())
			checkDemuxJSON(t, rep, js.Bytes())
			// Untrusted strings never reach the terminal raw.
			if strings.ContainsAny(tbl.String(), "\x1b\x07\u202e") {
				t.Errorf("raw control or bidi characters in the table:\n%q", tbl.String())
			}
		})
	}
}

// checkDemuxJSON decodes the document and checks it against the report.
func checkDemuxJSON(t *testing.T, rep DemuxReport, b []byte) {
	t.Helper()
	var d struct {
		Version    int               `json:"version"`
		Verdict    string            `json:"verdict"`
		Ambiguity  []string          `json:"ambiguity"`
		Socket     *json.RawMessage  `json:"socket"`
		Candidates []json.RawMessage `json:"candidates"`
		KernelPick bool              `json:"kernel_pick"`
		Group      []struct {
			Cookie uint64 `json:"cookie"`
		} `json:"group"`
		Steps        []json.RawMessage `json:"steps"`
		KernelAgrees *bool             `json:"kernel_agrees"`
		Kernel       *struct {
			Socket *struct {
				Cookie, Inode uint64
			} `json:"socket"`
			Error *string `json:"error"`
		} `json:"kernel"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b)
	}
	res, k := rep.Result, rep.Kernel
	if d.Version != SchemaVersion || d.Verdict != string(res.Verdict) || len(d.Candidates) != len(res.Candidates) || len(d.Steps) != len(res.Steps) {
		t.Errorf("document does not match the report: %s", b)
	}
	if (d.Socket != nil) != (res.Socket != nil) || len(d.Ambiguity) != len(res.Ambiguity.Strings()) {
		t.Errorf("socket or ambiguity: %s", b)
	}
	if d.Group == nil || d.KernelPick != res.KernelPick || len(d.Group) != len(res.Group) {
		t.Errorf("kernel_pick or group: %s", b)
	}
	for i, g := range d.Group {
		if i < len(res.Group) && g.Cookie != res.Group[i].Cookie {
			t.Errorf("group member %d: cookie %d, want %d", i, g.Cookie, res.Group[i].Cookie)
		}
	}
	switch {
	case !k.Asked:
		if d.Kernel != nil || d.KernelAgrees != nil {
			t.Errorf("kernel not asked, but the document has %s", b)
		}
	case k.Err != nil:
		if d.Kernel == nil || d.Kernel.Error == nil || d.KernelAgrees != nil {
			t.Errorf("kernel error missing: %s", b)
		}
	default:
		if d.Kernel == nil || d.KernelAgrees == nil || *d.KernelAgrees != k.Agrees || (d.Kernel.Socket != nil) != k.Found ||
			(k.Found && (d.Kernel.Socket.Cookie != k.Reply.Cookie || d.Kernel.Socket.Inode != k.Reply.Inode)) {
			t.Errorf("kernel answer not as reported: %s", b)
		}
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < '@' || s[j] > '~') {
				j++
			}
			i = j
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
