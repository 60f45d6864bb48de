package nstest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// isolatedEnv names the test that Isolate re-ran inside private
// namespaces; it is set only in that child's environment.
const isolatedEnv = "SOCKSCOPE_NSTEST_ISOLATED"

// netnsDirs are where `ip netns` keeps named namespaces.
var netnsDirs = []string{"/run/netns", "/var/run/netns"}

// Isolate lets a root test that looks at "every namespace" or "every
// process" see only what it creates, whatever else runs on the host.
//
// Called first in a top-level test, it re-runs that one test (the same
// test binary, -test.run=^Name$) under unshare(1) in a new PID namespace
// with its own /proc, and a new mount namespace in which the host's nsfs
// bind mounts are detached and /run/netns is an empty tmpfs. There /proc
// lists only a shell (PID 1, in the host's network namespace), the test
// binary and its children, and `ip netns` sees only the names the
// test adds. Isolate then reports the child's result (pass, failure with
// its output, or skip) and returns false: the caller returns at once.
// In the child Isolate returns true and the caller runs its body.
//
// Isolate skips the test when not root or when unshare(1) is missing.
// The child's environment carries extra, any variables the test needs
// (such as the path of a binary built once).
func Isolate(t *testing.T, extra ...string) bool {
	t.Helper()
	if os.Getenv(isolatedEnv) == t.Name() {
		if err := privateMounts(); err != nil {
			t.Fatalf("isolate: %v", err)
		}
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for private PID and mount namespaces")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare (util-linux) is not installed")
	}
	limit := 5 * time.Minute
	if d, ok := t.Deadline(); ok && time.Until(d) < limit {
		limit = time.Until(d) - time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	// sh is PID 1, in the host's network namespace, and stays there: the
	// test binary's main thread may be moved into another namespace by a
	// test and is never ended (Go cannot end it), so it would be a wrong
	// "host" as PID 1. sh also reaps the orphans the test leaves.
	cmd := exec.CommandContext(ctx, unshare, "--pid", "--kill-child", "--mount-proc", "--propagation", "private",
		"/bin/sh", "-c", `"$@"; exit $?`, "sh",
		os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v")
	cmd.Env = append(append(os.Environ(), isolatedEnv+"="+t.Name()), extra...)
	orphanKill(cmd)
	defer runtime.UnlockOSThread()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("isolated run of %s did not end within %v:\n%s", t.Name(), limit, out)
	}
	if err != nil {
		t.Fatalf("isolated run of %s: %v:\n%s", t.Name(), err, out)
	}
	switch {
	case bytes.Contains(out, []byte("--- PASS: "+t.Name()+" ")):
		t.Log("passed in private PID and mount namespaces")
		return false
	case bytes.Contains(out, []byte("--- SKIP: "+t.Name()+" ")):
		t.Skipf("skipped in private namespaces:\n%s", out)
	}
	t.Fatalf("isolated run of %s reported neither PASS nor SKIP:\n%s", t.Name(), out)
	return false
}

// orphanKill makes the kernel kill unshare(1) if this process dies first
// (go test kills a test binary that overruns its timeout); unshare's
// --kill-child then ends its namespace's PID 1, and with it every process
// inside. The death signal follows the thread that starts the command, so
// the calling goroutine is locked to its thread; the caller waits for the
// command on it.
func orphanKill(cmd *exec.Cmd) {
	runtime.LockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// wholePackage is isolatedEnv's value in a test binary that IsolateMain
// re-ran.
const wholePackage = "*"

// IsolateMain runs a package's tests, from TestMain, in a world of their
// own when the caller is root: the test binary is re-run, with the same
// arguments, under unshare(1) in new PID, mount and network namespaces, as
// Isolate does for one test, and with lo up. The machine's other
// processes, namespaces and sockets are then invisible to every test of
// the package. (A test that calls Isolate still gets a run of its own, so
// that it does not see what earlier tests of the package left.) It returns
// the exit code for os.Exit.
//
// Not as root, or without unshare(1), it just runs the tests. extra is
// added to the environment of the re-run binary.
func IsolateMain(m *testing.M, extra ...string) int {
	switch os.Getenv(isolatedEnv) {
	case "":
	case wholePackage:
		if err := privateMounts(); err != nil {
			fmt.Fprintf(os.Stderr, "isolate: %v\n", err)
			return 1
		}
		if err := LoUp(); err != nil {
			fmt.Fprintf(os.Stderr, "isolate: %v\n", err)
			return 1
		}
		return m.Run()
	default:
		return m.Run() // one test re-run by Isolate, which prepares it
	}
	unshare, err := exec.LookPath("unshare")
	if os.Geteuid() != 0 || err != nil {
		return m.Run()
	}
	// sh is PID 1, as in Isolate; the test binary is its child.
	cmd := exec.Command(unshare, append([]string{"--pid", "--net", "--kill-child", "--mount-proc", "--propagation", "private",
		"/bin/sh", "-c", `"$@"; exit $?`, "sh", os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(append(os.Environ(), isolatedEnv+"="+wholePackage), extra...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	orphanKill(cmd)
	defer runtime.UnlockOSThread()
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() > 0 {
			return ee.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "isolate: run the tests under unshare: %v\n", err)
		return 1
	}
	return 0
}

// privateMounts detaches, in the (private) mount namespace of the caller,
// every nsfs mount inherited from the host and covers the `ip netns`
// directories with an empty tmpfs.
func privateMounts() error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPER
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok || !strings.HasPrefix(post, "nsfs ") {
			continue
		}
		f := strings.Fields(pre)
		if len(f) < 5 {
			continue
		}
		mp := unescapeOctal(f[4])
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("detach %s: %w", mp, err)
		}
	}
	done := map[string]bool{}
	for _, dir := range netnsDirs {
		real, err := filepath.EvalSymlinks(dir)
		if errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			real = dir
		} else if err != nil {
			return err
		}
		if done[real] {
			continue
		}
		done[real] = true
		if err := unix.Mount("sockscope-nstest", real, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755"); err != nil {
			return fmt.Errorf("tmpfs on %s: %w", real, err)
		}
	}
	return nil
}

// unescapeOctal undoes mountinfo's \ooo escapes (space, tab, newline,
// backslash).
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, ok := octal3(s[i+1 : i+4]); ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func octal3(s string) (byte, bool) {
	if len(s) != 3 {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v*8 + int(c-'0')
	}
	if v > 255 {
		return 0, false
	}
	return byte(v), true
}
