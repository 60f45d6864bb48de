package holders

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseBracketLink(t *testing.T) {
	tests := []struct {
		in     string
		prefix string
		want   uint64
		ok     bool
	}{
		{"socket:[12345]", "socket:", 12345, true},
		{"socket:[0]", "socket:", 0, true},
		{"socket:[18446744073709551615]", "socket:", 1<<64 - 1, true},
		{"socket:[18446744073709551616]", "socket:", 0, false},
		{"socket:[]", "socket:", 0, false},
		{"socket:[12a]", "socket:", 0, false},
		{"socket:[12", "socket:", 0, false},
		{"socket:12]", "socket:", 0, false},
		{"pipe:[12]", "socket:", 0, false},
		{"/tmp/socket:[5]", "socket:", 0, false},
		{"net:[4026531840]", "net:", 4026531840, true},
		{"", "net:", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseBracketLink([]byte(tt.in), tt.prefix)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseBracketLink(%q, %q) = %d, %v; want %d, %v", tt.in, tt.prefix, got, ok, tt.want, tt.ok)
		}
	}
}

func TestStatusFields(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		ppid   int
		uid    uint32
		hasUID bool
	}{
		{"real status", "Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t812\nNgid:\t0\nPid:\t812\nPPid:\t811\nTracerPid:\t0\nUid:\t1000\t1001\t1002\t1003\nGid:\t100\t100\t100\t100\n", 811, 1000, true},
		{"no uid", "PPid:\t1\n", 1, 0, false},
		{"garbage uid", "PPid:\t1\nUid:\tx\t1\n", 1, 0, false},
		{"empty", "", 0, 0, false},
		{"no final newline", "Uid:\t0\t0\t0\t0", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ppid, uid, has := statusFields([]byte(tt.in))
			if ppid != tt.ppid || uid != tt.uid || has != tt.hasUID {
				t.Errorf("got %d, %d, %v; want %d, %d, %v", ppid, uid, has, tt.ppid, tt.uid, tt.hasUID)
			}
		})
	}
}

func TestSplitCmdline(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"sleep\x0030\x00", []string{"sleep", "30"}},
		{"a\x00\x00b\x00", []string{"a", "", "b"}},
		{"nginx: worker process", []string{"nginx: worker process"}}, // setproctitle: no NULs
		{"\x00", []string{""}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, splitCmdline([]byte(tt.in))); diff != "" {
			t.Errorf("splitCmdline(%q) -want +got:\n%s", tt.in, diff)
		}
	}
}

func TestCgroupV2Path(t *testing.T) {
	for in, want := range map[string]string{
		"0::/user.slice/user-1000.slice/session-2.scope\n": "/user.slice/user-1000.slice/session-2.scope",
		"12:pids:/a\n1:name=systemd:/b\n0::/c\n":           "/c",
		"12:pids:/a\n":                                     "",
		"":                                                 "",
		"0::/\n":                                           "/",
	} {
		if got := cgroupV2Path([]byte(in)); got != want {
			t.Errorf("cgroupV2Path(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParsePasswd(t *testing.T) {
	in := "root:x:0:0:root:/root:/bin/bash\n# c\n\nwww-data:x:33:33::/:/bin/false\nwww2:x:33:33::/:/bin/false\nbad\n:x:5:5::/:/\nneg:x:-1:0::/:/\nbig:x:4294967296:0::/:/\nnobody:x:65534:65534::/:/\n"
	want := map[uint32]string{0: "root", 33: "www-data", 65534: "nobody"}
	if diff := cmp.Diff(want, parsePasswd(strings.NewReader(in))); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
}

// dirent encodes one linux_dirent64 record as getdents64 does.
func dirent(name string) []byte {
	reclen := (direntHeader + len(name) + 1 + 7) &^ 7
	b := make([]byte, reclen)
	binary.NativeEndian.PutUint64(b[0:], 1)
	binary.NativeEndian.PutUint64(b[8:], 2)
	binary.NativeEndian.PutUint16(b[16:], uint16(reclen))
	b[18] = 10 // DT_LNK
	copy(b[direntHeader:], name)
	return b
}

func TestEachDirent(t *testing.T) {
	buf := bytes.Join([][]byte{dirent("."), dirent(".."), dirent("0"), dirent("12345")}, nil)
	var got []string
	if !eachDirent(buf, func(n []byte) bool { got = append(got, string(n)); return true }) {
		t.Fatal("well-formed buffer rejected")
	}
	if diff := cmp.Diff([]string{".", "..", "0", "12345"}, got); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
	for _, bad := range [][]byte{
		buf[:len(buf)-1],                  // last record cut short
		buf[:10],                          // header cut short
		append(dirent("x")[:16], 0, 0, 0), // reclen 0
	} {
		if eachDirent(bad, func([]byte) bool { return true }) {
			t.Errorf("malformed buffer % x accepted", bad)
		}
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte("Name:\tbash\nPPid:\t811\nUid:\t1000\t1000\t1000\t1000\n"))
	f.Add([]byte("Uid:"))
	f.Fuzz(func(t *testing.T, b []byte) {
		statusFields(b)
		cgroupV2Path(b)
		splitCmdline(b)
		parseBracketLink(b, "socket:")
	})
}

func FuzzParsePasswd(f *testing.F) {
	f.Add([]byte("root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/:/\n"))
	f.Add([]byte("::::\n:x:1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for uid, name := range parsePasswd(bytes.NewReader(b)) {
			if name == "" || strings.ContainsAny(name, ":\n") {
				t.Fatalf("uid %d named %q", uid, name)
			}
		}
	})
}

func FuzzEachDirent(f *testing.F) {
	f.Add(bytes.Join([][]byte{dirent("."), dirent("3")}, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		eachDirent(b, func(name []byte) bool {
			if bytes.IndexByte(name, 0) >= 0 {
				t.Fatalf("name %q contains NUL", name)
			}
			return true
		})
	})
}
