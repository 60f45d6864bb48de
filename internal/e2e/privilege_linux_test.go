//go:build linux

package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockscope/sockscope/internal/nstest"
)

// nobody is the unprivileged user the root tests run sockscope as.
var nobody = &syscall.Credential{Uid: 65534, Gid: 65534, NoSetGroups: true}

func noteLines(stderr []byte, words ...string) []string {
	var found []string
	for _, l := range strings.Split(string(stderr), "\n") {
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(l, w)
		}
		if ok && l != "" {
			found = append(found, l)
		}
	}
	return found
}

// TestUnprivileged runs sockscope as nobody against sockets that root
// holds: every socket the kernel shows is listed, and one line says how
// many sockets' holders are hidden. Not as root, it checks the line when
// some socket's holders are hidden, and skips otherwise.
func TestUnprivileged(t *testing.T) {
	var ports []string
	for range 3 {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		ports = append(ports, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	cred := nobody
	if os.Geteuid() != 0 {
		cred = nil
		d := decodeDoc(t, run(t, "-o", "json", "ls", "-a", "-p").out)
		hidden := 0
		for _, s := range d.Sockets {
			if s.HoldersHidden {
				hidden++
			}
		}
		if hidden == 0 {
			t.Skip("not root and no socket's holders are hidden from this user")
		}
	}
	r := runAs(t, cred, 30*time.Second, "-n", "ls", "-a", "-p", "-t")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", r.code, r.err)
	}
	if cred != nil {
		for _, p := range ports {
			if !strings.Contains(string(r.out), "127.0.0.1:"+p+"\t") {
				t.Errorf("root's listener on port %s is not listed for nobody", p)
			}
		}
	}
	lines := noteLines(r.err, "holders are hidden", "run as root")
	if len(lines) != 1 {
		t.Errorf("%d lines on stderr say holders are hidden and to run as root, want 1:\n%s", len(lines), r.err)
	}
	if len(noteLines(r.err, "hidden")) != 1 {
		t.Errorf("more than one hidden-holders line:\n%s", r.err)
	}
	if cred == nil {
		return
	}

	// The same namespace read by nobody and by root lists the same sockets,
	// give or take the churn of the machine between the two runs.
	asNobody := decodeDoc(t, runAs(t, nobody, 30*time.Second, "-o", "json", "ls", "-a").out)
	asRoot := decodeDoc(t, run(t, "-o", "json", "ls", "-a").out)
	n, m := len(asNobody.Sockets), len(asRoot.Sockets)
	if tol := 50 + m/10; n < m-tol || n > m+tol {
		t.Errorf("nobody sees %d sockets, root %d: more apart than churn explains (%d)", n, m, tol)
	}
	t.Logf("nobody lists %d sockets, root %d; %s", n, m, lines[0])
}

// TestUnprivilegedAllNetNS runs sockscope -A as nobody with a namespace it
// cannot enter: exit 0 and one line about the namespaces, not silence.
// It runs in private PID and mount namespaces (nstest.Isolate), so the
// machine's other namespaces and processes are not part of it.
func TestUnprivilegedAllNetNS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating a network namespace needs root")
	}
	if !nstest.Isolate(t, binaryEnv+"="+binary) {
		return
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("no ip(8) to create a network namespace")
	}
	name := fmt.Sprintf("sockscope-e2e-%d", os.Getpid())
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() { _ = exec.Command(ip, "netns", "del", name).Run() })

	r := runAs(t, nobody, 30*time.Second, "-A", "ls", "-t", "-l")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", r.code, r.err)
	}
	lines := noteLines(r.err, "namespace")
	if len(lines) != 1 {
		t.Errorf("%d lines on stderr mention namespaces, want 1:\n%s", len(lines), r.err)
	} else if !strings.Contains(lines[0], name) || !strings.Contains(lines[0], "root") {
		t.Errorf("the namespace line does not name %s and say to run as root: %s", name, lines[0])
	}
	// Root sees the namespace and says nothing about it.
	rr := run(t, "-A", "ls", "-t", "-l")
	if rr.code != 0 || len(noteLines(rr.err, name)) != 0 {
		t.Errorf("as root: exit %d, stderr:\n%s", rr.code, rr.err)
	}
}
