//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/sockscope/sockscope/internal/cli"
)

// checkClean fails if out holds a byte that would act on a terminal: C0
// controls other than newline and tab, DEL, C1 controls, or invalid UTF-8.
func checkClean(t *testing.T, what string, out []byte) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Errorf("%s: output is not valid UTF-8", what)
	}
	for i, r := range string(out) {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			t.Errorf("%s: raw control %U at byte %d: %q", what, r, i, out[max(0, i-40):min(len(out), i+40)])
			return
		}
	}
}

// TestHostileStrings runs a real process whose name and arguments hold
// escape sequences, newlines, invalid UTF-8 and great length, holding a TCP
// listener and Unix sockets bound at hostile paths and abstract names, and
// checks that table output shows them escaped and JSON encodes them.
func TestHostileStrings(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh(1)")
	}
	dir := t.TempDir()
	// comm is the executable's base name, cut to 15 bytes.
	// Not an SGR (colour) sequence, so it cannot be confused with
	// sockscope's own colours in terminal output.
	evilName := "e\x1b[2J\n\xff\x07"
	exe := filepath.Join(dir, evilName)
	if err := os.Symlink(sh, exe); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("L", 100000)
	// sh ignores the arguments after its script; the script's sleep
	// inherits the sockets too. The whole process group is killed when
	// the test ends, so the sleep only has to outlast the test.
	args := []string{"-c", "sleep 600; :", "\x1b]0;title\x07", "line1\nline2", "bad\xfe\xffutf8", "\u202eevil", long}

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	paths := []string{
		filepath.Join(dir, "s\x1b[31m\n\x07"),
		filepath.Join(dir, "u\xff\xfe"),
		// Abstract names are per network namespace, not per directory:
		// make it unique so that reruns (-count=N) and parallel runs of
		// this test do not collide.
		"@sockscope-e2e-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(hostileRun.Add(1), 10) + "\x00nul\x1b]0;t\x07",
	}
	files := []*os.File{}
	for _, l := range []net.Listener{ln} {
		f, err := l.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	for _, p := range paths {
		ul, err := net.Listen("unix", p)
		if err != nil {
			t.Fatalf("listen on %q: %v", p, err)
		}
		defer ul.Close()
		f, err := ul.(*net.UnixListener).File()
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	cmd := exec.Command(exe, args...)
	cmd.ExtraFiles = files
	// Its own process group, so that the cleanup ends sh and the sleep it
	// forked (which holds the sockets too) together.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		f.Close()
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	pid := cmd.Process.Pid

	// Piped table output, from the binary.
	r := run(t, "-n", "ls", "-a", "-p", "-x", "-t")
	if r.code != 0 {
		t.Fatalf("ls: exit %d; stderr:\n%s", r.code, r.err)
	}
	checkClean(t, "piped table", r.out)
	checkClean(t, "stderr", r.err)
	for _, want := range []string{`e\x1b[2J\n\xff\x07`, `s\x1b[31m\n\x07`, `u\xff\xfe`, `pid=` + strconv.Itoa(pid)} {
		if !bytes.Contains(r.out, []byte(want)) {
			t.Errorf("piped table does not show %s", want)
		}
	}
	// Each socket is one row: the escaped newline does not split it.
	for _, l := range strings.Split(string(r.out), "\n") {
		if strings.Contains(l, "pid="+strconv.Itoa(pid)) && !strings.HasPrefix(l, "tcp") && !strings.HasPrefix(l, "u_") {
			t.Errorf("a row of the hostile process starts oddly: %.200q", l)
		}
	}

	// Terminal table output and the ports and proc views, in-process.
	for _, argv := range [][]string{{"-n", "ls", "-a", "-p", "-x", "-t", "-e"}, {"-n"}, {"-n", "proc", strconv.Itoa(pid)}, {"-n", ":" + port}} {
		var out, errb bytes.Buffer
		code := cli.Main(context.Background(), argv, cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, OutTTY: true, Getenv: func(string) string { return "" }})
		if code != 0 {
			t.Fatalf("%q: exit %d; stderr:\n%s", argv, code, errb.String())
		}
		// Colour is on: strip only our own SGR sequences, then check.
		clean := stripSGR(out.Bytes())
		checkClean(t, strings.Join(argv, " ")+" (tty)", clean)
		if !bytes.Contains(clean, []byte(`\x1b[2J`)) && !bytes.Contains(clean, []byte(`\x1b[31m`)) {
			t.Errorf("%q (tty): the hostile name is not shown escaped:\n%s", argv, clean)
		}
	}

	// JSON: valid, and valid-UTF-8 strings come back exactly.
	r = run(t, "-o", "json", "ls", "-a", "-p", "-x", "-t")
	if r.code != 0 {
		t.Fatalf("ls -o json: exit %d; stderr:\n%s", r.code, r.err)
	}
	doc := decodeDoc(t, r.out)
	var argv []string
	var comm string
	gotPaths := map[string]bool{}
	for _, s := range doc.Sockets {
		for _, h := range s.Holders {
			if h.PID == pid {
				argv, comm = h.Argv, h.Comm
				gotPaths[s.Path] = true
			}
		}
	}
	if argv == nil {
		t.Fatalf("pid %d is not a holder in the JSON output", pid)
	}
	if want := "e\x1b[2J\n\ufffd\x07"; comm != want {
		t.Errorf("comm = %q, want %q", comm, want)
	}
	for i, a := range args[:6] {
		want := strings.ToValidUTF8(a, "\ufffd\ufffd")
		if i+1 >= len(argv) || argv[i+1] != want && argv[i+1] != strings.ToValidUTF8(a, "\ufffd") {
			t.Errorf("argv[%d] = %q, want %q", i+1, safeIndex(argv, i+1), a)
		}
	}
	if len(argv) > 7 && !strings.HasPrefix(long, argv[7]) {
		t.Errorf("the long argument comes back altered")
	}
	for _, p := range paths[:1] {
		if !gotPaths[p] {
			t.Errorf("Unix socket path %q not found in JSON (have %v)", p, gotPaths)
		}
	}
	abstract := false
	for p := range gotPaths {
		if strings.Contains(p, "sockscope-e2e") {
			abstract = true
			var v string
			if err := json.Unmarshal(appendQuoted(p), &v); err != nil {
				t.Errorf("abstract name %q: %v", p, err)
			}
		}
	}
	if !abstract {
		t.Errorf("the abstract socket is missing from JSON (have %v)", gotPaths)
	}
	// NDJSON: every line valid.
	r = run(t, "-o", "ndjson", "ls", "-a", "-p", "-x", "-t")
	for i, l := range bytes.Split(bytes.TrimSuffix(r.out, []byte("\n")), []byte("\n")) {
		if !json.Valid(l) {
			t.Fatalf("NDJSON line %d is not valid: %.200q", i+1, l)
		}
	}
}

// hostileRun numbers the runs of TestHostileStrings in this process.
var hostileRun atomic.Int64

func safeIndex(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "<missing>"
}

func appendQuoted(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// stripSGR removes sockscope's own colour sequences (ESC [ digits/; m).
func stripSGR(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] == 0x1b && i+1 < len(b) && b[i+1] == '[' {
			j := i + 2
			for j < len(b) && (b[j] >= '0' && b[j] <= '9' || b[j] == ';') {
				j++
			}
			if j < len(b) && b[j] == 'm' {
				i = j
				continue
			}
		}
		out = append(out, b[i])
	}
	return out
}
