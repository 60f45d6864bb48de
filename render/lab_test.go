package render

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/internal/lab"
)

// labReports are a passed, a failed and a skipped report, with hostile
// strings where the experiment's texts and the sockets' holders go.
func labReports() []lab.Report {
	ns := &sockscope.NetNS{Inode: 4026532100, Name: "lab"}
	me := &sockscope.Process{PID: 4242, Comm: "sock\x1bscope", User: "root"}
	ln := &sockscope.Socket{Proto: sockscope.TCP, Family: sockscope.FamilyInet, Type: sockscope.SockStream, State: sockscope.Listen,
		Local: netip.MustParseAddrPort("127.0.0.1:8080"), Remote: netip.MustParseAddrPort("0.0.0.0:0"), Inode: 7, Cookie: 8, NetNS: ns,
		Holders: []sockscope.Holder{{Proc: me, FD: 5}}, HoldersScanned: true} // lab's snapshots scan holders
	c := &sockscope.Socket{Proto: sockscope.TCP, Family: sockscope.FamilyInet, Type: sockscope.SockStream, State: sockscope.Established,
		Local: netip.MustParseAddrPort("127.0.0.1:8080"), Remote: netip.MustParseAddrPort("127.0.0.1:40000"), Inode: 9, Cookie: 10, NetNS: ns, HoldersScanned: true}
	return []lab.Report{
		{Experiment: lab.Experiment{Name: "shared-port", Claim: "many sockets share one port"}, Result: lab.Pass, Namespace: lab.Private,
			Details: []string{"kernel: listen 127.0.0.1:8080 ok", "snapshot: 2 sockets"}, Sockets: []*sockscope.Socket{ln, c}},
		{Experiment: lab.Experiment{Name: "x", Claim: "a \"quoted\" claim\n\x01"}, Result: lab.Fail, Namespace: lab.Shared,
			Details: []string{"bad \xff utf8 \u2028", "FAIL: \x1b[31mred"}},
		{Experiment: lab.Experiment{Name: "dual-stack", Claim: "dual-stack [::] blocks 0.0.0.0"}, Result: lab.Skip,
			Details: []string{"SKIP: no IPv6"}},
	}
}

func TestLabJSON(t *testing.T) {
	rs := labReports()
	var doc bytes.Buffer
	if err := WriteLabJSON(&doc, rs); err != nil {
		t.Fatal(err)
	}
	golden(t, "lab.json", doc.Bytes())
	var got struct {
		Version     int `json:"version"`
		Experiments []struct {
			Name, Claim, Result, Namespace string
			Details                        []string
			Sockets                        []json.RawMessage
		} `json:"experiments"`
	}
	if err := json.Unmarshal(doc.Bytes(), &got); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, doc.Bytes())
	}
	if got.Version != SchemaVersion || len(got.Experiments) != len(rs) {
		t.Fatalf("version %d, %d experiments", got.Version, len(got.Experiments))
	}
	for i, e := range got.Experiments {
		r := rs[i]
		if e.Name != r.Name || e.Claim != r.Claim || e.Result != r.Result || e.Namespace != r.Namespace || len(e.Details) != len(r.Details) || len(e.Sockets) != len(r.Sockets) {
			t.Errorf("experiment %d = %+v, want %+v", i, e, r)
		}
		for j, s := range e.Sockets {
			var a, b any
			if json.Unmarshal(s, &a) != nil || json.Unmarshal(AppendSocketJSON(nil, r.Sockets[j]), &b) != nil || !jsonEqual(a, b) {
				t.Errorf("experiment %d socket %d = %s, want AppendSocketJSON's", i, j, s)
			}
		}
	}
	// A skipped report with no sockets has "sockets":[] and "details":[],
	// not null.
	var nd bytes.Buffer
	if err := WriteLabNDJSON(&nd, lab.Report{Experiment: lab.Experiment{Name: "n"}, Result: lab.Skip}); err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"n","claim":"","result":"SKIP","details":[],"sockets":[]}` + "\n"; nd.String() != want {
		t.Errorf("empty report = %s, want %s", nd.String(), want)
	}
	nd.Reset()
	for _, r := range rs {
		if err := WriteLabNDJSON(&nd, r); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "lab.ndjson", nd.Bytes())
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestLabList(t *testing.T) {
	exps := lab.List()
	var b bytes.Buffer
	if err := WriteLabListJSON(&b, exps, false); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version     int
		Experiments []map[string]string
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil || doc.Version != SchemaVersion || len(doc.Experiments) != len(exps) {
		t.Fatalf("list JSON %v: %s", err, b.Bytes())
	}
	for i, e := range doc.Experiments {
		if len(e) != 2 || e["name"] != exps[i].Name || e["claim"] != exps[i].Claim {
			t.Errorf("experiment %d = %v, want only name and claim of %v", i, e, exps[i])
		}
	}
	b.Reset()
	if err := WriteLabListJSON(&b, exps, true); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(exps) {
		t.Fatalf("list NDJSON has %d lines, want %d", len(lines), len(exps))
	}
	for i, l := range lines {
		var e map[string]string
		if err := json.Unmarshal([]byte(l), &e); err != nil || e["name"] != exps[i].Name {
			t.Errorf("line %d %q: %v", i, l, err)
		}
	}
	b.Reset()
	hostile := []lab.Experiment{{Name: "a\x1b[2J", Claim: "claim\u202e"}, {Name: "b", Claim: "plain"}}
	for _, st := range []Style{{}, {TTY: true}} {
		if err := WriteLabList(&b, hostile, st); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "lab_list", b.Bytes())
	if strings.ContainsAny(b.String(), "\x1b\u202e") {
		t.Errorf("raw hostile bytes in the list:\n%q", b.String())
	}
}

func TestLabReportTable(t *testing.T) {
	for _, tt := range []struct {
		name string
		st   Style
	}{
		{"lab_tty", Style{TTY: true}},
		{"lab_tty_color", Style{TTY: true, Color: true}},
		{"lab_pipe", Style{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			for _, r := range labReports() {
				if err := WriteLabReport(&b, r, tt.st); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteLabSummary(&b, 1, 1, 1); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, b.Bytes())
			if s := b.String(); strings.Contains(s, "\x1bscope") || strings.Contains(s, "\x1b[31mred") || strings.ContainsAny(s, "\x01\u2028") {
				t.Errorf("raw hostile bytes in the report:\n%q", s)
			}
		})
	}
}
