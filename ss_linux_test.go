package sockscope_test

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockscope/sockscope"
)

// ssSocket is one row of `ss -tuwxaenpH`.
type ssSocket struct {
	netid, state  string
	local, remote string // inet: as printed; unix: path and "*"
	inode         uint64
	holders       map[[2]int]bool // (pid, fd)
	line          string
}

var (
	ssUsers = regexp.MustCompile(`\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=(\d+)\)`)
	ssIno   = regexp.MustCompile(`\bino:(\d+)`)
)

func runSS(t *testing.T) map[string]ssSocket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ss", "-tuwxaenpH").Output()
	if err != nil {
		t.Fatalf("ss: %v", err)
	}
	rows := map[string]ssSocket{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		switch f[0] {
		case "tcp", "udp", "raw", "u_str", "u_dgr", "u_seq":
		default:
			// The rest of a Unix path with a newline in it (ss prints
			// paths raw), or a family we do not compare.
			continue
		}
		s := ssSocket{netid: f[0], state: f[1], line: line, holders: map[[2]int]bool{}}
		if strings.HasPrefix(s.netid, "u_") {
			if len(f) < 8 {
				continue
			}
			s.local, s.remote = f[4], f[6]
			s.inode, _ = strconv.ParseUint(f[5], 10, 64)
		} else {
			s.local, s.remote = f[4], f[5]
			if m := ssIno.FindStringSubmatch(line); m != nil {
				s.inode, _ = strconv.ParseUint(m[1], 10, 64)
			}
		}
		for _, m := range ssUsers.FindAllStringSubmatch(line, -1) {
			pid, _ := strconv.Atoi(m[2])
			fd, _ := strconv.Atoi(m[3])
			s.holders[[2]int{pid, fd}] = true
		}
		key := s.netid + " " + s.state + " " + s.local + " " + s.remote + " " + strconv.FormatUint(s.inode, 10)
		rows[key] = s
	}
	return rows
}

// dropDev drops the "%device" suffix ss prints after the address of a
// socket bound to a device ("127.0.0.1%lo:80"): sockscope reports the
// device as Interface, not in the address string.
func dropDev(s string) string {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s
	}
	host, port := s[:i], s[i+1:]
	if j := strings.IndexByte(host, '%'); j >= 0 {
		host = host[:j]
		if strings.HasPrefix(host, "[") && !strings.HasSuffix(host, "]") {
			host += "]"
		}
	}
	return host + ":" + port
}

// TestAgainstSS: every socket ss lists (in two runs around ours, so that
// churn is not blamed on us) sockscope lists too, with the same tuple, state
// and holders.
func TestAgainstSS(t *testing.T) {
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("ss is not installed")
	}
	// A few sockets of our own, so the comparison is never empty.
	l := newSock(t, 2, 1).bind4("127.0.0.1", 0).listen()
	c := newSock(t, 2, 1).connect4(l.local())
	l.accept()

	before := runSS(t)
	snap, err := sockscope.Collect(context.Background(), sockscope.Options{Holders: true})
	if err != nil {
		t.Fatal(err)
	}
	after := runSS(t)

	byIno := map[uint64]*sockscope.Socket{}
	for _, s := range snap.Sockets {
		if s.Inode != 0 {
			byIno[s.Inode] = s
		}
	}
	checked := 0
	for key, want := range before {
		if _, stable := after[key]; !stable || want.inode == 0 {
			continue // changed during the test, or a TIME-WAIT/request socket
		}
		got := byIno[want.inode]
		if got == nil {
			t.Errorf("ss lists a socket sockscope does not: %s", want.line)
			continue
		}
		checked++
		if got.State.String() != want.state {
			t.Errorf("inode %d: state %s, ss says %s", want.inode, got.State, want.state)
		}
		if !strings.HasPrefix(want.netid, "u_") {
			// Byte for byte (issue 9): 0.0.0.0, [::] and * are different.
			gl, gr := got.LocalString(), got.RemoteString()
			if gl != dropDev(want.local) || gr != dropDev(want.remote) {
				t.Errorf("inode %d: %s -> %s, ss says %s -> %s", want.inode, gl, gr, want.local, want.remote)
			}
		} else if want.local != "*" && got.Path != want.local && !strings.ContainsAny(got.Path, " \\\n") {
			t.Errorf("inode %d: path %q, ss says %q", want.inode, got.Path, want.local)
		}
		gotH := map[[2]int]bool{}
		for _, h := range got.Holders {
			gotH[[2]int{h.PID(), h.FD}] = true
		}
		for h := range want.holders {
			if !gotH[h] {
				t.Errorf("inode %d: ss says pid %d fd %d holds it; sockscope's holders are %v", want.inode, h[0], h[1], gotH)
			}
		}
	}
	if checked == 0 {
		t.Fatalf("no stable socket to compare (ss listed %d)", len(before))
	}
	if byIno[c.inode()] == nil {
		t.Errorf("our own client socket is missing")
	}
	t.Logf("compared %d sockets with ss", checked)
}
