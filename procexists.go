package sockscope

import (
	"os"
	"path/filepath"
	"strconv"
)

// ProcessExists reports whether a process with this PID exists, as the
// procfs mounted at procRoot ("" means /proc) shows it. It reads no
// process's files, so it needs no privilege. ProcessesNamed finds
// processes by name.
func ProcessExists(procRoot string, pid int) bool {
	if pid <= 0 {
		return false
	}
	if procRoot == "" {
		procRoot = "/proc"
	}
	_, err := os.Stat(filepath.Join(procRoot, strconv.Itoa(pid)))
	return err == nil
}
