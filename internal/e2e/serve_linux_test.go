//go:build linux

package e2e

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeRunsServeBinary: sockscope has no HTTP server of its own;
// 'sockscope serve' replaces itself (same pid) with the sockscope-serve
// beside it, which serves.
func TestServeRunsServeBinary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve", "--listen", "127.0.0.1:0")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sockscope serve: %v", err)
	}
	done := make(chan error, 1)
	lines := make(chan string, 16)
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		for range lines {
		}
		<-done
	}()
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		done <- cmd.Wait()
	}()
	re := regexp.MustCompile(`serving on (http://127\.0\.0\.1:\d+)/`)
	var base string
	var said []string
	for base == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("sockscope serve ended before serving: %q", said)
			}
			said = append(said, l)
			if m := re.FindStringSubmatch(l); m != nil {
				base = m[1]
			}
		case <-ctx.Done():
			t.Fatalf("sockscope serve printed no address within 30s: %q", said)
		}
	}
	exe, err := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/exe")
	if err != nil || filepath.Base(exe) != "sockscope-serve" {
		t.Errorf("the serving process (pid %d) runs %q (%v), want sockscope-serve", cmd.Process.Pid, exe, err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Errorf("GET /healthz = %d %q, want 200 ok", resp.StatusCode, body)
	}
	// SIGTERM ends it as it ends sockscope serve.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
}

// TestServeWithoutServeBinary: without sockscope-serve beside sockscope or
// on PATH, serve says where to get it (exit 1); a bad flag is still a
// usage error of sockscope's own (exit 2).
func TestServeWithoutServeBinary(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	alone := filepath.Join(dir, "sockscope")
	b, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alone, b, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, alone, args...)
		cmd.Env = []string{"PATH=" + dir, "LC_ALL=C"}
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		r := result{out: []byte(out.String()), err: []byte(errb.String())}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("run sockscope %q: %v", args, err)
		}
		return r
	}
	r := run("serve", "--listen", "127.0.0.1:0")
	if r.code != 1 || !strings.Contains(string(r.err), "sockscope-serve") || !strings.Contains(string(r.err), "go install github.com/sockscope/sockscope/cmd/sockscope-serve@latest") {
		t.Errorf("serve without sockscope-serve: exit %d, stderr %q; want 1 and how to install it", r.code, r.err)
	}
	r = run("serve", "--listen", "nowhere")
	if r.code != 2 || !strings.Contains(string(r.err), `bad --listen "nowhere"`) {
		t.Errorf("serve --listen nowhere: exit %d, stderr %q; want 2 and the bad flag", r.code, r.err)
	}
}
