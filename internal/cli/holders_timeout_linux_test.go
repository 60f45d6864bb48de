package cli

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/sockscope/sockscope/internal/nstest"
)

// TestHoldersTimeoutFlag: --holders-timeout bounds the whole holder scan.
// With one stuck process (whose own bound is 1s) and a limit of 200ms, the
// scan stops at the limit and says so, naming the flag; a non-positive
// limit is a usage error.
func TestHoldersTimeoutFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	root := stuckProcRoot(t, nstest.ConnInode(t, ln.(*net.TCPListener)))
	code, out, errOut := runMain(t, "--proc-root", root, "--holders-timeout", "200ms", "-n", "ls", "-tlp", "sport", "=", ":"+port)
	if code != ExitOK {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, errOut)
	}
	if !strings.Contains(out, ":"+port) {
		t.Errorf("the listener on port %s is missing:\n%s", port, out)
	}
	if !strings.Contains(errOut, "holder scan stopped") || !strings.Contains(errOut, "--holders-timeout") {
		t.Errorf("stderr does not say that the scan stopped at its limit:\n%s", errOut)
	}
	for _, bad := range []string{"0s", "-1s"} {
		code, _, errOut := runMain(t, "--holders-timeout", bad, "ls", "-p")
		if code != ExitUsage || !strings.Contains(errOut, "--holders-timeout") {
			t.Errorf("--holders-timeout %s: exit %d, stderr %q; want a usage error naming the flag", bad, code, errOut)
		}
	}
}
