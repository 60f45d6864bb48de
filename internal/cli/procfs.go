package cli

import (
	"os"
	"path/filepath"
	"strconv"
)

func statPID(root string, pid int) (os.FileInfo, error) {
	return os.Stat(filepath.Join(root, strconv.Itoa(pid)))
}
