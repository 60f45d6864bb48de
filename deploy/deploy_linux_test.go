package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockscope/sockscope/internal/buildinfo"
	"github.com/sockscope/sockscope/internal/cli"
	httpserver "github.com/sockscope/sockscope/internal/server"
)

// serve runs in this process, as in sockscope-serve (the image's serve).
func init() { cli.LinkServer(httpserver.Command{}) }

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serve runs 'sockscope serve' in-process on a loopback port the kernel
// picks, with the DaemonSet's other flags, and returns its base URL.
func serve(t *testing.T, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan int, 1)
	args := append([]string{"serve", "--listen", "127.0.0.1:0"}, extra...)
	go func() {
		done <- cli.Main(ctx, args, cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, Getenv: func(string) string { return "" }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop within 10s")
		}
	})
	re := regexp.MustCompile(`serving on (https?://[^ ]+:\d+)/`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(errb.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, errb.String())
		default:
		}
	}
	t.Fatalf("serve printed no address within 10s: %q", errb.String())
	return ""
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, b.String()
}

// metricNames returns the metric families of an exposition: the names of
// its # TYPE lines.
func metricNames(expo string) map[string]bool {
	names := map[string]bool{}
	for _, line := range strings.Split(expo, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			names[f[2]] = true
		}
	}
	return names
}

// grepLines returns the lines of text that contain s.
func grepLines(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// listenWithQueue opens a TCP listener on loopback and one connection to
// it that is never accepted, so that every per-port and accept-queue
// series has a sample.
func listenWithQueue(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
}

// TestProbeIsServed: the readiness and liveness probes' paths answer 200
// on serve.
func TestProbeIsServed(t *testing.T) {
	_, c := theDaemonSet(t)
	base := serve(t)
	for name, p := range map[string]*probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Port != c.Ports[0].Name {
			t.Errorf("%s probe %+v: want an httpGet on port %q", name, p, c.Ports[0].Name)
			continue
		}
		if code, body := get(t, base+p.HTTPGet.Path); code != http.StatusOK {
			t.Errorf("%s probe: GET %s: %d %.200s", name, p.HTTPGet.Path, code, body)
		}
	}
}

// dashboardExprs returns every PromQL expression of the dashboard, its
// variables' queries included.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	var exprs []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(map[string]any); ok && v.Type == "query" {
			s, _ := q["query"].(string)
			// label_values(SELECTOR, label): SELECTOR is PromQL.
			args := strings.TrimSuffix(strings.TrimPrefix(s, "label_values("), ")")
			if i := strings.LastIndex(args, ","); i > 0 {
				args = args[:i]
			}
			exprs = append(exprs, args)
		}
	}
	return exprs
}

// metricRef finds the names of sockscope's, Go's and the process's metrics
// in a PromQL expression.
var metricRef = regexp.MustCompile(`\b(?:sockscope|go|process)_[a-zA-Z0-9_]+\b`)

// TestDashboardMetricsExist: every query of the Grafana dashboard names
// only metrics that serve, with the DaemonSet's flags, exposes; and each
// is valid PromQL to promtool, where installed.
func TestDashboardMetricsExist(t *testing.T) {
	listenWithQueue(t)
	_, c := theDaemonSet(t)
	var flags []string
	for _, a := range c.Args[1:] {
		if !strings.HasPrefix(a, "--listen") && !strings.HasPrefix(a, "--all-netns") {
			flags = append(flags, a)
		}
	}
	// -A needs root to see the other namespaces; the metric names are the
	// same for one namespace. The holder scan gets time enough on a
	// loaded machine: without holders there is no sockets-per-process
	// series to find.
	flags = append(flags, "--holders-timeout=2m")
	base := serve(t, flags...)
	code, expo := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %.300s", code, expo)
	}
	exposed := metricNames(expo)
	// sockscope_build_info says what 'sockscope version' says.
	if bi := buildinfo.Get(); !strings.Contains(expo, fmt.Sprintf("version=%q", bi.Version)) || !strings.Contains(expo, fmt.Sprintf("revision=%q", bi.Commit)) {
		t.Errorf("sockscope_build_info does not carry version %q and revision %q:\n%s", bi.Version, bi.Commit, grepLines(expo, "sockscope_build_info"))
	}
	exprs := dashboardExprs(t)
	for _, e := range exprs {
		refs := metricRef.FindAllString(e, -1)
		if len(refs) == 0 {
			t.Errorf("query %q names no sockscope metric", e)
		}
		for _, m := range refs {
			if !exposed[m] {
				t.Errorf("query %q: serve exposes no metric %s", e, m)
			}
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed: PromQL syntax not checked")
		return
	}
	// promtool checks expressions as recording rules; Grafana's
	// variables are replaced by what they stand for.
	var rules strings.Builder
	rules.WriteString("groups:\n- name: dashboard\n  rules:\n")
	repl := strings.NewReplacer("$node", ".*", "$netns", ".*")
	for i, e := range exprs {
		q, _ := json.Marshal(repl.Replace(e))
		fmt.Fprintf(&rules, "  - record: dashboard:expr%d\n    expr: %s\n", i, q)
	}
	f := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(f, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "check", "rules", f)
	cmd.WaitDelay = 10 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s\n%s", err, out, rules.String())
	}
}
