package holders

import (
	"bytes"
	"encoding/binary"
	"math"
)

// parseBracketLink parses prefix + "[N]" (readlink of a socket fd is
// "socket:[N]", of ns/net "net:[N]") and returns N.
func parseBracketLink(b []byte, prefix string) (uint64, bool) {
	if len(b) < len(prefix)+3 || string(b[:len(prefix)]) != prefix || b[len(prefix)] != '[' || b[len(b)-1] != ']' {
		return 0, false
	}
	return parseUint(b[len(prefix)+1:len(b)-1], math.MaxUint64)
}

// parseUint parses a non-empty unsigned decimal no larger than limit.
func parseUint(b []byte, limit uint64) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if d > limit || v > (limit-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// statusFields extracts PPid and the real uid (first Uid: value) from the
// text of /proc/PID/status.
func statusFields(b []byte) (ppid int, uid uint32, hasUID bool) {
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte("\n"))
		key, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch string(key) {
		case "PPid":
			if v, ok := parseUint(bytes.TrimSpace(val), math.MaxInt32); ok {
				ppid = int(v)
			}
		case "Uid":
			f := bytes.Fields(val)
			if len(f) > 0 {
				if v, ok := parseUint(f[0], math.MaxUint32); ok {
					uid, hasUID = uint32(v), true
				}
			}
		}
	}
	return ppid, uid, hasUID
}

// splitCmdline splits /proc/PID/cmdline at NUL bytes. The final NUL ends the
// last argument rather than starting an empty one. nil for empty input
// (kernel threads, zombies).
func splitCmdline(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	if b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	args := make([]string, 0, bytes.Count(b, []byte{0})+1)
	for {
		arg, rest, more := bytes.Cut(b, []byte{0})
		args = append(args, string(arg))
		if !more {
			return args
		}
		b = rest
	}
}

// cgroupV2Path returns the path of the "0::" line of /proc/PID/cgroup, or ""
// if there is none.
func cgroupV2Path(b []byte) string {
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte("\n"))
		if rest, ok := bytes.CutPrefix(line, []byte("0::")); ok {
			return string(rest)
		}
	}
	return ""
}

// trimComm drops the newline the kernel ends comm with.
func trimComm(b []byte) string {
	return string(bytes.TrimSuffix(b, []byte("\n")))
}

// direntHeader is the size of struct linux_dirent64 before d_name:
// d_ino u64, d_off s64, d_reclen u16, d_type u8.
const direntHeader = 19

// eachDirent calls fn with the name of every linux_dirent64 record in buf
// (what getdents64 filled), including "." and "..". The name slice is
// followed in buf by its terminating NUL. It stops, returning false, at a
// record that does not fit in buf or has no NUL.
func eachDirent(buf []byte, fn func(name []byte) bool) bool {
	for len(buf) > 0 {
		if len(buf) < direntHeader {
			return false
		}
		reclen := int(binary.NativeEndian.Uint16(buf[16:18]))
		if reclen < direntHeader+1 || reclen > len(buf) {
			return false
		}
		name := buf[direntHeader:reclen]
		n := bytes.IndexByte(name, 0)
		if n < 0 {
			return false
		}
		if !fn(name[:n]) {
			return true
		}
		buf = buf[reclen:]
	}
	return true
}
