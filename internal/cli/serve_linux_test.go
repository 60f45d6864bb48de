package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe to read while Main writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

// TestServe runs 'sockscope serve' on an ephemeral loopback port, scrapes
// it, and stops it by cancelling its context: exit 0.
func TestServe(t *testing.T) {
	port, _ := server(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--metrics-max-ports", "65536"}, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, Getenv: func(string) string { return "" }})
	}()
	re := regexp.MustCompile(`serving on (http://127\.0\.0\.1:\d+)/`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(errb.String()); m != nil {
			base = m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d early: %s", code, errb.String())
		default:
		}
	}
	if base == "" {
		t.Fatalf("serve printed no address within 10s: %q", errb.String())
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `sockscope_port_listeners{netns="host",port="` + strconv.Itoa(port) + `",proto="tcp"} 1`
	if resp.StatusCode != 200 || !strings.Contains(string(body), want) || !strings.Contains(string(body), "sockscope_scrape_success 1") {
		t.Errorf("GET /metrics = %d, want a line %q and success 1:\n%.2000s", resp.StatusCode, want, body)
	}
	// On loopback a foreign Host name is refused (DNS rebinding guard).
	req, _ := http.NewRequest("GET", base+"/api/ports", nil)
	req.Host = "attacker.example"
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Error(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("Host attacker.example = %d, want 421", resp.StatusCode)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("serve exited %d after cancel, want 0; stderr %q", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within 10s of cancel")
	}
	if out.String() != "" {
		t.Errorf("serve wrote to stdout: %q", out.String())
	}
}

func TestServeBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--listen", "nonsense"},
		{"serve", "--listen", ":9464x"},
		{"serve", "extra"},
		{"serve", "-o", "json"},
		{"serve", "--allowed-hosts", "host:80"},
		{"serve", "--web.config.file", "/nonexistent/web.yml"},
		{"serve", "--metrics-max-ports", "0"},
		{"serve", "--metrics-max-ports", "many"},
		{"serve", "--metrics-max-processes", "-1"},
	} {
		_, stderr, code := runCLI(t, args...)
		if code != ExitUsage {
			t.Errorf("%q: exit %d, want %d; stderr %q", args, code, ExitUsage, stderr)
		}
	}
}

// startServe runs 'sockscope serve ARGS...' until the test ends and
// returns the base URL it prints, and its stderr.
func startServe(t *testing.T, args ...string) (base string, errb *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errb = &lockedBuffer{}
	var out lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, append([]string{"serve"}, args...), IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: errb, Getenv: func(string) string { return "" }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != ExitOK {
				t.Errorf("serve exited %d; stderr %q", code, errb.String())
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop within 10s of cancel")
		}
	})
	re := regexp.MustCompile(`serving on (https?://[^ ]+:\d+)/`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(errb.String()); m != nil {
			return m[1], errb
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited %d early: %s", code, errb.String())
		default:
		}
	}
	t.Fatalf("serve printed no address within 10s: %q", errb.String())
	return "", nil
}

func hostStatus(t *testing.T, url, host string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Host = host
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s Host %q: %v", url, host, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeAnyIPv4: --listen 0.0.0.0:0 binds IPv4 only (no [::]
// dual-stack), warns that nothing protects it, and still refuses a
// foreign Host name while accepting IP literals and this machine's name.
func TestServeAnyIPv4(t *testing.T) {
	base, errb := startServe(t, "--listen", "0.0.0.0:0")
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
	if !strings.HasPrefix(base, "http://0.0.0.0:") {
		t.Errorf("bound %s, want 0.0.0.0", base)
	}
	if !strings.Contains(errb.String(), "warning: 0.0.0.0:"+port+" is not a loopback address") {
		t.Errorf("no warning for a non-loopback listener: %q", errb.String())
	}
	// The kernel's answer: IPv4 loopback connects, IPv6 loopback does not.
	if c, err := net.DialTimeout("tcp4", "127.0.0.1:"+port, 5*time.Second); err != nil {
		t.Errorf("IPv4 connect: %v", err)
	} else {
		c.Close()
	}
	if c, err := net.DialTimeout("tcp6", "[::1]:"+port, 5*time.Second); err == nil {
		c.Close()
		t.Errorf("[::1]:%s accepted a connection: 0.0.0.0 was bound dual-stack", port)
	}
	url := "http://127.0.0.1:" + port + "/"
	if got := hostStatus(t, url, "attacker.example:"+port); got != http.StatusMisdirectedRequest {
		t.Errorf("Host attacker.example = %d, want 421", got)
	}
	if got := hostStatus(t, url, "127.0.0.1:"+port); got != 200 {
		t.Errorf("Host 127.0.0.1 = %d, want 200", got)
	}
	if name, err := os.Hostname(); err == nil && name != "" {
		if got := hostStatus(t, url, name+":"+port); got != 200 {
			t.Errorf("Host %s (this machine) = %d, want 200", name, got)
		}
	}
}

// TestServeAllowedHosts: --allowed-hosts replaces the default names.
func TestServeAllowedHosts(t *testing.T) {
	base, errb := startServe(t, "--listen", "127.0.0.1:0", "--allowed-hosts", "sockscope.example,other.example")
	if strings.Contains(errb.String(), "warning") {
		t.Errorf("warning on loopback: %q", errb.String())
	}
	for host, want := range map[string]int{"sockscope.example": 200, "OTHER.example": 200, "localhost": http.StatusMisdirectedRequest, "attacker.example": http.StatusMisdirectedRequest, "[::1]": 200} {
		if got := hostStatus(t, base+"/", host); got != want {
			t.Errorf("Host %s = %d, want %d", host, got, want)
		}
	}
}

func TestListenNetwork(t *testing.T) {
	for host, want := range map[string]string{"0.0.0.0": "tcp4", "127.0.0.1": "tcp4", "::": "tcp6", "::1": "tcp6", "": "tcp", "localhost": "tcp"} {
		if got := listenNetwork(host); got != want {
			t.Errorf("listenNetwork(%q) = %s, want %s", host, got, want)
		}
	}
}

// TestServeMetricsMaxPorts: --metrics-max-ports caps the per-port series
// of a scrape; /healthz answers ok.
func TestServeMetricsMaxPorts(t *testing.T) {
	for range 2 { // with serve's own, at least 3 listened ports
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
	}
	base, _ := startServe(t, "--listen", "127.0.0.1:0", "--metrics-max-ports", "1")
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Errorf("GET /healthz = %d %q", resp.StatusCode, body)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	resp.Body.Close()
	if n := strings.Count(string(body), "\nsockscope_port_listeners{"); n != 1 {
		t.Errorf("%d sockscope_port_listeners series with --metrics-max-ports 1, want 1", n)
	}
	if !strings.Contains(string(body), "\nsockscope_ports_omitted{") {
		t.Errorf("no sockscope_ports_omitted")
	}
}
