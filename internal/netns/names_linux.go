package netns

import (
	"os"
	"path/filepath"
	"slices"
)

// maxNames bounds how many `ip netns` names Names returns.
const maxNames = 10000

// Names returns the `ip netns` names: the entries of /run/netns and
// /var/run/netns that are namespace files (a stale entry whose mount is
// gone is left out), sorted, each once, at most 10000. It is for shell
// completion and reports no errors: a directory that cannot be read adds
// nothing.
func Names() []string {
	var names []string
	for _, dir := range netnsDirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, de := range ents {
			if len(names) >= maxNames {
				break
			}
			if _, err := statNS(filepath.Join(dir, de.Name())); err == nil {
				names = append(names, de.Name())
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}
