package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakePager writes a pager script that records its input in a file; it
// returns the script's path and the record's.
func fakePager(t *testing.T, body string) (script, record string) {
	t.Helper()
	dir := t.TempDir()
	record = filepath.Join(dir, "record")
	script = filepath.Join(dir, "pager")
	if body == "" {
		body = "cat > '" + record + "'"
	}
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, record
}

// runTerminal runs a command line in-process as if its output were a
// terminal of 80 columns and the given rows, with exactly the
// environment env.
func runTerminal(t *testing.T, rows int, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code = Main(context.Background(), args, IOStreams{
		In: strings.NewReader(""), Out: &out, ErrOut: &errb, OutTTY: true,
		Getenv:    func(k string) string { return env[k] },
		LookupEnv: lookup,
		TermSize:  func() (int, int, error) { return 80, rows, nil },
	})
	return out.String(), errb.String(), code
}

// listeners opens n loopback listeners and returns an ls filter that
// matches exactly them.
func listeners(t *testing.T, n int) (ports []int, filter string) {
	t.Helper()
	var words []string
	for range n {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		p := ln.Addr().(*net.TCPAddr).Port
		ports = append(ports, p)
		words = append(words, "sport = :"+strconv.Itoa(p))
	}
	return ports, "( " + strings.Join(words, " or ") + " )"
}

// hasPorts reports whether text names every port, as 127.0.0.1:PORT.
func hasPorts(text string, ports []int) bool {
	for _, p := range ports {
		if !strings.Contains(text, fmt.Sprintf("127.0.0.1:%d", p)) {
			return false
		}
	}
	return true
}

// TestPager: a table longer than the terminal goes through the pager,
// colour and all; one that fits, JSON, a pipe, watch and the switches
// that turn paging off leave the output on the terminal.
func TestPager(t *testing.T) {
	ports, filter := listeners(t, 12) // a header and 12 rows
	script, record := fakePager(t, "")
	read := func() (string, bool) {
		b, err := os.ReadFile(record)
		if errors.Is(err, os.ErrNotExist) {
			return "", false
		}
		if err != nil {
			t.Fatal(err)
		}
		os.Remove(record)
		return string(b), true
	}
	env := map[string]string{"SOCKSCOPE_PAGER": script, "TERM": "xterm"}

	// 13 lines on a 10-row terminal: paged.
	out, errOut, code := runTerminal(t, 10, env, "ls", "-tln", filter)
	paged, ok := read()
	if code != ExitOK || !ok || !hasPorts(paged, ports) || out != "" {
		t.Fatalf("13 lines on 10 rows: exit %d, pager ran %v, its input %q, terminal %q\n%s", code, ok, paged, out, errOut)
	}
	if !strings.Contains(paged, "\x1b[") {
		t.Errorf("the pager's input has no colour: %q", paged)
	}
	// $PAGER when SOCKSCOPE_PAGER is unset.
	_, errOut, code = runTerminal(t, 10, map[string]string{"PAGER": script}, "ls", "-tln", filter)
	if paged, ok := read(); code != ExitOK || !ok || !hasPorts(paged, ports) {
		t.Errorf("PAGER: exit %d, pager ran %v\n%s", code, ok, errOut)
	}
	// A long line wraps: 13 lines of up to 80 columns on a 40-column
	// terminal take more than 20 rows.
	env40 := map[string]string{"SOCKSCOPE_PAGER": script, "TERM": "xterm"}
	var o, e bytes.Buffer
	code = Main(context.Background(), []string{"ls", "-tln", filter}, IOStreams{
		In: strings.NewReader(""), Out: &o, ErrOut: &e, OutTTY: true,
		Getenv:    func(k string) string { return env40[k] },
		LookupEnv: func(k string) (string, bool) { v, ok := env40[k]; return v, ok },
		TermSize:  func() (int, int, error) { return 20, 20, nil },
	})
	if _, ok := read(); code != ExitOK || !ok {
		t.Errorf("13 lines on 20 rows of 20 columns: exit %d, pager ran %v\n%s", code, ok, e.String())
	}

	for _, c := range []struct {
		name string
		rows int
		env  map[string]string
		args []string
	}{
		{"fits", 40, env, []string{"ls", "-tln", filter}},
		{"json", 10, env, []string{"ls", "-tln", "-o", "json", filter}},
		{"jq", 10, env, []string{"ls", "-tln", "--jq", ".sockets[].local", filter}},
		{"--no-pager", 10, env, []string{"ls", "-tln", "--no-pager", filter}},
		{"SOCKSCOPE_PAGER=", 10, map[string]string{"SOCKSCOPE_PAGER": "", "PAGER": script}, []string{"ls", "-tln", filter}},
		{"PAGER=cat", 10, map[string]string{"PAGER": "cat"}, []string{"ls", "-tln", filter}},
		{"watch", 10, env, []string{"watch", "-tl", "--count", "1", filter}},
	} {
		out, errOut, code := runTerminal(t, c.rows, c.env, c.args...)
		shown := hasPorts(out, ports)
		if c.name == "watch" {
			shown = strings.Contains(out, "LISTEN") // it fits the screen itself
		}
		if _, ran := read(); code != ExitOK || ran || !shown {
			t.Errorf("%s: exit %d, pager ran %v, terminal %q\n%s", c.name, code, ran, out, errOut)
		}
	}

	// Not a terminal: never paged, whatever the size.
	var po, pe bytes.Buffer
	code = Main(context.Background(), []string{"ls", "-tln", filter}, IOStreams{
		In: strings.NewReader(""), Out: &po, ErrOut: &pe,
		Getenv:    func(k string) string { return env[k] },
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		TermSize:  func() (int, int, error) { return 80, 10, nil },
	})
	if _, ran := read(); code != ExitOK || ran || !hasPorts(po.String(), ports) {
		t.Errorf("a pipe: exit %d, pager ran %v, output %q\n%s", code, ran, po.String(), pe.String())
	}
}

// TestPagerQuits: a pager that quits at once, failing, before reading
// anything, is no error of sockscope's: the broken pipe ends the output
// quietly. The table (a row per socket of 2000 this process holds, with
// -p) is larger than a pipe holds, so the writes must meet the broken
// pipe.
func TestPagerQuits(t *testing.T) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < 2500 {
		t.Skipf("needs 2500 open files, the limit is %d (%v)", lim.Cur, err)
	}
	for range 1000 {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	}
	script, _ := fakePager(t, "exec 0<&-\nexit 3")
	args := []string{"ls", "-x", "-p", "pid", strconv.Itoa(os.Getpid())}
	var o, e bytes.Buffer
	code := Main(context.Background(), append(args, "--no-pager"), IOStreams{In: strings.NewReader(""), Out: &o, ErrOut: &e, OutTTY: true,
		Getenv: func(string) string { return "" }, TermSize: func() (int, int, error) { return 80, 10, nil }})
	if code != ExitOK || o.Len() < 128<<10 {
		t.Fatalf("without a pager: exit %d, %d bytes; want over 128 KiB\n%s", code, o.Len(), e.String())
	}
	out, errOut, code := runTerminal(t, 10, map[string]string{"SOCKSCOPE_PAGER": script}, args...)
	// Notes on the host's other processes (hidden holders) may come;
	// nothing else may.
	bad := ""
	for _, l := range strings.Split(strings.TrimSuffix(errOut, "\n"), "\n") {
		if l != "" && !strings.HasPrefix(l, "sockscope: note: ") {
			bad += l + "\n"
		}
	}
	if code != ExitOK || out != "" || bad != "" {
		t.Errorf("pager quit: exit %d, terminal %q, stderr %q; want 0 and nothing", code, out, errOut)
	}
}

// TestPagerMissing: a pager that cannot run leaves the table on the
// terminal, with a note.
func TestPagerMissing(t *testing.T) {
	ports, filter := listeners(t, 12)
	out, errOut, code := runTerminal(t, 10, map[string]string{"SOCKSCOPE_PAGER": "/nonexistent/pager"}, "ls", "-tln", filter)
	if code != ExitOK || !hasPorts(out, ports) || !strings.Contains(errOut, "/nonexistent/pager") {
		t.Errorf("missing pager: exit %d, terminal %q\n%s", code, out, errOut)
	}
}
