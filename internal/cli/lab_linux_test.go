package cli

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/sockscope/sockscope/internal/lab"
)

func TestLabList(t *testing.T) {
	out, stderr, code := runCLI(t, "lab", "--list")
	if code != ExitOK {
		t.Fatalf("lab --list: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	exps := lab.List()
	if len(lines) != len(exps) {
		t.Fatalf("lab --list printed %d lines, want %d:\n%s", len(lines), len(exps), out)
	}
	for i, e := range exps {
		if lines[i] != e.Name+"\t"+e.Claim {
			t.Errorf("line %d = %q, want %q", i, lines[i], e.Name+"\t"+e.Claim)
		}
	}
	out, _, code = runCLI(t, "lab", "--list", "-o", "json")
	var doc struct {
		Version     int
		Experiments []struct{ Name, Claim string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != ExitOK {
		t.Fatalf("lab --list -o json: exit %d, %v: %s", code, err, out)
	}
	if doc.Version != 1 || len(doc.Experiments) != len(exps) || doc.Experiments[0].Name != exps[0].Name || doc.Experiments[0].Claim == "" {
		t.Errorf("lab --list -o json = %+v", doc)
	}
}

func TestLabUnknown(t *testing.T) {
	out, stderr, code := runCLI(t, "lab", "shared-port", "no-such-experiment")
	if code != ExitUsage {
		t.Fatalf("lab no-such-experiment: exit %d, want %d", code, ExitUsage)
	}
	if out != "" {
		t.Errorf("lab no-such-experiment ran something: %s", out)
	}
	if !strings.Contains(stderr, `"no-such-experiment"`) {
		t.Errorf("stderr does not name the bad experiment: %s", stderr)
	}
	for _, n := range lab.Names() {
		if !strings.Contains(stderr, n) {
			t.Errorf("stderr does not list %s: %s", n, stderr)
		}
	}
}

// TestLabRun runs every experiment through the command, as JSON: as root
// each must pass in a private namespace; as a normal user each must pass
// on the shared loopback or be skipped with a reason.
func TestLabRun(t *testing.T) {
	out, stderr, code := runCLI(t, "lab", "-o", "json")
	var doc struct {
		Version     int
		Experiments []struct {
			Name, Claim, Result, Namespace string
			Details                        []string
			Sockets                        []map[string]any
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("lab -o json: %v\n%s", err, out)
	}
	if code != ExitOK {
		t.Errorf("lab: exit %d, want 0: %s", code, stderr)
	}
	want := lab.Shared
	if os.Geteuid() == 0 {
		want = lab.Private
	}
	if doc.Version != 1 || len(doc.Experiments) != len(lab.Names()) {
		t.Fatalf("lab -o json: version %d, %d experiments", doc.Version, len(doc.Experiments))
	}
	for i, e := range doc.Experiments {
		if e.Name != lab.Names()[i] || e.Claim == "" {
			t.Errorf("experiment %d = %q (claim %q)", i, e.Name, e.Claim)
		}
		switch e.Result {
		case lab.Pass:
			if e.Namespace != want || len(e.Sockets) == 0 {
				t.Errorf("%s: namespace %q, %d sockets; want %q and some", e.Name, e.Namespace, len(e.Sockets), want)
			}
			for _, s := range e.Sockets {
				if s["proto"] == nil || s["state"] == nil {
					t.Errorf("%s: socket without proto or state: %v", e.Name, s)
				}
			}
		case lab.Skip:
			if want == lab.Private || len(e.Details) == 0 || !strings.HasPrefix(e.Details[len(e.Details)-1], "SKIP: ") {
				t.Errorf("%s skipped: %q", e.Name, e.Details)
			}
		default:
			t.Errorf("%s: %s\n%s", e.Name, e.Result, strings.Join(e.Details, "\n"))
		}
	}

	// The table form of one experiment: the sockets with their holder
	// (this process), the details, and the verdict.
	out, _, code = runCLI(t, "lab", "unix-no-port")
	if code != ExitOK || !strings.Contains(out, "PASS unix-no-port") || !strings.Contains(out, "pid="+strconv.Itoa(os.Getpid())) || !strings.Contains(out, "lab: 1 passed, 0 failed, 0 skipped") {
		t.Errorf("lab unix-no-port: exit %d:\n%s", code, out)
	}
}
