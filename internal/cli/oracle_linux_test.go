package cli

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"
)

type oracleJSON struct {
	Verdict       string  `json:"verdict"`
	Errno         *string `json:"errno"`
	BlockerGroups []struct {
		Definite bool         `json:"definite"`
		State    string       `json:"state"`
		Local    string       `json:"local"`
		Count    int          `json:"count"`
		Sockets  []jsonSocket `json:"sockets"`
	} `json:"blocker_groups"`
	DependsOn    []string     `json:"depends_on"`
	Socket       *jsonSocket  `json:"socket"`
	Candidates   []jsonSocket `json:"candidates"`
	KernelAgrees *bool        `json:"kernel_agrees"`
}

func decodeOracle(t *testing.T, out string) oracleJSON {
	t.Helper()
	var r oracleJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, out)
	}
	return r
}

// TestBindCheckLive: binding the address of a live listener fails with
// EADDRINUSE and names it; a free port succeeds; the kernel confirms both.
func TestBindCheckLive(t *testing.T) {
	port, _ := server(t, 1)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	out, stderr, code := runCLI(t, "bind-check", "tcp", addr, "-o", "json")
	if code != ExitError {
		t.Fatalf("bind-check %s: exit %d, want %d (would fail): %s %s", addr, code, ExitError, out, stderr)
	}
	r := decodeOracle(t, out)
	if r.Verdict != "fail" || r.Errno == nil || *r.Errno != "EADDRINUSE" {
		t.Errorf("verdict %q errno %v, want fail EADDRINUSE", r.Verdict, r.Errno)
	}
	found := false
	for _, g := range r.BlockerGroups {
		if g.Count != len(g.Sockets) {
			t.Errorf("group count %d, %d sockets", g.Count, len(g.Sockets))
		}
		for _, s := range g.Sockets {
			if s.State == "LISTEN" && s.Local == addr && g.Definite && holdsMe(s) {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("the listener on %s held by this process is not a definite blocker: %+v", addr, r.BlockerGroups)
	}
	// The kernel agrees: a real bind to the same address fails.
	if l, err := net.Listen("tcp4", addr); err == nil {
		l.Close()
		t.Errorf("the kernel let %s be bound twice", addr)
	}

	// A free port: find one, release it, ask.
	free, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAddr := free.Addr().String()
	free.Close()
	out, _, code = runCLI(t, "bind-check", freeAddr, "-o", "json")
	if r := decodeOracle(t, out); code != ExitOK || r.Verdict != "ok" {
		t.Errorf("bind-check %s (free): exit %d verdict %q, want 0 ok", freeAddr, code, r.Verdict)
	}
	// Human output names the rule and the holder.
	out, _, _ = runCLI(t, "bind-check", addr)
	if !strings.Contains(out, "would fail") || !strings.Contains(out, "EADDRINUSE") || !strings.Contains(out, "pid=") {
		t.Errorf("bind-check table output lacks verdict, errno or holder:\n%s", out)
	}
}

// TestDemuxLive: a segment of an established connection goes to its
// socket; a SYN to the listener's address goes to the listener; the
// kernel's own lookup agrees each time.
func TestDemuxLive(t *testing.T) {
	port, conns := server(t, 1)
	client, accepted := conns[0], conns[1]
	src := client.LocalAddr().String()
	dst := "127.0.0.1:" + strconv.Itoa(port)
	out, stderr, code := runCLI(t, "demux", "tcp", src, dst, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := decodeOracle(t, out)
	if r.Verdict != "socket" || r.Socket == nil || r.Socket.State != "ESTAB" || r.Socket.Remote != src {
		t.Errorf("established 4-tuple: verdict %q socket %+v, want the accepted ESTAB socket with remote %s", r.Verdict, r.Socket, src)
	}
	_ = accepted
	if r.KernelAgrees == nil || !*r.KernelAgrees {
		t.Errorf("kernel_agrees = %v, want true", r.KernelAgrees)
	}
	// The document names the socket the kernel's lookup returned.
	if d := runDemuxJSON(t, "demux", "tcp", src, dst); d.Socket == nil || d.Kernel == nil || d.Kernel.Socket == nil ||
		d.Kernel.Socket.Cookie != d.Socket.Cookie || d.Kernel.Socket.Inode != d.Socket.Inode || d.Kernel.Socket.Local != dst {
		t.Errorf("kernel %+v, want the predicted socket %+v", d.Kernel, d.Socket)
	}
	out, _, _ = runCLI(t, "demux", "tcp", "127.0.0.1:1", dst, "-o", "json")
	r = decodeOracle(t, out)
	if r.Verdict != "socket" || r.Socket == nil || r.Socket.State != "LISTEN" || r.KernelAgrees == nil || !*r.KernelAgrees {
		t.Errorf("new connection: verdict %q socket %+v agrees %v, want the listener, confirmed", r.Verdict, r.Socket, r.KernelAgrees)
	}
	// A port nobody uses: none, confirmed.
	free, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAddr := free.Addr().String()
	free.Close()
	out, _, _ = runCLI(t, "demux", "tcp", "127.0.0.1:1", freeAddr, "-o", "json")
	r = decodeOracle(t, out)
	if r.Verdict != "none" || r.KernelAgrees == nil || !*r.KernelAgrees {
		t.Errorf("free port: verdict %q agrees %v, want none, confirmed", r.Verdict, r.KernelAgrees)
	}
}

func TestOracleBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"bind-check", "tcp", "300.1.1.1:80"},
		{"bind-check", "sctp", "127.0.0.1:80"},
		{"bind-check", "127.0.0.1:70000"},
		{"demux", "tcp", "127.0.0.1:1", "[::1]:80"},
		{"demux", "tcp", "127.0.0.1:1", "0.0.0.0:80"},
		{"demux", "icmp", "127.0.0.1:1", "127.0.0.1:80"},
	} {
		_, stderr, code := runCLI(t, args...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
		bad := args[len(args)-1]
		if args[1] == "sctp" || args[1] == "icmp" {
			bad = args[1]
		}
		if !strings.Contains(stderr, bad) {
			t.Errorf("%v: error does not quote %q: %s", args, bad, stderr)
		}
	}
}
