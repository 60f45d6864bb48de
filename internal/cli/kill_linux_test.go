package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockscope/sockscope/internal/netns"
)

type killDoc struct {
	DryRun  bool `json:"dry_run"`
	Results []struct {
		Socket jsonSocket `json:"socket"`
		Closed bool       `json:"closed"`
		Errno  *string    `json:"errno"`
		Error  *string    `json:"error"`
	} `json:"results"`
}

func runKillJSON(t *testing.T, wantCode int, args ...string) killDoc {
	t.Helper()
	out, stderr, code := runCLI(t, append(args, "-o", "json")...)
	if code != wantCode {
		t.Fatalf("%v: exit %d, want %d: %s", args, code, wantCode, stderr)
	}
	var d killDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v: invalid JSON: %v\n%s", args, err, out)
	}
	return d
}

// runCLITerminal calls Main as if stdin and stdout were a terminal, with
// input typed on stdin.
func runCLITerminal(t *testing.T, input string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	old := stdinIsTerminal
	stdinIsTerminal = func(io.Reader) bool { return true }
	defer func() { stdinIsTerminal = old }()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, IOStreams{In: strings.NewReader(input), Out: &out, ErrOut: &errb, OutTTY: true, Getenv: func(string) string { return "NO_COLOR" }})
	return out.String(), errb.String(), code
}

// echoes checks that a connection still carries data both ways.
func echoes(t *testing.T, what string, a, b net.Conn) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	if _, err := a.Write([]byte("ping")); err != nil {
		t.Fatalf("%s: write: %v", what, err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(b, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("%s: read %q, %v; want ping", what, buf, err)
	}
}

// readFails checks that a read on c ends with one of the errnos.
func readFails(t *testing.T, what string, c net.Conn, want ...syscall.Errno) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	for _, e := range want {
		if errors.Is(err, e) {
			return
		}
	}
	t.Errorf("%s: read error %v, want one of %v", what, err, want)
}

// TestKill builds, in a private namespace, a listener with two
// connections, and closes one server end by filter: its peer reads
// ECONNRESET, its holder ECONNABORTED, the other connection still works.
// Listeners are refused, a dry run and a refused confirmation close
// nothing, and without a terminal --yes is needed.
func TestKill(t *testing.T) {
	name, ns := privateNS(t, "kill")
	var (
		ln               net.Listener
		clients, servers []net.Conn
	)
	err := netns.Do(ns, func() error {
		var err error
		ln, clients, servers, err = tcpPairs(t, "tcp4", 4)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	cport := func(i int) string { return strconv.Itoa(clients[i].LocalAddr().(*net.TCPAddr).Port) }

	// Safeguards first: nothing may be closed by these.
	if _, stderr, code := runCLI(t, "--netns", name, "kill", "--yes"); code != ExitUsage || !strings.Contains(stderr, "needs a filter") {
		t.Errorf("kill without a filter: exit %d: %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "--netns", name, "kill", "--yes", "sport", "=", ":"+port); code != ExitUsage || !strings.Contains(stderr, "--listeners") {
		t.Errorf("kill selecting the listener: exit %d: %s", code, stderr)
	}
	d := runKillJSON(t, 0, "--netns", name, "kill", "--dry-run", "--listeners", "sport", "=", ":"+port)
	if !d.DryRun || len(d.Results) != 5 {
		t.Errorf("dry run: %+v, want the listener and 4 server ends", d)
	}
	for _, r := range d.Results {
		if r.Closed || r.Error != nil {
			t.Errorf("dry run closed %+v", r)
		}
	}
	if _, stderr, code := runCLI(t, "--netns", name, "kill", "dport", "=", ":"+cport(0)); code != ExitUsage || !strings.Contains(stderr, "--yes") {
		t.Errorf("kill in a pipe without --yes: exit %d: %s", code, stderr)
	}
	if out, stderr, code := runCLITerminal(t, "n\n", "--netns", name, "kill", "dport", "=", ":"+cport(0)); code != ExitError || !strings.Contains(stderr, "[y/N]") || !strings.Contains(stderr, "nothing closed") || out != "" {
		t.Errorf("answered no: exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
	for i := range clients {
		echoes(t, "after the safeguards, connection "+strconv.Itoa(i), clients[i], servers[i])
	}

	// Close server end 0 by filter, answering yes on a terminal.
	out, stderr, code := runCLITerminal(t, "y\n", "--netns", name, "kill", "dport", "=", ":"+cport(0))
	if code != 0 || !strings.Contains(out, "closed") || !strings.Contains(out, ":"+cport(0)) {
		t.Fatalf("kill: exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
	readFails(t, "peer of the closed socket", clients[0], syscall.ECONNRESET, syscall.ECONNABORTED)
	readFails(t, "holder of the closed socket", servers[0], syscall.ECONNABORTED, syscall.ECONNRESET)
	echoes(t, "connection 1", clients[1], servers[1])

	// ls -K with --yes in a pipe: the client end of connection 2.
	d = runKillJSON(t, 0, "--netns", name, "ls", "-K", "--yes", "sport", "=", ":"+cport(2))
	if len(d.Results) != 1 || !d.Results[0].Closed || d.Results[0].Socket.Local != "127.0.0.1:"+cport(2) {
		t.Fatalf("ls -K: %+v", d)
	}
	readFails(t, "peer of the closed client", servers[2], syscall.ECONNRESET, syscall.ECONNABORTED)
	// -A: every namespace is read; the socket is closed inside its own.
	d = runKillJSON(t, 0, "-A", "kill", "--yes", "netns", name, "and", "dport", "=", ":"+cport(3))
	if len(d.Results) != 1 || !d.Results[0].Closed {
		t.Fatalf("-A kill: %+v", d)
	}
	readFails(t, "peer of the socket closed with -A", clients[3], syscall.ECONNRESET, syscall.ECONNABORTED)
	echoes(t, "connection 1 at the end", servers[1], clients[1])
	// The listener still accepts.
	if err := netns.Do(ns, func() error {
		c, err := net.DialTimeout("tcp4", ln.Addr().String(), 5*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}); err != nil {
		t.Errorf("the listener no longer accepts: %v", err)
	}
}

// TestKillUnprivileged: without CAP_NET_ADMIN the kernel refuses with
// EPERM, reported per socket, exit 1, and the connection stays up.
func TestKillUnprivileged(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("runs as a normal user: root may destroy sockets")
	}
	_, clients, servers, err := tcpPairs(t, "tcp4", 1)
	if err != nil {
		t.Fatal(err)
	}
	cport := strconv.Itoa(clients[0].LocalAddr().(*net.TCPAddr).Port)
	d := runKillJSON(t, ExitError, "kill", "--yes", "dport", "=", ":"+cport)
	if len(d.Results) != 1 || d.Results[0].Closed || d.Results[0].Errno == nil || *d.Results[0].Errno != "EPERM" {
		t.Errorf("unprivileged kill: %+v, want one EPERM", d)
	}
	echoes(t, "connection", clients[0], servers[0])
}
