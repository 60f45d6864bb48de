package holders

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
)

// maxPasswd bounds how much of a passwd file is read.
const maxPasswd = 8 << 20

// parsePasswd reads a passwd(5) file and returns uid -> name. The first
// entry for a uid wins, as getpwuid's scan does; malformed lines are skipped.
func parsePasswd(r io.Reader) map[uint32]string {
	names := make(map[uint32]string)
	sc := bufio.NewScanner(io.LimitReader(r, maxPasswd))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		// name:password:uid:...
		name, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 {
			continue
		}
		_, rest, ok = bytes.Cut(rest, []byte(":"))
		if !ok {
			continue
		}
		uidText, _, _ := bytes.Cut(rest, []byte(":"))
		uid, err := strconv.ParseUint(string(uidText), 10, 32)
		if err != nil {
			continue
		}
		if _, dup := names[uint32(uid)]; !dup {
			names[uint32(uid)] = string(name)
		}
	}
	return names
}

// userCache resolves uids to names from one passwd file, read at most once.
// It is not safe for concurrent use.
type userCache struct {
	path  string
	names map[uint32]string
}

func (c *userCache) name(uid uint32, open func(string) (io.ReadCloser, error)) string {
	if c.names == nil {
		c.names = map[uint32]string{}
		if f, err := open(c.path); err == nil {
			c.names = parsePasswd(f)
			f.Close()
		}
	}
	if n, ok := c.names[uid]; ok {
		return n
	}
	n := strconv.FormatUint(uint64(uid), 10)
	c.names[uid] = n
	return n
}
