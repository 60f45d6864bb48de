package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// runCLI calls Main in-process with piped (non-TTY) output.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, Getenv: func(string) string { return "" }})
	return out.String(), errb.String(), code
}

// server opens a loopback listener with n accepted connections.
func server(t *testing.T, n int) (port int, conns []net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	for range n {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		a, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(); a.Close() })
		conns = append(conns, c, a)
	}
	return ln.Addr().(*net.TCPAddr).Port, conns
}

type jsonSocket struct {
	Proto   string `json:"proto"`
	Family  string `json:"family"`
	State   string `json:"state"`
	Local   string `json:"local"`
	Remote  string `json:"remote"`
	Inode   uint64 `json:"inode"`
	Cookie  uint64 `json:"cookie"`
	UID     uint32 `json:"uid"`
	Holders []struct {
		PID     int    `json:"pid"`
		FD      int    `json:"fd"`
		Comm    string `json:"comm"`
		Cmdline string `json:"cmdline"`
		User    string `json:"user"`
	} `json:"holders"`
}

func holdsMe(s jsonSocket) bool {
	for _, h := range s.Holders {
		if h.PID == os.Getpid() {
			return true
		}
	}
	return false
}

func TestLsJSON(t *testing.T) {
	port, _ := server(t, 2)
	out, stderr, code := runCLI(t, "ls", "-tanp", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Version int          `json:"version"`
		Sockets []jsonSocket `json:"sockets"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, out)
	}
	if doc.Version != 1 {
		t.Errorf("version %d, want 1", doc.Version)
	}
	local := "127.0.0.1:" + strconv.Itoa(port)
	var listen, estab int
	for _, s := range doc.Sockets {
		if s.Local != local {
			continue
		}
		if s.Proto != "tcp" || s.Family != "inet" || s.Inode == 0 || s.Cookie == 0 || !holdsMe(s) {
			t.Errorf("socket on %s: %+v, want tcp/inet with inode, cookie and this process as holder", local, s)
		}
		switch s.State {
		case "LISTEN":
			listen++
			if s.Remote != "0.0.0.0:*" { // as ss prints an IPv4 listener's peer
				t.Errorf("listener remote %q, want 0.0.0.0:*", s.Remote)
			}
		case "ESTAB":
			estab++
		}
	}
	if listen != 1 || estab != 2 {
		t.Errorf("on %s: %d LISTEN and %d ESTAB, want 1 and 2 (the port is shared)", local, listen, estab)
	}
}

func TestLsPipedTable(t *testing.T) {
	port, _ := server(t, 1)
	out, _, code := runCLI(t, "ls", "-tln")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	want := "127.0.0.1:" + strconv.Itoa(port)
	found := false
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 6 {
			t.Fatalf("piped row has %d tab-separated fields, want 6: %q", len(f), line)
		}
		if f[0] != "tcp" || f[1] != "LISTEN" {
			t.Errorf("ls -tln listed %q", line)
		}
		if f[4] == want {
			found = true
		}
		if strings.Contains(line, "\x1b") {
			t.Errorf("colour in piped output: %q", line)
		}
	}
	if !found {
		t.Errorf("listener %s missing from:\n%s", want, out)
	}
	// Without -a or -l: connected sockets only, as ss.
	out, _, _ = runCLI(t, "ls", "-tn")
	if strings.Contains(out, "LISTEN") {
		t.Errorf("ls -tn lists listeners:\n%s", out)
	}
}

func TestFilterAndPortView(t *testing.T) {
	port, _ := server(t, 3)
	p := strconv.Itoa(port)
	out, _, code := runCLI(t, "ls", "-ta", "-o", "ndjson", "sport", "=", ":"+p)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Errorf("sport = :%s gave %d sockets, want 4 (listener + 3 accepted):\n%s", p, len(lines), out)
	}
	for _, l := range lines {
		var s jsonSocket
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatalf("ndjson line: %v: %q", err, l)
		}
		if !strings.HasSuffix(s.Local, ":"+p) {
			t.Errorf("filter let through %+v", s)
		}
	}
	for _, args := range [][]string{{"port", p, "-o", "json"}, {":" + p, "-o", "json"}, {"-o", "json"}} {
		out, stderr, code := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var doc struct {
			Ports []struct {
				Proto     string         `json:"proto"`
				Port      int            `json:"port"`
				Listeners []jsonSocket   `json:"listeners"`
				Sockets   int            `json:"sockets"`
				States    map[string]int `json:"states"`
			} `json:"ports"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v: invalid JSON: %v", args, err)
		}
		ok := false
		for _, b := range doc.Ports {
			if b.Port != port || b.Proto != "tcp" {
				continue
			}
			ok = true
			if len(b.Listeners) != 1 || !holdsMe(b.Listeners[0]) || b.Sockets != 3 || b.States["ESTAB"] != 3 {
				t.Errorf("%v: block for %d = %d listeners (held by me: %v), %d sharing sockets %v; want 1 held by pid %d, 3 ESTAB",
					args, port, len(b.Listeners), len(b.Listeners) > 0 && holdsMe(b.Listeners[0]), b.Sockets, b.States, os.Getpid())
			}
		}
		if !ok {
			t.Errorf("%v: no block for tcp/%d", args, port)
		}
	}
	// The table form of `port` says what it is about.
	out, _, _ = runCLI(t, "port", p)
	if !strings.Contains(out, "127.0.0.1:"+p) {
		t.Errorf("port %s output lacks the listener:\n%s", p, out)
	}
}

func TestProcByPID(t *testing.T) {
	port, _ := server(t, 1)
	out, stderr, code := runCLI(t, "proc", strconv.Itoa(os.Getpid()), "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Sockets []jsonSocket `json:"sockets"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range doc.Sockets {
		if !holdsMe(s) {
			t.Errorf("proc %d lists a socket it does not hold: %+v", os.Getpid(), s)
		}
		if strings.HasSuffix(s.Local, fmt.Sprintf(":%d", port)) {
			n++
		}
	}
	if n != 2 {
		t.Errorf("proc lists %d sockets on port %d, want 2 (listener and accepted)", n, port)
	}
}

func TestBadFilterCaret(t *testing.T) {
	_, stderr, code := runCLI(t, "ls", "state", "establised")
	if code != ExitUsage {
		t.Errorf("exit %d, want %d", code, ExitUsage)
	}
	if !strings.Contains(stderr, "establised") || !strings.Contains(stderr, "^") || !strings.Contains(stderr, "established") {
		t.Errorf("stderr does not quote the input, point at it and suggest a fix:\n%s", stderr)
	}
}
