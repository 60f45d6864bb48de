package netns

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// nsMount is a bind mount of a network namespace file, from mountinfo.
type nsMount struct {
	Inode      uint64 // from the root field "net:[INODE]"
	MountPoint string // unescaped
}

// Limits for parseMountinfo, so a hostile or huge file cannot run away.
const (
	maxMountinfoLine  = 1 << 16
	maxMountinfoLines = 1 << 20
)

// errMountinfo is wrapped by parseMountinfo's errors.
var errMountinfo = errors.New("malformed mountinfo")

// parseMountinfo returns the network namespace bind mounts (file system type
// nsfs, root "net:[INODE]") listed in a /proc/PID/mountinfo file. A
// malformed line is skipped; the first one is reported in the error, which
// comes with every mount that could be parsed.
//
// The line format (proc(5)) is:
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
//
// mount ID, parent ID, major:minor, root, mount point, options, optional
// fields ended by "-", file system type, source, super options.
func parseMountinfo(r io.Reader) ([]nsMount, error) {
	var (
		out      []nsMount
		firstErr error
		lineNo   int
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxMountinfoLine)
	for sc.Scan() {
		lineNo++
		if lineNo > maxMountinfoLines {
			return out, fmt.Errorf("%w: more than %d lines", errMountinfo, maxMountinfoLines)
		}
		m, ok, err := parseMountinfoLine(sc.Text())
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("%w: line %d: %w", errMountinfo, lineNo, err)
			}
			continue
		}
		if ok {
			out = append(out, m)
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read mountinfo: %w", err)
	}
	return out, firstErr
}

// parseMountinfoLine parses one line; ok is false for a valid line that is
// not a network namespace mount.
func parseMountinfoLine(line string) (m nsMount, ok bool, err error) {
	fields := strings.Fields(line)
	sep := -1
	for i := 6; i < len(fields); i++ {
		if fields[i] == "-" {
			sep = i
			break
		}
	}
	if len(fields) < 7 || sep < 0 || sep+1 >= len(fields) {
		return nsMount{}, false, fmt.Errorf("%q: want at least 6 fields, \"-\" and a file system type", truncate(line))
	}
	if fields[sep+1] != "nsfs" {
		return nsMount{}, false, nil
	}
	root := fields[3]
	inner, found := strings.CutPrefix(root, "net:[")
	if !found {
		return nsMount{}, false, nil // another namespace type (mnt, uts, ...)
	}
	inner, found = strings.CutSuffix(inner, "]")
	if !found {
		return nsMount{}, false, fmt.Errorf("nsfs root %q: want net:[INODE]", truncate(root))
	}
	ino, err := strconv.ParseUint(inner, 10, 64)
	if err != nil {
		return nsMount{}, false, fmt.Errorf("nsfs root %q: %w", truncate(root), err)
	}
	mp, err := unescapeMountinfo(fields[4])
	if err != nil {
		return nsMount{}, false, err
	}
	return nsMount{Inode: ino, MountPoint: mp}, true, nil
}

// unescapeMountinfo undoes the kernel's octal escaping of space, tab,
// newline and backslash (\040, \011, \012, \134) in mountinfo paths.
func unescapeMountinfo(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if len(s)-i < 4 {
			return "", fmt.Errorf("path %q: truncated escape", truncate(s))
		}
		v, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
		if err != nil {
			return "", fmt.Errorf("path %q: bad escape %q", truncate(s), s[i:i+4])
		}
		b.WriteByte(byte(v))
		i += 3
	}
	return b.String(), nil
}

// truncate shortens s for quoting in an error.
func truncate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
