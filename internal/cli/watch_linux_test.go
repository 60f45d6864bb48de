package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sockscope/sockscope/internal/nstest"
	"github.com/sockscope/sockscope/render"
)

type watchLine struct {
	Version int        `json:"version"`
	Time    string     `json:"time"`
	Event   string     `json:"event"`
	Source  string     `json:"source"`
	Socket  jsonSocket `json:"socket"`
}

// startWatch runs Main with args in a goroutine, its output on a pipe. The
// returned channel yields Main's exit code once it returns.
func startWatch(ctx context.Context, args ...string) (*bufio.Scanner, *bytes.Buffer, <-chan int) {
	pr, pw := io.Pipe()
	errb := new(bytes.Buffer)
	done := make(chan int, 1)
	go func() {
		code := Main(ctx, args, IOStreams{In: strings.NewReader(""), Out: pw, ErrOut: errb, Getenv: func(string) string { return "" }})
		pw.Close()
		done <- code
	}()
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	return sc, errb, done
}

// TestWatchNDJSON watches one loopback port while the test changes what
// is on it between snapshots: a listener seen by the first snapshot is
// closed and another opened on the same port, and a connection is made.
// The stream must report each socket's arrival and the closed listener's
// removal once, identified by inode and cookie. Destroy events need no
// privilege, so this runs the same as root and as nobody.
func TestWatchNDJSON(t *testing.T) {
	ln1, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln1.Close()
	addr := ln1.Addr().String()
	port := ln1.Addr().(*net.TCPAddr).Port
	ln1Inode := nstest.ConnInode(t, ln1.(*net.TCPListener))

	sc, errb, done := startWatch(context.Background(), "watch", "-t", "-a", "--count", "3", "--interval", "200ms", "-o", "ndjson",
		fmt.Sprintf("( sport = :%d or dport = :%d )", port, port))

	var lines []watchLine
	var raw []string
	acted := false
	var ln2Inode, cInode, aInode uint64
	for sc.Scan() {
		line := sc.Text()
		raw = append(raw, line)
		var ev watchLine
		if !json.Valid([]byte(line)) {
			t.Errorf("invalid JSON line: %q", line)
			continue
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Errorf("line %q: %v", line, err)
			continue
		}
		lines = append(lines, ev)
		if !acted && ev.Event == "added" && ev.Socket.Inode == ln1Inode {
			// The first snapshot is out: change the port before the next.
			acted = true
			c, err := net.Dial("tcp4", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			a, err := ln1.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			cInode = nstest.ConnInode(t, c.(*net.TCPConn))
			aInode = nstest.ConnInode(t, a.(*net.TCPConn))
			ln1.Close()
			ln2, err := net.Listen("tcp4", addr)
			if err != nil {
				t.Fatalf("listen again on %s: %v", addr, err)
			}
			defer ln2.Close()
			ln2Inode = nstest.ConnInode(t, ln2.(*net.TCPListener))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !acted {
		t.Fatalf("no added event for the listener (inode %d); output:\n%s", ln1Inode, strings.Join(raw, "\n"))
	}

	seen := map[string]int{}
	cookieOf := map[uint64]uint64{} // inode -> cookie from added events
	var ln1Cookie uint64
	for _, ev := range lines {
		if ev.Version != 1 {
			t.Errorf("version %d, want 1", ev.Version)
		}
		if _, err := time.Parse(time.RFC3339Nano, ev.Time); err != nil {
			t.Errorf("time %q: %v", ev.Time, err)
		}
		if ev.Source != "poll" && ev.Source != "destroy-event" {
			t.Errorf("source %q", ev.Source)
		}
		if ev.Event != "added" && ev.Event != "removed" && ev.Event != "changed" {
			t.Errorf("event %q", ev.Event)
		}
		if ev.Socket.Cookie == 0 {
			t.Errorf("event without a cookie: %+v", ev)
		}
		if ev.Socket.Proto != "tcp" || !strings.HasSuffix(ev.Socket.Local, fmt.Sprintf(":%d", port)) && !strings.HasSuffix(ev.Socket.Remote, fmt.Sprintf(":%d", port)) {
			t.Errorf("socket outside the filter: %+v", ev.Socket)
		}
		key := fmt.Sprintf("%s/%d", ev.Event, ev.Socket.Cookie)
		if seen[key]++; seen[key] == 2 {
			t.Errorf("duplicate %s of cookie %d", ev.Event, ev.Socket.Cookie)
		}
		if ev.Event == "added" {
			cookieOf[ev.Socket.Inode] = ev.Socket.Cookie
			if ev.Socket.Inode == ln1Inode {
				ln1Cookie = ev.Socket.Cookie
			}
		}
	}
	for name, ino := range map[string]uint64{"first listener": ln1Inode, "second listener": ln2Inode, "client": cInode, "accepted": aInode} {
		if _, ok := cookieOf[ino]; !ok {
			t.Errorf("no added event for the %s (inode %d)", name, ino)
		}
	}
	if cookieOf[ln1Inode] == cookieOf[ln2Inode] {
		t.Errorf("both listeners on %s have cookie %d: a socket is not its endpoint", addr, ln1Cookie)
	}
	if seen[fmt.Sprintf("removed/%d", ln1Cookie)] != 1 {
		t.Errorf("no removed event for the closed listener (cookie %d)", ln1Cookie)
	}
	for _, ev := range lines {
		if ev.Event == "removed" && ev.Socket.Cookie != ln1Cookie {
			t.Errorf("removed a socket still open: %+v", ev.Socket)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("output:\n%s", strings.Join(raw, "\n"))
	}
}

// TestWatchOutputs checks the output choice: without -o a pipe gets the
// event stream, -o json and bad pacing are usage errors, and a terminal
// gets a redrawn table.
func TestWatchOutputs(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	flt := fmt.Sprintf("sport = :%d", port)

	out, stderr, code := runCLI(t, "watch", "-tl", "--count", "1", "--interval", "50ms", flt)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var ev watchLine
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &ev); err != nil || ev.Event != "added" || ev.Socket.Inode != nstest.ConnInode(t, ln.(*net.TCPListener)) {
		t.Errorf("piped default output %q (%v): want one added event for the listener", out, err)
	}

	if _, stderr, code := runCLI(t, "watch", "-o", "json", "--count", "1"); code != ExitUsage || !strings.Contains(stderr, "ndjson") {
		t.Errorf("-o json: exit %d, stderr %q; want usage error naming ndjson", code, stderr)
	}
	for _, bad := range [][]string{{"--interval", "0s"}, {"--count", "-1"}} {
		if _, _, code := runCLI(t, append([]string{"watch", "--count", "1"}, bad...)...); code != ExitUsage {
			t.Errorf("watch %v: exit %d, want %d", bad, code, ExitUsage)
		}
	}

	// A terminal gets a cleared, redrawn screen. Between the two frames
	// the listener is replaced by another on the same port: a new socket,
	// marked '+', and the old one counted as removed.
	var tty bytes.Buffer
	var ln2 net.Listener
	w := writerFunc(func(p []byte) (int, error) {
		tty.Write(p)
		if ln2 == nil {
			ln.Close()
			var err error
			if ln2, err = net.Listen("tcp4", ln.Addr().String()); err != nil {
				return 0, err
			}
		}
		return len(p), nil
	})
	var errb bytes.Buffer
	code = Main(context.Background(), []string{"watch", "-tl", "-n", "--no-color", "--count", "2", "--interval", "200ms", flt},
		IOStreams{In: strings.NewReader(""), Out: w, ErrOut: &errb, OutTTY: true, Getenv: func(string) string { return "" }})
	if ln2 != nil {
		defer ln2.Close()
	}
	if code != 0 {
		t.Fatalf("tty: exit %d: %s", code, errb.String())
	}
	frames := strings.Split(tty.String(), render.ClearScreen)
	if len(frames) != 3 || frames[0] != "" {
		t.Fatalf("tty output has %d screen clears, want 2:\n%q", len(frames)-1, tty.String())
	}
	row := fmt.Sprintf("127.0.0.1:%d", port)
	if !strings.Contains(frames[1], "1 socket  +1 -0 ~0") || !strings.Contains(frames[1], row) {
		t.Errorf("first frame lacks the header or the listener:\n%s", frames[1])
	}
	if !strings.Contains(frames[2], "1 socket  +1 -1 ~0") {
		t.Errorf("second frame header, want +1 -1:\n%s", frames[2])
	}
	marked := false
	for _, l := range strings.Split(frames[2], "\n") {
		if strings.HasPrefix(l, "+") && strings.Contains(l, row) {
			marked = true
		}
	}
	if !marked {
		t.Errorf("second frame has no '+' row for the new listener:\n%s", frames[2])
	}
}

// TestWatchCancel checks that Ctrl-C (a cancelled context) ends an
// unbounded watch at once and quietly, leaving no goroutine or descriptor
// behind (the destroy-event socket is closed).
func TestWatchCancel(t *testing.T) {
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	// Warm up once so lazily opened files (services, passwd) are counted.
	runCLI(t, "watch", "-t", "--count", "1", "--interval", "10ms")
	fdsBefore, goBefore := fds(), runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	sc, errb, done := startWatch(ctx, "watch", "-t", "-a", "--interval", "100ms", "-o", "ndjson")
	// Cancel once it is running: after its first line (the sockets of
	// the first snapshot), or after 5 s if it prints none.
	running := make(chan struct{})
	go func() {
		first := true
		for sc.Scan() {
			if first {
				first = false
				close(running)
			}
		}
	}()
	select {
	case <-running:
	case <-time.After(5 * time.Second):
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 && code != 130 {
			t.Errorf("exit %d after cancel, want 0 or 130", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch still running 5s after cancel")
	}
	if errb.Len() > 0 {
		t.Errorf("stderr after cancel: %q", errb.String())
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && (runtime.NumGoroutine() > goBefore || fds() > fdsBefore) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goBefore {
		t.Errorf("%d goroutines after watch, %d before", n, goBefore)
	}
	if n := fds(); n > fdsBefore {
		t.Errorf("%d descriptors after watch, %d before", n, fdsBefore)
	}
}

// TestWatchTimeWait closes both ends of a loopback connection while
// TIME-WAIT sockets are watched (-a). The kernel frees the closer's struct
// sock (a destroy event) but keeps a TIME-WAIT minisocket with the same
// cookie, so the stream must say "changed" to TIME-WAIT for it, never
// "removed"; the other end is gone and is "removed" once.
func TestWatchTimeWait(t *testing.T) {
	port, conns := server(t, 1)
	c, a := conns[0], conns[1]
	cInode, aInode := nstest.ConnInode(t, c.(*net.TCPConn)), nstest.ConnInode(t, a.(*net.TCPConn))
	sc, errb, done := startWatch(context.Background(), "watch", "-t", "-a", "--count", "2", "--interval", "300ms", "-o", "ndjson",
		fmt.Sprintf("( sport = :%d or dport = :%d )", port, port))
	var lines []watchLine
	var raw []string
	closed := false
	cookies := map[uint64]uint64{}
	for sc.Scan() {
		raw = append(raw, sc.Text())
		var ev watchLine
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, ev)
		if ev.Event == "added" {
			cookies[ev.Socket.Inode] = ev.Socket.Cookie
		}
		if !closed && cookies[cInode] != 0 && cookies[aInode] != 0 {
			closed = true
			c.Close() // active close: c ends in TIME-WAIT
			// a closes once c's FIN has arrived (it reads EOF), so
			// that the close is not simultaneous.
			a.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := a.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("read on the passive end after the peer closed: %v, want EOF", err)
			}
			a.Close()
		}
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	count := func(event string, cookie uint64) (n int, state string) {
		for _, ev := range lines {
			if ev.Event == event && ev.Socket.Cookie == cookie {
				n++
				state = ev.Socket.State
			}
		}
		return n, state
	}
	if n, st := count("changed", cookies[cInode]); n != 1 || st != "TIME-WAIT" {
		t.Errorf("closer: %d changed events, last state %q; want 1, TIME-WAIT", n, st)
	}
	if n, _ := count("removed", cookies[cInode]); n != 0 {
		t.Errorf("closer reported removed %d times; it lives on in TIME-WAIT", n)
	}
	if n, _ := count("removed", cookies[aInode]); n != 1 {
		t.Errorf("other end: %d removed events, want 1", n)
	}
	if t.Failed() {
		t.Logf("output:\n%s", strings.Join(raw, "\n"))
	}
}

// TestWatchFitsTerminal: in a terminal 7 rows high, a frame of this
// test's 10 UDP sockets shows the header, the table heading and 3 rows,
// and says how many rows are left out, so the header never scrolls away.
// In a pipe every row is printed.
func TestWatchFitsTerminal(t *testing.T) {
	var terms []string
	for range 10 {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		terms = append(terms, fmt.Sprintf("sport = :%d", c.LocalAddr().(*net.UDPAddr).Port))
	}
	flt := "( " + strings.Join(terms, " or ") + " ) and src 127.0.0.1"
	var tty bytes.Buffer
	var errb bytes.Buffer
	code := Main(context.Background(), []string{"watch", "-ua", "-n", "--no-color", "--count", "1", flt},
		IOStreams{In: strings.NewReader(""), Out: &tty, ErrOut: &errb, OutTTY: true, Getenv: func(string) string { return "" },
			TermSize: func() (int, int, error) { return 80, 7, nil }})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	frame := strings.TrimPrefix(tty.String(), render.ClearScreen)
	lines := strings.Split(strings.TrimSuffix(frame, "\n"), "\n")
	if len(lines) != 6 || !strings.Contains(lines[0], "10 sockets") || !strings.Contains(lines[0], "1 snapshot)") || lines[5] != "… 7 more rows not shown" {
		t.Errorf("frame in a 7-row terminal, want header, heading, 3 rows and a count of 7 hidden:\n%s", frame)
	}
	for _, l := range lines[2:5] {
		if !strings.Contains(l, "127.0.0.1:") {
			t.Errorf("row %q is not one of the test's sockets", l)
		}
	}

	// An unknown size (not a terminal, or the query failed) cuts nothing.
	tty.Reset()
	code = Main(context.Background(), []string{"watch", "-ua", "-n", "--no-color", "--count", "1", flt},
		IOStreams{In: strings.NewReader(""), Out: &tty, ErrOut: &errb, OutTTY: true, Getenv: func(string) string { return "" },
			TermSize: func() (int, int, error) { return 0, 0, errors.New("not a terminal") }})
	if n := strings.Count(tty.String(), "127.0.0.1:"); code != 0 || n != 10 || strings.Contains(tty.String(), "not shown") {
		t.Errorf("size unknown: exit %d, %d rows:\n%s", code, n, tty.String())
	}
}
