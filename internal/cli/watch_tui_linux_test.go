package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// ptyOutput collects what the program writes to a pty.
type ptyOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *ptyOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *ptyOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor polls out until it contains s, for at most d.
func (o *ptyOutput) waitFor(t *testing.T, s string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(o.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("%q not on the terminal after %s; it shows:\n%q", s, d, o.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ptyInputs keeps the views' input files reachable (and so open) until
// the test binary exits.
var ptyInputs []*os.File

// startWatchPTY runs Main with args on a new pty of 120x30, input and
// output, as a user's terminal. It returns the pty's controlling side
// (the keyboard), its terminal side, the output so far, and Main's exit
// status once it returns.
func startWatchPTY(t *testing.T, ctx context.Context, args ...string) (*os.File, *os.File, *ptyOutput, <-chan int) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 30, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	out := &ptyOutput{}
	go func() { _, _ = io.Copy(out, ptmx) }() // ends when ptmx is closed
	errb := &ptyOutput{}
	// The view's input is a file of its own, never closed here: the
	// terminal library's reader may still be reading it when Main has
	// returned (it waits for that reader only a while), and closing the
	// same *os.File would race with that read.
	infd, err := unix.Dup(int(tty.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	in := os.NewFile(uintptr(infd), tty.Name())
	ptyInputs = append(ptyInputs, in)
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, args, IOStreams{In: in, Out: tty, ErrOut: errb, OutTTY: true,
			Getenv:   func(string) string { return "" },
			TermSize: func() (int, int, error) { return term.GetSize(int(tty.Fd())) }})
	}()
	return ptmx, tty, out, done
}

// waitExit waits at most d for Main's status.
func waitExit(t *testing.T, done <-chan int, d time.Duration) int {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(d):
		t.Fatalf("watch did not end within %s", d)
		return -1
	}
}

// TestWatchTUIOnPTY runs watch on a pseudo-terminal against a listener
// the test opens: the full-screen view (the alternate screen) shows it, and
// q, Ctrl-C (a key in the view's raw mode) or an interrupt (SIGINT from
// elsewhere: the context's end) ends watch with status 0, the terminal
// back in its own mode and off the alternate screen.
func TestWatchTUIOnPTY(t *testing.T) {
	for _, quit := range []string{"q", "\x03", ""} {
		name := strconv.Quote(quit)
		if quit == "" {
			name = "interrupt"
		}
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			addr := ln.Addr().String()
			port := ln.Addr().(*net.TCPAddr).Port

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			kb, tty, out, done := startWatchPTY(t, ctx, "watch", "-tln", "--interval", "50ms", "sport = :"+strconv.Itoa(port))
			before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			out.waitFor(t, addr, 10*time.Second)
			if !strings.Contains(out.String(), "\x1b[?1049h") {
				t.Errorf("watch on a terminal did not switch to the alternate screen: %q", out.String())
			}
			if !strings.Contains(out.String(), "1 socket ") {
				t.Errorf("header does not count the one listener: %q", out.String())
			}
			if quit == "" {
				cancel()
			} else if _, err := kb.Write([]byte(quit)); err != nil {
				t.Fatal(err)
			}
			if code := waitExit(t, done, 10*time.Second); code != 0 {
				t.Errorf("watch ended with %d after %s, want 0", code, name)
			}
			out.waitFor(t, "\x1b[?1049l", 5*time.Second) // left the alternate screen
			after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
				t.Errorf("terminal modes not restored: lflag %#x iflag %#x oflag %#x, were %#x %#x %#x",
					after.Lflag, after.Iflag, after.Oflag, before.Lflag, before.Iflag, before.Oflag)
			}
		})
	}
}

// TestWatchNoTUIOnPTY checks that --no-tui keeps the line mode on a
// terminal: the screen cleared and redrawn, no alternate screen, and
// that an interrupt (the context's end) still ends it with 0.
func TestWatchNoTUIOnPTY(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	port := ln.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, _, out, done := startWatchPTY(t, ctx, "watch", "--no-tui", "-tln", "--interval", "50ms", "sport = :"+strconv.Itoa(port))
	out.waitFor(t, addr, 10*time.Second)
	cancel()
	if code := waitExit(t, done, 10*time.Second); code != 0 {
		t.Errorf("watch --no-tui ended with %d on an interrupt, want 0", code)
	}
	s := out.String()
	if strings.Contains(s, "\x1b[?1049h") || !strings.Contains(s, "\x1b[H\x1b[2J") {
		t.Errorf("--no-tui: want the line mode's clear-and-redraw, not the alternate screen: %q", s)
	}
}

// TestWatchTUIClosedOnPTY closes the test's listener while the view
// watches it: its row stays, marked closed (dimmed and struck through),
// and the header counts the removal.
func TestWatchTUIClosedOnPTY(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	port := ln.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kb, _, out, done := startWatchPTY(t, ctx, "watch", "-tln", "--interval", "50ms", "sport = :"+strconv.Itoa(port))
	out.waitFor(t, addr, 10*time.Second)
	ln.Close()
	out.waitFor(t, "\x1b[2;9m-", 10*time.Second)
	out.waitFor(t, "0 sockets  +0 -1 ~0", 10*time.Second)
	if _, err := kb.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, done, 10*time.Second); code != 0 {
		t.Errorf("watch ended with %d after q, want 0", code)
	}
}
