package sockscope

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// TestProcessesNamed starts a process under a name no other has (a copy of
// sleep named after this test's PID) and finds it by that name.
func TestProcessesNamed(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Skip(err)
	}
	name := "ssfind" + strconv.Itoa(os.Getpid()) // comm keeps 15 bytes
	name = name[:min(len(name), 15)]
	bin := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "30")
	if err := cmd.Start(); err != nil {
		if errors.Is(err, os.ErrPermission) {
			t.Skipf("cannot run from the temporary directory: %v", err)
		}
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := cmd.Process.Pid
	if !ProcessExists("", pid) || !ProcessExists("/proc", os.Getpid()) {
		t.Errorf("ProcessExists: the child %d or this process not found", pid)
	}
	if ProcessExists("", 0) || ProcessExists("", -1) {
		t.Error("ProcessExists accepts PID 0 or -1")
	}
	pids, err := ProcessesNamed("", name)
	if err != nil || !slices.Equal(pids, []int{pid}) {
		t.Errorf("ProcessesNamed(%q) = %v, %v; want [%d]", name, pids, err, pid)
	}
}

// TestProcessesNamedFS reads a procfs-like tree: only numeric entries count,
// a missing comm is skipped, and the PIDs come sorted.
func TestProcessesNamedFS(t *testing.T) {
	root := t.TempDir()
	for dir, comm := range map[string]string{"12": "web\n", "7": "web\n", "13": "webby\n", "self": "web\n", "9": ""} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if comm != "" {
			if err := os.WriteFile(filepath.Join(root, dir, "comm"), []byte(comm), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if pids, err := ProcessesNamed(root, "web"); err != nil || !slices.Equal(pids, []int{7, 12}) {
		t.Errorf("ProcessesNamed(web) = %v, %v; want [7 12]", pids, err)
	}
	if pids, err := ProcessesNamed(root, "nobody"); err != nil || len(pids) != 0 {
		t.Errorf("ProcessesNamed(nobody) = %v, %v; want none", pids, err)
	}
	if !ProcessExists(root, 9) || ProcessExists(root, 10) {
		t.Error("ProcessExists on the fake tree")
	}
	if _, err := ProcessesNamed(filepath.Join(root, "missing"), "web"); err == nil {
		t.Error("ProcessesNamed on a missing procfs: no error")
	}
}
