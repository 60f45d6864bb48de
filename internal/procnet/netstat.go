package procnet

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// maxCounterLine bounds one line of a counter file: TcpExt's names
// line is about 3 KB on Linux 6.x and grows with every release.
const maxCounterLine = 64 << 10

// errPair is a names line without its values line, or the reverse.
var errPair = errors.New("names and values lines do not pair up")

// ParseNetstat reads a counter file in the format of /proc/net/netstat
// and /proc/net/snmp: pairs of lines "Group: Name1 Name2 ..." and
// "Group: v1 v2 ...". It returns the counters by group and name, such as
// m["TcpExt"]["ListenOverflows"]. Negative values (snmp's Tcp MaxConn is
// -1) are left out; a value line whose group or length differs from its
// names line is an error, as is a value that is not a number.
func ParseNetstat(r io.Reader) (map[string]map[string]uint64, error) {
	sc := &lineScanner{sc: bufio.NewScanner(r)}
	sc.sc.Buffer(make([]byte, 0, 4096), maxCounterLine)
	out := map[string]map[string]uint64{}
	var names [][]byte
	var group []byte
	line := 0 // the last line read
	for sc.scan() {
		line = sc.line
		b := sc.bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		g, rest, ok := bytes.Cut(b, []byte(":"))
		if !ok || len(g) == 0 {
			return nil, parseErr(line, "line", b, errSyntax)
		}
		fields := bytes.Fields(rest)
		if names == nil {
			names, group = fields, g
			if len(names) == 0 {
				names = [][]byte{}
			}
			continue
		}
		if !bytes.Equal(g, group) || len(fields) != len(names) {
			return nil, parseErr(line, string(g), b, errPair)
		}
		m := out[string(g)]
		if m == nil {
			m = make(map[string]uint64, len(names))
			out[string(g)] = m
		}
		for i, f := range fields {
			if len(f) > 0 && f[0] == '-' {
				if _, err := strconv.ParseInt(string(f), 10, 64); err != nil {
					return nil, parseErr(line, string(names[i]), f, errSyntax)
				}
				continue
			}
			v, err := strconv.ParseUint(string(f), 10, 64)
			if err != nil {
				return nil, parseErr(line, string(names[i]), f, errSyntax)
			}
			m[string(names[i])] = v
		}
		names, group = nil, nil
	}
	if err := sc.err(); err != nil {
		return nil, err
	}
	if names != nil {
		return nil, parseErr(line, string(group), nil, errPair)
	}
	return out, nil
}

// Netstat reads and parses file, a path relative to the root such as
// "thread-self/net/netstat" (the namespace of the calling thread, after
// setns on a locked thread) or "net/snmp", as [ParseNetstat] does.
func (fs FS) Netstat(file string) (map[string]map[string]uint64, error) {
	p, err := fs.path(file)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("procnet: %w", err)
	}
	defer f.Close()
	m, err := ParseNetstat(io.LimitReader(f, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("procnet: %s: %w", p, err)
	}
	return m, nil
}
