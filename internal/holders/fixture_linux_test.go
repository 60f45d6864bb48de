package holders

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// fixtureProc declares one /proc/PID directory of a fixture tree.
type fixtureProc struct {
	pid       int
	fds       map[int]string // fd -> link target
	comm      string
	cmdline   *string // nil: no cmdline file
	ppid, uid int
	noUID     bool   // status has no Uid: line
	cgroup    string // file content
	netns     string // ns/net link target, "" for none
	vanish    bool   // listed, but a dangling link: gone when opened
	fifoComm  bool   // comm is a FIFO nobody writes: reading it blocks
	fdFile    bool   // fd is a regular file, not a directory: reading it fails
	state     byte   // state in stat: 0 for 'S'; 'Z' for a zombie; '-' for no stat file (reaped)
}

func strp(s string) *string { return &s }

// buildFixture creates the tree under a temp dir from procs, with the
// symlinks made at test time, and returns its root.
func buildFixture(t *testing.T, procs []fixtureProc) string {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Entries that are not processes are ignored.
	must(os.Symlink("1", filepath.Join(root, "self")))
	must(os.Mkdir(filepath.Join(root, "net"), 0o755))
	for _, p := range procs {
		dir := filepath.Join(root, strconv.Itoa(p.pid))
		if p.vanish {
			must(os.Symlink("exited", dir))
			continue
		}
		if p.fdFile {
			must(os.MkdirAll(dir, 0o755))
			must(os.WriteFile(filepath.Join(dir, "fd"), nil, 0o644))
		} else {
			must(os.MkdirAll(filepath.Join(dir, "fd"), 0o755))
		}
		must(os.MkdirAll(filepath.Join(dir, "ns"), 0o755))
		switch st := p.state; st {
		case '-':
		default:
			if st == 0 {
				st = 'S'
			}
			stat := fmt.Sprintf("%d (%s) %c %d 0 0 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 100\n", p.pid, p.comm, st, p.ppid)
			must(os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644))
		}
		for fd, target := range p.fds {
			must(os.Symlink(target, filepath.Join(dir, "fd", strconv.Itoa(fd))))
		}
		status := fmt.Sprintf("Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%d\nPid:\t%d\nPPid:\t%d\n", p.comm, p.pid, p.pid, p.ppid)
		if !p.noUID {
			status += fmt.Sprintf("Uid:\t%d\t%d\t%d\t%d\nGid:\t0\t0\t0\t0\n", p.uid, p.uid+1, p.uid+2, p.uid+3)
		}
		must(os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644))
		if p.fifoComm {
			fifo := filepath.Join(dir, "comm")
			must(unix.Mkfifo(fifo, 0o644))
			t.Cleanup(func() {
				// Release the read blocked in open: a writer arrives and
				// leaves, the reader sees EOF.
				if fd, err := unix.Open(fifo, unix.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
					unix.Close(fd)
				}
			})
		} else {
			must(os.WriteFile(filepath.Join(dir, "comm"), []byte(p.comm+"\n"), 0o644))
		}
		if p.cmdline != nil {
			must(os.WriteFile(filepath.Join(dir, "cmdline"), []byte(*p.cmdline), 0o644))
		}
		must(os.WriteFile(filepath.Join(dir, "cgroup"), []byte(p.cgroup), 0o644))
		if p.netns != "" {
			must(os.Symlink(p.netns, filepath.Join(dir, "ns", "net")))
		}
	}
	return root
}

func writePasswd(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "passwd")
	// The first entry for a uid wins, so tester names this process's uid
	// even when it is 0.
	text := fmt.Sprintf("tester:x:%d:0::/:/bin/sh\n", os.Geteuid()) +
		"# comment\nroot:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n" +
		"broken line\nnouid:x::1::/:/bin/false\ndup:x:33:33::/:/bin/false\n"
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var fixtureProcs = []fixtureProc{
	{
		pid:  100,
		fds:  map[int]string{0: "/dev/null", 1: "pipe:[99]", 3: "socket:[1001]", 4: "socket:[1002]", 7: "anon_inode:[eventfd]", 9: "socket:[1003]", 11: "socket:[abc]", 12: "socket:[]", 13: "/tmp/socket:[5]"},
		comm: "nginx", cmdline: strp("nginx: master process\x00-g\x00daemon off;\x00"),
		ppid: 1, uid: 33, cgroup: "1:name=systemd:/x\n0::/system.slice/nginx.service\n", netns: "net:[4026531840]",
	},
	{ // a forked worker sharing two sockets; no cmdline file
		pid:  101,
		fds:  map[int]string{3: "socket:[1001]", 5: "socket:[1003]"},
		comm: "nginx", ppid: 100, uid: 33, cgroup: "0::/system.slice/nginx.service\n", netns: "net:[4026531840]",
	},
	{ // no sockets: not listed
		pid:  102,
		fds:  map[int]string{0: "/dev/null", 1: "pipe:[7]"},
		comm: "cat", cmdline: strp("cat\x00"), ppid: 1, uid: 0,
	},
	{pid: 103, vanish: true},
	{ // kernel-thread-like: empty fd dir and cmdline
		pid: 104, comm: "kworker/0:1", cmdline: strp(""), ppid: 2,
	},
	{ // status without Uid: the uid comes from the directory's owner
		pid:  105,
		fds:  map[int]string{3: "socket:[1005]"},
		comm: "odd", cmdline: strp("odd"), ppid: 1, noUID: true, netns: "bogus",
	},
}

func TestScanFixture(t *testing.T) {
	root := buildFixture(t, fixtureProcs)
	passwd := writePasswd(t)
	myUID := uint32(os.Geteuid())
	wantProcs := []Proc{
		{PID: 100, PPID: 1, Comm: "nginx", Cmdline: []string{"nginx: master process", "-g", "daemon off;"}, UID: 33, User: "www-data", Cgroup: "/system.slice/nginx.service", NetNS: 4026531840},
		{PID: 101, PPID: 100, Comm: "nginx", UID: 33, User: "www-data", Cgroup: "/system.slice/nginx.service", NetNS: 4026531840},
		{PID: 105, PPID: 1, Comm: "odd", Cmdline: []string{"odd"}, UID: myUID, User: "tester"},
	}
	tests := []struct {
		name      string
		want      func(uint64) bool
		wantProcs []Proc
		wantRefs  map[uint64][]Ref
	}{
		{
			name:      "all sockets",
			wantProcs: wantProcs,
			wantRefs: map[uint64][]Ref{
				1001: {{Proc: 0, FD: 3}, {Proc: 1, FD: 3}},
				1002: {{Proc: 0, FD: 4}},
				1003: {{Proc: 0, FD: 9}, {Proc: 1, FD: 5}},
				1005: {{Proc: 2, FD: 3}},
			},
		},
		{
			name:      "WantInode selects one socket and its holders",
			want:      func(ino uint64) bool { return ino == 1003 },
			wantProcs: wantProcs[:2],
			wantRefs:  map[uint64][]Ref{1003: {{Proc: 0, FD: 9}, {Proc: 1, FD: 5}}},
		},
		{
			name:      "WantInode selects nothing",
			want:      func(uint64) bool { return false },
			wantProcs: []Proc{},
			wantRefs:  map[uint64][]Ref{},
		},
	}
	for _, tt := range tests {
		for _, workers := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/workers=%d", tt.name, workers), func(t *testing.T) {
				res, err := Scan(context.Background(), Options{Root: root, Workers: workers, WantInode: tt.want, Passwd: passwd})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.wantProcs, res.Procs); diff != "" {
					t.Errorf("Procs -want +got:\n%s", diff)
				}
				got := map[uint64][]Ref{}
				for _, r := range res.Refs {
					got[r.Inode] = append(got[r.Inode], Ref{Proc: r.Proc, FD: r.FD})
				}
				if diff := cmp.Diff(tt.wantRefs, got); diff != "" {
					t.Errorf("refs by inode -want +got:\n%s", diff)
				}
				for ino, want := range tt.wantRefs {
					var hs []Ref
					for _, r := range res.Holders(ino) {
						if r.Inode != ino {
							t.Errorf("Holders(%d) returned a ref of inode %d", ino, r.Inode)
						}
						hs = append(hs, Ref{Proc: r.Proc, FD: r.FD})
					}
					if diff := cmp.Diff(want, hs); diff != "" {
						t.Errorf("Holders(%d) -want +got:\n%s", ino, diff)
					}
				}
				for _, ino := range []uint64{0, 1000, 1004, 1006, ^uint64(0)} {
					if hs := res.Holders(ino); hs != nil {
						t.Errorf("Holders(%d) = %v, want none", ino, hs)
					}
				}
				if res.Vanished != 1 || res.Denied != 0 || res.Failed != 0 || len(res.TimedOut) != 0 {
					t.Errorf("vanished %d denied %d failed %d (%v) timed out %v, want 1, 0, 0, none", res.Vanished, res.Denied, res.Failed, res.FailErr, res.TimedOut)
				}
			})
		}
	}
}

func TestScanFixtureUnknownUser(t *testing.T) {
	root := buildFixture(t, []fixtureProc{{pid: 7, fds: map[int]string{3: "socket:[9]"}, comm: "x", uid: 4242}})
	res, err := Scan(context.Background(), Options{Root: root, Passwd: filepath.Join(t.TempDir(), "missing")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Procs) != 1 || res.Procs[0].User != "4242" {
		t.Fatalf("Procs = %+v, want one process with User \"4242\"", res.Procs)
	}
}

func TestScanTimeout(t *testing.T) {
	procs := append([]fixtureProc{{pid: 106, fds: map[int]string{3: "socket:[1006]"}, comm: "stuck", fifoComm: true}}, fixtureProcs...)
	root := buildFixture(t, procs)
	start := time.Now()
	res, err := Scan(context.Background(), Options{Root: root, Workers: 2, PerProcess: 100 * time.Millisecond, Passwd: writePasswd(t)})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("scan took %v with one process hung", took)
	}
	if diff := cmp.Diff([]int{106}, res.TimedOut); diff != "" {
		t.Errorf("TimedOut -want +got:\n%s", diff)
	}
	if len(res.Procs) != 3 || res.Holders(1006) != nil {
		t.Errorf("the other processes were not all read, or the hung one was listed: %d procs, 1006 -> %v", len(res.Procs), res.Holders(1006))
	}
}

func TestScanCancelled(t *testing.T) {
	root := buildFixture(t, fixtureProcs)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Scan(ctx, Options{Root: root})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res == nil {
		t.Fatal("no partial result")
	}
}

func TestScanDeniedFixture(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads a mode-000 directory anyway")
	}
	root := buildFixture(t, fixtureProcs)
	fd := filepath.Join(root, "100", "fd")
	if err := os.Chmod(fd, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(fd, 0o755) })
	res, err := Scan(context.Background(), Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if res.Denied != 1 || len(res.Procs) != 2 {
		t.Errorf("denied %d, %d procs; want 1 denied and 101, 105 listed", res.Denied, len(res.Procs))
	}
}

func TestScanMissingRoot(t *testing.T) {
	_, err := Scan(context.Background(), Options{Root: filepath.Join(t.TempDir(), "nope")})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
}

// TestScanExitedMidScan: processes whose fds cannot be read because they
// exited after the listing (their stat file is gone, or they are zombies)
// are counted as vanished, not as denied or failed; a live process that
// fails the same way is still counted as failed. As a normal user the
// failure is EACCES (a mode-000 fd directory), as when the kernel refuses
// readlink on the fds of a reaped process; root reads such a directory, so
// for root the failure is ENOTDIR.
func TestScanExitedMidScan(t *testing.T) {
	procs := []fixtureProc{
		{pid: 200, comm: "reaped", fdFile: true, state: '-'},
		{pid: 201, comm: "zombie", fdFile: true, state: 'Z'},
		{pid: 202, comm: "alive", fdFile: true},
		{pid: 203, fds: map[int]string{3: "socket:[2003]"}, comm: "ok"},
	}
	root := buildFixture(t, procs)
	res, err := Scan(context.Background(), Options{Root: root, Passwd: writePasswd(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Vanished != 2 || res.Failed != 1 || res.Denied != 0 || len(res.Procs) != 1 {
		t.Errorf("vanished %d, failed %d (%v), denied %d, %d procs; want 2, 1, 0, 1", res.Vanished, res.Failed, res.FailErr, res.Denied, len(res.Procs))
	}

	if os.Geteuid() == 0 {
		return
	}
	procs = []fixtureProc{
		{pid: 300, fds: map[int]string{3: "socket:[3000]"}, comm: "reaped", state: '-'},
		{pid: 301, fds: map[int]string{3: "socket:[3001]"}, comm: "denied"},
	}
	root = buildFixture(t, procs)
	for _, pid := range []string{"300", "301"} {
		fd := filepath.Join(root, pid, "fd")
		if err := os.Chmod(fd, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(fd, 0o755) })
	}
	res, err = Scan(context.Background(), Options{Root: root, Passwd: writePasswd(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Vanished != 1 || res.Denied != 1 {
		t.Errorf("EACCES: vanished %d, denied %d; want 1 (the exited one) and 1", res.Vanished, res.Denied)
	}
}
