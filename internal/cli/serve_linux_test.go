package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
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
		done <- Main(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, Getenv: func(string) string { return "" }})
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
	} {
		_, stderr, code := runCLI(t, args...)
		if code != ExitUsage {
			t.Errorf("%q: exit %d, want %d; stderr %q", args, code, ExitUsage, stderr)
		}
	}
}
