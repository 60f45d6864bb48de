package cli

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/nstest"
)

// hiddenProcRoot builds a proc root in which pid 4243 answers and holds
// the socket inode seen, and pid 4242, whose comm is a FIFO nobody writes
// (a process stuck as behind a hung FUSE mount), holds hidden: the
// holders of hidden can only be unknown, never for want of permission.
func hiddenProcRoot(t *testing.T, seen, hidden uint64) string {
	t.Helper()
	root := t.TempDir()
	for pid, ino := range map[string]uint64{"4242": hidden, "4243": seen} {
		dir := filepath.Join(root, pid)
		if err := os.MkdirAll(filepath.Join(dir, "fd"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("socket:["+strconv.FormatUint(ino, 10)+"]", filepath.Join(dir, "fd", "3")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "status"), []byte("Name:\tx\nPPid:\t1\nUid:\t0\t0\t0\t0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "4243", "comm"), []byte("answers\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(root, "4242", "comm")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if fd, err := unix.Open(fifo, unix.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
			unix.Close(fd)
		}
	})
	return root
}

// hiddenByLimit is the note on holders hidden by the scan's time limit
// alone. (The count covers every socket collected, also the host's other
// listeners, whose holders are not in the fake proc root.)
var hiddenByLimit = regexp.MustCompile(`\d+ sockets?'s?'? holders are hidden: the holder scan stopped after \d+ms, its time limit \(--holders-timeout\)`)

// blamesPermission reports a line of s that blames permissions.
func blamesPermission(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "root") || strings.Contains(l, "inspected") || strings.Contains(l, "permission") {
			return l
		}
	}
	return ""
}

// TestHiddenHoldersCause (issue 15 item 7): when the holder scan stops at
// its time limit, the sockets it could not attribute are said to be
// hidden by that limit, never by permissions, in ls -p and in proc PID
// (which said "run as root" even to root); JSON tags the warning
// "timeout". An interrupted run prints no hidden-holders note at all.
func TestHiddenHoldersCause(t *testing.T) {
	var lns [2]net.Listener
	var inos [2]uint64
	for i := range lns {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		lns[i], inos[i] = ln, nstest.ConnInode(t, ln.(*net.TCPListener))
	}
	hiddenPort := strconv.Itoa(lns[1].Addr().(*net.TCPAddr).Port)
	root := hiddenProcRoot(t, inos[0], inos[1])
	base := []string{"--proc-root", root, "--holders-timeout", "300ms", "-n"}

	code, out, stderr := runMain(t, append(base, "ls", "-tlp", "sport", "=", ":"+hiddenPort)...)
	if code != ExitOK || !strings.Contains(out, "(hidden)") {
		t.Fatalf("ls -p: exit %d, want 0 and the listener's holders hidden:\n%s\n%s", code, out, stderr)
	}
	if l := blamesPermission(stderr); l != "" || !hiddenByLimit.MatchString(stderr) {
		t.Errorf("ls -p: the hidden holders are not put down to the time limit alone:\n%s", stderr)
	}

	code, out, _ = runMain(t, append(base, "-o", "json", "ls", "-tlp", "sport", "=", ":"+hiddenPort)...)
	if code != ExitOK || !strings.Contains(out, `"kind":"timeout"`) || !hiddenByLimit.MatchString(out) || strings.Contains(out, `"kind":"permission"`) {
		t.Errorf("ls -p -o json: exit %d, want the hidden socket under a timeout warning:\n%s", code, out)
	}

	code, _, stderr = runMain(t, append(base, "proc", "4242")...)
	if code != ExitOK {
		t.Fatalf("proc 4242: exit %d:\n%s", code, stderr)
	}
	if l := blamesPermission(stderr); l != "" {
		t.Errorf("proc 4242: blames permissions for what the time limit hid: %q\n%s", l, stderr)
	}
	if !strings.Contains(stderr, "holds no socket that can be seen") || !strings.Contains(stderr, "time limit") {
		t.Errorf("proc 4242: does not say the holders are hidden and why:\n%s", stderr)
	}

	// Interrupted while the scan waits for the stuck process: exit 130,
	// no note that guesses at hidden holders.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(200*time.Millisecond, cancel)
	var o, e bytes.Buffer
	args := []string{"--proc-root", root, "-n", "ls", "-tlp", "sport", "=", ":" + hiddenPort}
	code = Main(ctx, args, IOStreams{In: strings.NewReader(""), Out: &o, ErrOut: &e, Getenv: func(string) string { return "" }})
	if code != ExitInterrupted || strings.Contains(e.String(), "hidden") {
		t.Errorf("interrupted ls -p: exit %d, stderr %q; want %d and no hidden-holders note", code, e.String(), ExitInterrupted)
	}
}
