package sockscope

import (
	"io/fs"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// cgroup2Mounts are where the cgroup v2 hierarchy is looked for: the
// unified mount, then the hybrid layout's.
var cgroup2Mounts = []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}

// maxCgroupDirs bounds the walk of the cgroup hierarchy.
const maxCgroupDirs = 1 << 16

// resolveCgroups sets Details.Cgroup of every socket with a CgroupID. A
// cgroup v2 id is the inode number of the cgroup's directory in cgroupfs
// (kernfs; docs/kernel.md D10), so one walk of the hierarchy, stopped once
// every wanted id is found, maps ids to paths; the paths are relative to
// the mount, as ss prints them ("/" for the root cgroup).
func resolveCgroups(socks []*Socket) {
	want := map[uint64]string{}
	for _, s := range socks {
		if s.CgroupID != 0 {
			want[s.CgroupID] = ""
		}
	}
	if len(want) == 0 {
		return
	}
	root := ""
	for _, m := range cgroup2Mounts {
		var st unix.Statfs_t
		if unix.Statfs(m, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			root = m
			break
		}
	}
	if root == "" {
		return
	}
	left, seen := len(want), 0
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil // unreadable: skip it
		}
		if seen++; seen > maxCgroupDirs {
			return filepath.SkipAll
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		if path, ok := want[st.Ino]; ok && path == "" {
			rel, _ := filepath.Rel(root, p)
			want[st.Ino] = "/" + filepath.ToSlash(rel)
			if rel == "." {
				want[st.Ino] = "/"
			}
			if left--; left == 0 {
				return filepath.SkipAll
			}
		}
		return nil
	})
	for _, s := range socks {
		if s.CgroupID == 0 {
			continue
		}
		if s.Details == nil {
			s.Details = &Details{}
		}
		s.Details.Cgroup = want[s.CgroupID]
	}
}
