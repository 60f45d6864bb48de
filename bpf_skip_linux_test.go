package sockscope

import (
	"context"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReadBPFSkipFlags: where auto uses BPF with SkipFlags (ls tables,
// watch), only the task_file iterator runs: this process's listener is
// among the socket fds, and no socket's flags are read; without SkipFlags
// the listener's SO_REUSEADDR is. (auto picks BPF only on hosts with many
// open files, so readBPF is called as Collect would there.)
func TestReadBPFSkipFlags(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loading BPF needs root")
	}
	bp, err := LoadBPF()
	if err != nil {
		t.Skipf("BPF does not load here: %v", err)
	}
	defer bp.Close()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	cookie, err := unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_COOKIE)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	spaces := []nsTarget{{model: &NetNS{Name: "test"}, direct: true}}
	for _, skip := range []bool{true, false} {
		opts := Options{Source: SourceAuto, SkipFlags: skip, Holders: true, Protos: []Proto{TCP}}
		r, err := readBPF(context.Background(), bp, spaces, opts)
		if err != nil {
			t.Fatal(err)
		}
		held := false
		for _, f := range r.fds[os.Getpid()] {
			if f.Inode == st.Ino && int(f.FD) == fd {
				held = true
			}
		}
		if !held {
			t.Errorf("SkipFlags %v: fd %d (inode %d) not among this process's socket fds %v", skip, fd, st.Ino, r.fds[os.Getpid()])
		}
		k := r.socks[cookie]
		switch {
		case skip && len(r.socks) != 0:
			t.Errorf("SkipFlags: %d sockets' flags read, want none", len(r.socks))
		case !skip && (k == nil || k.ReuseAddr == 0):
			t.Errorf("without SkipFlags: the listener's flags = %+v, want SO_REUSEADDR", k)
		}
	}
}

// TestOpenBPFAuto: auto scans holders through BPF as root in the initial
// PID namespace when programs are already loaded (watch, serve) whatever
// the number of open files, and loads them itself only from autoBPFFiles
// on. The PID namespace and the count are read from a fake procfs.
func TestOpenBPFAuto(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("auto uses BPF only as root")
	}
	root := t.TempDir()
	if err := os.MkdirAll(root+"/self/ns", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(root+"/sys/fs", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("pid:[4026531836]", root+"/self/ns/pid"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(root+"/sys/fs/file-nr", []byte("1200\t0\t9223372036854775807\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	loaded := &BPF{}
	for _, c := range []struct {
		name string
		opts Options
		want *BPF
	}{
		{"loaded, few files", Options{Source: SourceAuto, Holders: true, BPF: loaded}, loaded},
		{"not loaded, few files", Options{Source: SourceAuto, Holders: true}, nil},
		{"loaded, no holders", Options{Source: SourceAuto, BPF: loaded}, nil},
		{"netlink", Options{Source: SourceNetlink, Holders: true, BPF: loaded}, nil},
	} {
		bp, release, warn := openBPF(c.opts, root)
		release()
		if bp != c.want || warn != nil {
			t.Errorf("%s: BPF %p, warning %v; want %p and none", c.name, bp, warn, c.want)
		}
	}
	// Elsewhere than the initial PID namespace, never.
	if err := os.Remove(root + "/self/ns/pid"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("pid:[4026532000]", root+"/self/ns/pid"); err != nil {
		t.Fatal(err)
	}
	if bp, release, _ := openBPF(Options{Source: SourceAuto, Holders: true, BPF: loaded}, root); bp != nil {
		release()
		t.Errorf("in another PID namespace: auto used BPF")
	}
}
