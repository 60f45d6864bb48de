package sockscope

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// maxProcessNames bounds the processes ProcessNames looks at.
const maxProcessNames = 100000

// ProcessNames returns the distinct names (comm, as ps -o comm prints
// them) of the running processes that begin with prefix, sorted: the
// names 'sockscope proc NAME' accepts. procRoot "" means /proc. At most
// 100000 processes are looked at; processes that exit meanwhile and
// unreadable entries are skipped. It is meant for shell completion.
func ProcessNames(procRoot, prefix string) ([]string, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	d, err := os.Open(procRoot)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	defer d.Close()
	ents, err := d.ReadDir(maxProcessNames)
	if err != nil && len(ents) == 0 {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var names []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "comm"))
		if err != nil {
			continue
		}
		name := string(bytes.TrimSuffix(b, []byte("\n")))
		if name != "" && strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
