package holders

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// sockFD returns the fd and inode (from fstat) of the socket behind c.
func sockFD(t *testing.T, c syscall.Conn) (fd int, inode uint64) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	var serr error
	if err := rc.Control(func(f uintptr) {
		fd = int(f)
		serr = unix.Fstat(fd, &st)
	}); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	return fd, st.Ino
}

func listen(t *testing.T) *net.TCPListener {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*net.TCPListener)
}

type holder struct {
	PID, FD int
}

// holdersOf scans for one inode and returns its holders as (pid, fd).
func holdersOf(t *testing.T, inode uint64) ([]holder, *Result) {
	t.Helper()
	res, err := Scan(context.Background(), Options{WantInode: func(i uint64) bool { return i == inode }})
	if err != nil {
		t.Fatal(err)
	}
	var hs []holder
	for _, r := range res.Holders(inode) {
		hs = append(hs, holder{res.Procs[r.Proc].PID, int(r.FD)})
	}
	return hs, res
}

// startHolder starts `sleep 30` with f as its fd 3 and kills it, by PID, at
// cleanup.
func startHolder(t *testing.T, f *os.File, attr *syscall.SysProcAttr) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "30")
	cmd.ExtraFiles = []*os.File{f}
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// Start returns once exec has closed the child's close-on-exec
	// descriptors, which the kernel does before it writes the new
	// program's arguments: wait (bounded) until /proc shows them.
	cmdline := fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if b, err := os.ReadFile(cmdline); err == nil && len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still empty after 10s", cmdline)
		}
	}
	return cmd
}

func TestLiveSelf(t *testing.T) {
	ln := listen(t)
	fd, ino := sockFD(t, ln)
	hs, res := holdersOf(t, ino)
	if diff := cmp.Diff([]holder{{os.Getpid(), fd}}, hs); diff != "" {
		t.Fatalf("holders of inode %d -want +got:\n%s", ino, diff)
	}
	p := res.Procs[res.Holders(ino)[0].Proc]
	var nsStat unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &nsStat); err != nil {
		t.Fatal(err)
	}
	if p.PPID != os.Getppid() || p.UID != uint32(os.Getuid()) || p.NetNS != nsStat.Ino {
		t.Errorf("got ppid %d uid %d netns %d, want %d %d %d", p.PPID, p.UID, p.NetNS, os.Getppid(), os.Getuid(), nsStat.Ino)
	}
	if !slices.Equal(p.Cmdline, os.Args) {
		t.Errorf("cmdline %q, want os.Args %q", p.Cmdline, os.Args)
	}
	if exe, _ := os.Executable(); len(p.Comm) == 0 || len(exe) == 0 || !strings.Contains(exe, p.Comm) {
		t.Errorf("comm %q is not a prefix of the executable's name %q", p.Comm, exe)
	}
	if p.User == "" {
		t.Error("no user name")
	}
	if len(res.Procs) != 1 {
		t.Errorf("%d processes listed for one wanted inode", len(res.Procs))
	}
}

func TestLiveForkedHolder(t *testing.T) {
	ln := listen(t)
	fd, ino := sockFD(t, ln)
	f, err := ln.File() // a dup: closed again once the child has it
	if err != nil {
		t.Fatal(err)
	}
	cmd := startHolder(t, f, nil)
	f.Close()
	hs, res := holdersOf(t, ino)
	want := []holder{{os.Getpid(), fd}, {cmd.Process.Pid, 3}}
	slices.SortFunc(want, func(a, b holder) int { return a.PID - b.PID })
	if diff := cmp.Diff(want, hs); diff != "" {
		t.Fatalf("holders -want +got:\n%s", diff)
	}
	for _, r := range res.Holders(ino) {
		if p := res.Procs[r.Proc]; p.PID == cmd.Process.Pid && (p.Comm != "sleep" || !slices.Equal(p.Cmdline, []string{"sleep", "30"}) || p.PPID != os.Getpid()) {
			t.Errorf("child: comm %q cmdline %q ppid %d, want sleep [sleep 30] %d", p.Comm, p.Cmdline, p.PPID, os.Getpid())
		}
	}
}

func TestLiveClosedSocket(t *testing.T) {
	gone := listen(t)
	_, goneIno := sockFD(t, gone)
	gone.Close()
	kept := listen(t)
	keptFD, keptIno := sockFD(t, kept)
	res, err := Scan(context.Background(), Options{WantInode: func(i uint64) bool { return i == goneIno || i == keptIno }})
	if err != nil {
		t.Fatal(err)
	}
	if refs := res.Holders(goneIno); refs != nil {
		t.Errorf("closed socket %d still has holders %v", goneIno, refs)
	}
	if refs := res.Holders(keptIno); len(refs) != 1 || res.Procs[refs[0].Proc].PID != os.Getpid() || int(refs[0].FD) != keptFD {
		t.Errorf("open socket %d: holders %v, want this process at fd %d", keptIno, refs, keptFD)
	}
}

func TestLiveOtherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("starting a process as another uid needs root")
	}
	ln := listen(t)
	_, ino := sockFD(t, ln)
	f, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	const nobody = 65534
	cmd := startHolder(t, f, &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}})
	f.Close()
	hs, res := holdersOf(t, ino)
	for _, r := range res.Holders(ino) {
		if p := res.Procs[r.Proc]; p.PID == cmd.Process.Pid {
			if p.UID != nobody {
				t.Errorf("child uid %d, want %d", p.UID, nobody)
			}
			return
		}
	}
	t.Errorf("child %d running as uid %d not among the holders %v", cmd.Process.Pid, nobody, hs)
}

// TestLiveDenied checks, as a normal user, that processes of other users are
// counted as denied rather than dropped.
func TestLiveDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root can read every process")
	}
	others := 0
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		var st unix.Stat_t
		if _, ok := parseUint([]byte(e.Name()), 1<<31-1); ok && unix.Stat("/proc/"+e.Name(), &st) == nil && st.Uid != uint32(os.Geteuid()) {
			others++
		}
	}
	if others == 0 {
		t.Skip("no processes of other users")
	}
	res, err := Scan(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Denied == 0 {
		t.Errorf("%d processes of other users, none counted as denied (vanished %d, failed %d)", others, res.Vanished, res.Failed)
	}
	for _, p := range res.Procs {
		if p.UID != uint32(os.Getuid()) {
			t.Errorf("process %d of uid %d listed", p.PID, p.UID)
		}
	}
}

func TestLiveDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	res, err := Scan(ctx, Options{})
	if !errors.Is(err, context.DeadlineExceeded) || res == nil {
		t.Fatalf("res %v, err %v: want a partial result and a deadline error", res, err)
	}
}
