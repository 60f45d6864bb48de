package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sockscope/sockscope/internal/nstest"
)

// jqLocal is a jq expression selecting the sockets whose local endpoint
// ends in :port.
func jqLocal(port int) string {
	return fmt.Sprintf(`.sockets[] | select(.local | endswith(":%d"))`, port)
}

// TestJQListener: --jq picks the test's listener out of ls's JSON; its
// inode is the one the kernel gave the socket, its endpoint is printed
// raw, an object as compact JSON.
func TestJQListener(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	inode := nstest.ConnInode(t, ln.(*net.TCPListener))

	cases := []struct{ expr, want string }{
		{jqLocal(port) + " | .inode", strconv.FormatUint(inode, 10) + "\n"},
		{jqLocal(port) + " | .local", fmt.Sprintf("127.0.0.1:%d\n", port)},
		{jqLocal(port) + " | {state, local}", fmt.Sprintf(`{"local":"127.0.0.1:%d","state":"LISTEN"}`+"\n", port)},
		{jqLocal(port) + " | .local, .state", fmt.Sprintf("127.0.0.1:%d\nLISTEN\n", port)},
	}
	for _, c := range cases {
		out, errOut, code := runCLI(t, "ls", "-tln", "--jq", c.expr)
		if code != ExitOK || out != c.want {
			t.Errorf("ls -tln --jq %q: exit %d, stdout %q, want %q\nstderr: %s", c.expr, code, out, c.want, errOut)
		}
	}

	// -o ndjson: the expression runs over each socket's line.
	expr := fmt.Sprintf(`select(.local == "127.0.0.1:%d") | .inode`, port)
	out, errOut, code := runCLI(t, "ls", "-tln", "-o", "ndjson", "--jq", expr)
	if want := strconv.FormatUint(inode, 10) + "\n"; code != ExitOK || out != want {
		t.Errorf("ls -o ndjson --jq %q: exit %d, stdout %q, want %q\nstderr: %s", expr, code, out, want, errOut)
	}

	// The port command's document (with holders): the listener is ours,
	// held by this process.
	out, errOut, code = runCLI(t, "port", strconv.Itoa(port), "--jq", `.ports[].listeners[] | [.inode, (.holders[] | .pid)] | @tsv`)
	if want := fmt.Sprintf("%d\t%d\n", inode, os.Getpid()); code != ExitOK || !strings.HasPrefix(out, want) {
		t.Errorf("port --jq: exit %d, stdout %q, want it to start with %q\nstderr: %s", code, out, want, errOut)
	}
}

// TestJQKeepsBigNumbers: a socket cookie is a 64-bit number; --jq prints
// it digit for digit as -o json does, not rounded through a float.
func TestJQKeepsBigNumbers(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	doc, errOut, code := runCLI(t, "ls", "-tln", "-o", "json")
	if code != ExitOK {
		t.Fatalf("ls -o json: exit %d: %s", code, errOut)
	}
	var d struct {
		Sockets []struct {
			Local  string      `json:"local"`
			Cookie json.Number `json:"cookie"`
		} `json:"sockets"`
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	want := ""
	for _, s := range d.Sockets {
		if s.Local == fmt.Sprintf("127.0.0.1:%d", port) {
			want = s.Cookie.String() + "\n"
		}
	}
	if want == "" {
		t.Fatalf("the listener on port %d is not in ls -o json", port)
	}
	out, errOut, code := runCLI(t, "ls", "-tln", "--jq", jqLocal(port)+" | .cookie")
	if code != ExitOK || out != want {
		t.Errorf("--jq .cookie: exit %d, %q, want %q (from -o json)\n%s", code, out, want, errOut)
	}
}

// TestJQHostileString: a string is printed raw into a pipe (byte for
// byte, as jq -r and gh do), but escaped on a terminal.
func TestJQHostileString(t *testing.T) {
	name := fmt.Sprintf("hab\x1b[31m%d.sock", os.Getpid())
	path := filepath.Join(t.TempDir(), name)
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Skipf("cannot listen on %q: %v", path, err)
	}
	defer ln.Close()
	lit, _ := json.Marshal(name)
	expr := fmt.Sprintf(`.sockets[] | select(.path | endswith(%s)) | .path`, lit)

	out, errOut, code := runCLI(t, "ls", "-xl", "--jq", expr)
	if code != ExitOK || out != path+"\n" {
		t.Errorf("in a pipe: exit %d, %q, want %q\n%s", code, out, path+"\n", errOut)
	}
	var o, e bytes.Buffer
	code = Main(context.Background(), []string{"ls", "-xl", "--jq", expr},
		IOStreams{In: strings.NewReader(""), Out: &o, ErrOut: &e, OutTTY: true, Getenv: func(string) string { return "" }})
	if code != ExitOK || !strings.Contains(o.String(), ".sock") || strings.ContainsRune(o.String(), 0x1b) {
		t.Errorf("on a terminal: exit %d, %q: want the path with its ESC escaped\n%s", code, o.String(), e.String())
	}
}

// TestJQWatch: with watch, --jq reads each event as it comes.
func TestJQWatch(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	expr := fmt.Sprintf(`select(.socket.local == "127.0.0.1:%d") | [.event, .socket.state] | join(" ")`, port)
	out, errOut, code := runCLI(t, "watch", "-tl", "--count", "1", "--jq", expr)
	if code != ExitOK || out != "added LISTEN\n" {
		t.Errorf("watch --jq: exit %d, %q, want %q\n%s", code, out, "added LISTEN\n", errOut)
	}
}

// TestJQErrors: a bad expression is a usage error that quotes it and
// points at the mistake; an error while it runs exits 1.
func TestJQErrors(t *testing.T) {
	for _, c := range []struct {
		expr  string
		caret int    // the offset the caret points at, -1: no caret line
		msg   string // in the message
	}{
		{".sockets[] | | .inode", 13, `unexpected token "|"`},
		{".sockets[] | (.local", 20, "unexpected EOF"},
		{".foo | foo(1)", 7, "function not defined: foo/1"},
		{`.sockets[] | "abc`, 13, "unterminated string"},
	} {
		out, errOut, code := runCLI(t, "ls", "-tln", "--jq", c.expr)
		if code != ExitUsage || out != "" {
			t.Errorf("--jq %q: exit %d, stdout %q; want exit %d, no output", c.expr, code, out, ExitUsage)
		}
		if !strings.Contains(errOut, strconv.Quote(c.expr)) || !strings.Contains(errOut, c.msg) {
			t.Errorf("--jq %q: the message does not quote the expression or say %q:\n%s", c.expr, c.msg, errOut)
		}
		lines := strings.Split(errOut, "\n")
		found := false
		for i := 0; i+1 < len(lines); i++ {
			if lines[i] == c.expr {
				found = lines[i+1] == strings.Repeat(" ", c.caret)+"^"
			}
		}
		if !found {
			t.Errorf("--jq %q: no caret under offset %d:\n%s", c.expr, c.caret, errOut)
		}
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"ls", "-tln", "--jq", `.sockets | error("boom")`}, ExitError, "boom"},
		{[]string{"ls", "-tln", "--jq", `.sockets[0].nope.deeper | keys`}, ExitError, "keys"},
		{[]string{"ls", "-tln", "--jq", ""}, ExitUsage, "--jq needs an expression"},
		{[]string{"ls", "-tln", "-o", "table", "--jq", "."}, ExitUsage, "drop -o table"},
		{[]string{"serve", "--jq", "."}, ExitUsage, "serve prints no JSON"},
	} {
		_, errOut, code := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%q: exit %d, want %d with %q:\n%s", c.args, code, c.code, c.msg, errOut)
		}
	}
}
