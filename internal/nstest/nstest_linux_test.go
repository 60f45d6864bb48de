package nstest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseRelease(t *testing.T) {
	for _, tc := range []struct {
		rel    string
		ma, mi int
		ok     bool
	}{
		{"6.18.0", 6, 18, true},
		{"6.8.0-45-generic", 6, 8, true},
		{"5.15", 5, 15, true},
		{"6.1-rc3", 6, 1, true},
		{"6", 0, 0, false},
		{"x.y", 0, 0, false},
		{"", 0, 0, false},
	} {
		ma, mi, ok := parseRelease(tc.rel)
		if ma != tc.ma || mi != tc.mi || ok != tc.ok {
			t.Errorf("parseRelease(%q) = %d, %d, %v; want %d, %d, %v", tc.rel, ma, mi, ok, tc.ma, tc.mi, tc.ok)
		}
	}
}

// TestKernelAtLeast compares with the release uname reports.
func TestKernelAtLeast(t *testing.T) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	ma, mi, ok := parseRelease(unix.ByteSliceToString(u.Release[:]))
	if !ok {
		t.Skipf("unparseable release %q", u.Release)
	}
	if !KernelAtLeast(ma, mi) || !KernelAtLeast(ma-1, 99) || KernelAtLeast(ma, mi+1) || KernelAtLeast(ma+1, 0) {
		t.Errorf("KernelAtLeast disagrees with release %d.%d", ma, mi)
	}
}

// TestInode: the inode of a listener matches the socket:[N] link the
// kernel shows under /proc/self/fd.
func TestInode(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ino := ConnInode(t, ln.(*net.TCPListener))
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	link, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	if want := "socket:[" + strconv.FormatUint(ino, 10) + "]"; link != want {
		t.Errorf("fd link %q, want %q", link, want)
	}
	if got := FDInode(t, int(f.Fd())); got != ino {
		t.Errorf("FDInode = %d, want %d", got, ino)
	}
	if _, err := Inode(-1); err == nil {
		t.Error("Inode(-1) succeeded")
	}
}

// TestLoUp brings lo up in a fresh namespace (root only).
func TestLoUp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread leaves the process's namespace and
		// must die with this goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			errc <- err
			return
		}
		defer ln.Close()
		// With lo down, binding works but nothing is routable.
		if c, err := net.DialTimeout("tcp4", ln.Addr().String(), 5*time.Second); err == nil {
			c.Close()
			errc <- errors.New("connect over lo succeeded while lo was down")
			return
		}
		if err := LoUp(); err != nil {
			errc <- err
			return
		}
		c, err := net.DialTimeout("tcp4", ln.Addr().String(), 5*time.Second)
		if err != nil {
			errc <- fmt.Errorf("after LoUp: %w", err)
			return
		}
		c.Close()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestIsolate: a named namespace and a process made outside are invisible
// inside; the PID 1 there is the shell, in the host's network namespace.
func TestIsolate(t *testing.T) {
	if os.Getenv(isolatedEnv) == "" && os.Geteuid() == 0 {
		ip, err := exec.LookPath("ip")
		if err != nil {
			t.Skip("ip (iproute2) is not installed")
		}
		name := fmt.Sprintf("nstest-outside-%d", os.Getpid())
		if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add %s: %v: %s", name, err, out)
		}
		t.Cleanup(func() { _ = exec.Command(ip, "netns", "del", name).Run() })
	}
	if !Isolate(t) {
		return
	}
	for _, dir := range netnsDirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 0 {
			t.Errorf("%s is not empty inside: %v", dir, ents)
		}
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(mi, []byte(" - nsfs ")) {
		t.Errorf("nsfs mounts left inside:\n%s", mi)
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	// sh (1) and this test binary; nothing of the host.
	if len(pids) != 2 || pids[0] != 1 || pids[1] != os.Getpid() {
		t.Errorf("processes inside: %v, want [1 %d]", pids, os.Getpid())
	}
	comm, _ := os.ReadFile("/proc/1/comm")
	if string(bytes.TrimSpace(comm)) != "sh" {
		t.Errorf("PID 1 is %q, want sh", comm)
	}
}

func TestUnescapeOctal(t *testing.T) {
	for in, want := range map[string]string{
		`/run/netns/a`: "/run/netns/a",
		`/run/a\040b`:  "/run/a b",
		`/x\134y`:      `/x\y`,
		`/trail\04`:    `/trail\04`,
		`/bad\09x`:     `/bad\09x`,
		`\011\012`:     "\t\n",
	} {
		if got := unescapeOctal(in); got != want {
			t.Errorf("unescapeOctal(%q) = %q, want %q", in, got, want)
		}
	}
}
