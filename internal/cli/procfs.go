package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

func statPID(root string, pid int) (os.FileInfo, error) {
	return os.Stat(filepath.Join(root, strconv.Itoa(pid)))
}

// procNameExists reports whether some process has comm == name.
func procNameExists(root, name string) bool {
	ents, err := os.ReadDir(root)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, e.Name(), "comm"))
		if err == nil && string(bytes.TrimSuffix(b, []byte("\n"))) == name {
			return true
		}
	}
	return false
}
