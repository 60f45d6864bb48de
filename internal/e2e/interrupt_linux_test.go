//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// manySockets opens n UDP sockets on loopback so that a listing is far
// larger than a pipe's buffer.
func manySockets(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("open socket %d of %d: %v", i, n, err)
		}
		t.Cleanup(func() { c.Close() })
	}
}

// start runs the binary with stdout to a pipe the test reads.
func start(t *testing.T, args ...string) (*exec.Cmd, *os.File, *bytes.Buffer) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, args...)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { r.Close(); _ = cmd.Process.Kill() })
	return cmd, r, &errb
}

// waitPipeFull waits until the process pid is blocked writing to the pipe
// behind r: one of its threads sleeps in the kernel's pipe write
// (/proc/PID/task/TID/wchan), or the pipe holds all but at most one page of
// its capacity (F_GETPIPE_SZ). Counting bytes alone is not enough: a pipe
// is full when its page slots are, which partial pages can make happen
// well below its capacity. It fails the test after limit.
func waitPipeFull(t *testing.T, pid int, r *os.File, limit time.Duration) {
	t.Helper()
	fd := int(r.Fd())
	size, err := unix.FcntlInt(uintptr(fd), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatalf("F_GETPIPE_SZ: %v", err)
	}
	var queued int
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if queued, err = unix.IoctlGetInt(fd, unix.TIOCINQ); err != nil {
			t.Fatalf("FIONREAD (TIOCINQ): %v", err)
		}
		if queued >= size-os.Getpagesize() || inPipeWrite(pid) {
			return
		}
	}
	t.Fatalf("the pipe holds %d of %d bytes after %v and no thread of pid %d waits in a pipe write", queued, size, limit, pid)
}

// inPipeWrite reports whether a thread of pid sleeps in the kernel's pipe
// write ("pipe_write", "anon_pipe_write" from Linux 6.x on).
func inPipeWrite(pid int) bool {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, task := range tasks {
		b, err := os.ReadFile(dir + "/" + task.Name() + "/wchan")
		if err == nil && strings.HasSuffix(string(b), "pipe_write") {
			return true
		}
	}
	return false
}

func wait(t *testing.T, cmd *exec.Cmd, limit time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			return 0
		}
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("sockscope was killed by %v", ws.Signal())
		}
		return ee.ExitCode()
	case <-time.After(limit):
		t.Fatalf("sockscope did not end within %v", limit)
	}
	return -1
}

// TestClosedPipe is `sockscope ls -a | head -1`: once the reader has gone,
// sockscope ends with status 0 and says nothing.
func TestClosedPipe(t *testing.T) {
	manySockets(t, 1500)
	for _, format := range []string{"table", "ndjson", "json"} {
		t.Run(format, func(t *testing.T) {
			cmd, r, errb := start(t, "-o", format, "ls", "-a", "-u")
			line, err := bufio.NewReader(r).ReadString('\n')
			if err != nil {
				t.Fatalf("read the first line: %v", err)
			}
			if line == "" {
				t.Fatal("empty first line")
			}
			r.Close()
			if code := wait(t, cmd, 30*time.Second); code != 0 {
				t.Errorf("exit %d after the reader went away, want 0; stderr:\n%s", code, errb)
			}
			if errb.Len() != 0 {
				t.Errorf("stderr after the reader went away, want nothing:\n%s", errb)
			}
		})
	}
}

// TestInterrupt sends SIGINT while sockscope is blocked writing a long
// NDJSON listing: it must end quietly, and every line it wrote must be
// whole, valid JSON.
func TestInterrupt(t *testing.T) {
	manySockets(t, 1500)
	cmd, r, errb := start(t, "-o", "ndjson", "ls", "-a", "-u")
	// Let it fill the pipe and block, then interrupt, then drain.
	first := make([]byte, 1)
	if _, err := io.ReadFull(r, first); err != nil {
		t.Fatalf("no output: %v", err)
	}
	waitPipeFull(t, cmd.Process.Pid, r, 10*time.Second)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	out := append(first, rest...)
	code := wait(t, cmd, 30*time.Second)
	// 1500 sockets are several times a pipe's 64 KiB: it was blocked
	// writing, not finished.
	if code != 130 {
		t.Errorf("exit %d after SIGINT, want 130", code)
	}
	if errb.Len() != 0 {
		t.Errorf("stderr after SIGINT, want nothing:\n%s", errb)
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		t.Errorf("NDJSON output ends in a torn line: %q", out[max(0, len(out)-200):])
	}
	lines := bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
	for i, l := range lines {
		if !json.Valid(l) {
			t.Fatalf("line %d of %d is not valid JSON: %.300q", i+1, len(lines), l)
		}
	}
	t.Logf("exit %d after SIGINT with %d whole lines written (%d bytes)", code, len(lines), len(out))
}
