package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal of the given size; the test skips
// where there is none.
func openPTY(t *testing.T, rows, cols int) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(rows), Col: uint16(cols)}); err != nil {
		t.Fatal(err)
	}
	return m, s
}

// ptyRun is a sockscope command line running in a re-executed test
// binary whose terminal is a pseudo-terminal.
type ptyRun struct {
	cmd    *exec.Cmd
	master *os.File
	stderr bytes.Buffer
	mu     sync.Mutex
	screen bytes.Buffer // what the terminal received
	read   chan struct{}
}

// startPTY runs args on a terminal of rows×80 with the environment's
// pager variables replaced by env.
func startPTY(t *testing.T, rows int, env []string, args ...string) *ptyRun {
	t.Helper()
	m, s := openPTY(t, rows, 80)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	r := &ptyRun{master: m, read: make(chan struct{})}
	r.cmd = exec.CommandContext(ctx, os.Args[0])
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "PAGER", "SOCKSCOPE_PAGER", "LESS", "NO_COLOR", "TERM":
		default:
			r.cmd.Env = append(r.cmd.Env, kv)
		}
	}
	r.cmd.Env = append(append(r.cmd.Env, childEnv+"="+strings.Join(args, "\n"), "TERM=xterm"), env...)
	r.cmd.Stdin, r.cmd.Stdout, r.cmd.Stderr = s, s, &r.stderr
	// The terminal is the child's controlling terminal: less reads its
	// keys from /dev/tty.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	r.cmd.WaitDelay = 5 * time.Second
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Close() // the child has it; reads end (EIO) when the child does
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			r.cmd.Process.Kill()
			r.cmd.Wait()
		}
	})
	go func() {
		defer close(r.read)
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			r.mu.Lock()
			r.screen.Write(buf[:n])
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return r
}

// waitScreen polls (at most 20 s) until the terminal shows want.
func (r *ptyRun) waitScreen(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		ok := strings.Contains(r.screen.String(), want)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.read:
			t.Fatalf("the terminal closed without showing %q: %q\n%s", want, r.text(), r.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("the terminal never showed %q: %q", want, r.text())
}

// wait waits for the command and for the terminal to be drained, and
// returns the exit status.
func (r *ptyRun) wait(t *testing.T) int {
	t.Helper()
	err := r.cmd.Wait()
	select {
	case <-r.read:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal did not close after the command ended")
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func (r *ptyRun) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.screen.String()
}

// TestPagerTerminal runs sockscope on a real (pseudo-)terminal: a table
// longer than the screen goes to the pager, one that fits does not.
func TestPagerTerminal(t *testing.T) {
	ports, filter := listeners(t, 12)
	script, record := fakePager(t, "")

	r := startPTY(t, 10, []string{"SOCKSCOPE_PAGER=" + script}, "ls", "-tln", filter)
	if code := r.wait(t); code != ExitOK {
		t.Fatalf("exit %d: %s", code, r.stderr.String())
	}
	paged, err := os.ReadFile(record)
	if err != nil || !hasPorts(string(paged), ports) || !bytes.Contains(paged, []byte("\x1b[")) {
		t.Fatalf("10 rows: the pager did not get the coloured table (%v): %q", err, paged)
	}
	if strings.Contains(r.text(), "127.0.0.1:") {
		t.Errorf("10 rows: the table went to the terminal too: %q", r.text())
	}
	os.Remove(record)

	r = startPTY(t, 50, []string{"SOCKSCOPE_PAGER=" + script}, "ls", "-tln", filter)
	if code := r.wait(t); code != ExitOK {
		t.Fatalf("exit %d: %s", code, r.stderr.String())
	}
	if _, err := os.Stat(record); err == nil {
		t.Errorf("50 rows: the pager ran for a table that fits")
	}
	if !hasPorts(r.text(), ports) {
		t.Errorf("50 rows: the terminal did not get the table: %q", r.text())
	}
}

// TestPagerLess: with no pager named, a long table goes through less
// -FRX, colour intact; quitting less ends sockscope with status 0.
func TestPagerLess(t *testing.T) {
	if _, err := exec.LookPath("less"); err != nil {
		t.Skip("less is not installed")
	}
	ports, filter := listeners(t, 12)
	r := startPTY(t, 10, nil, "ls", "-tln", filter)
	r.waitScreen(t, "127.0.0.1:")
	r.waitScreen(t, "\n:") // less's prompt: it waits for a key
	if !strings.Contains(r.text(), "\x1b[1mNETID") && !strings.Contains(r.text(), "NETID\x1b") {
		t.Errorf("the header lost its colour in less: %q", r.text())
	}
	if _, err := r.master.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t); code != ExitOK {
		t.Errorf("quitting less: exit %d: %s", code, r.stderr.String())
	}
	// One screen was shown, not the whole table.
	if hasPorts(r.text(), ports) {
		t.Errorf("the whole table reached the terminal: was it paged? %q", r.text())
	}
}
