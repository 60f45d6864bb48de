package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestRemoveStaleTmpDirs: a directory of a lab whose process is gone is
// removed with what it holds; those of running processes (this one, its
// parent), other names and plain files are kept.
func TestRemoveStaleTmpDirs(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skipf("true: %v", err)
	}
	tmp := t.TempDir()
	mk := func(name string, dir bool) {
		p := filepath.Join(tmp, name)
		if !dir {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return
		}
		if err := os.MkdirAll(filepath.Join(p, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "server.sock"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gone := fmt.Sprintf("sockscope-lab-%d-1", dead.Process.Pid)
	keep := []string{
		fmt.Sprintf("sockscope-lab-%d-2", os.Getpid()),
		fmt.Sprintf("sockscope-lab-%d-3", os.Getppid()),
		"sockscope-lab-12345678", // an older lab's name, without a PID
		"sockscope-lab-x-4",
		"other-1-2",
	}
	mk(gone, true)
	for _, k := range keep {
		mk(k, true)
	}
	file := fmt.Sprintf("sockscope-lab-%d-5", dead.Process.Pid)
	mk(file, false)
	keep = append(keep, file)
	removeStaleTmpDirs(tmp)
	ents, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	slices.Sort(got)
	slices.Sort(keep)
	if !slices.Equal(got, keep) {
		t.Errorf("left %q, want %q", got, keep)
	}
}
