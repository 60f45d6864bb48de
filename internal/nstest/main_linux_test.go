package nstest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

func TestMain(m *testing.M) {
	os.Exit(IsolateMain(m))
}

// TestIsolateMain: as root, TestMain re-ran this binary in its own PID,
// mount and network namespaces: PID 1 is the shell, no other process is
// visible, /run/netns is empty and lo is up.
func TestIsolateMain(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: IsolateMain runs the tests as they are")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare(1): IsolateMain runs the tests as they are")
	}
	if got := os.Getenv(isolatedEnv); got != wholePackage {
		t.Fatalf("%s=%q: TestMain did not re-run the tests in private namespaces", isolatedEnv, got)
	}
	if comm, _ := os.ReadFile("/proc/1/comm"); string(bytes.TrimSpace(comm)) != "sh" {
		t.Errorf("PID 1 is %q, want sh", comm)
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid != 1 && pid != os.Getpid() {
			comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
			t.Errorf("process %d (%q) is visible", pid, bytes.TrimSpace(comm))
		}
	}
	if names, err := os.ReadDir("/run/netns"); err != nil || len(names) != 0 {
		t.Errorf("/run/netns: %v, %v; want it empty", names, err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatalf("lo is not up: %v", err)
	}
	c.Close()
}
