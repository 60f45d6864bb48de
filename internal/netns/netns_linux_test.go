//go:build linux

package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// mustStatNS returns the identity of the namespace file at path.
func mustStatNS(t *testing.T, path string) key {
	t.Helper()
	k, err := statNS(path)
	if err != nil {
		t.Fatalf("statNS(%s): %v", path, err)
	}
	return k
}

// threadNS returns the namespace of the calling OS thread.
func threadNS(t *testing.T) key {
	t.Helper()
	return mustStatNS(t, threadSelfNS())
}

// newNamedNS creates `ip netns add sockscope-test-<random>` and deletes it
// when the test ends. It skips the test when that is not possible.
func newNamedNS(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating a network namespace needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) is not installed")
	}
	name := fmt.Sprintf("sockscope-test-%d-%06d", os.Getpid(), rand.IntN(1e6))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns add %s: %v: %s (no CAP_SYS_ADMIN?)", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return name
}

// startUnshared starts `unshare <flags> sleep 30`, waits until the process
// is in a new network namespace, and kills it when the test ends.
func startUnshared(t *testing.T, flags ...string) (int, error) {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		return 0, fmt.Errorf("unshare (util-linux) is not installed: %w", err)
	}
	own := mustStatNS(t, "/proc/self/ns/net")
	cmd := exec.Command("unshare", append(flags, "sleep", "30")...)
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = unix.Kill(pid, unix.SIGKILL)
		<-exited
	})
	path := fmt.Sprintf("/proc/%d/ns/net", pid)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			return 0, fmt.Errorf("unshare %v exited early: %v", flags, err)
		default:
		}
		if k, err := statNS(path); err == nil && k != own {
			return pid, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, fmt.Errorf("unshare %v: pid %d did not enter a new namespace within 5s", flags, pid)
}

// find returns the listed namespace with identity k.
func find(list []NS, k key) (NS, bool) {
	for _, ns := range list {
		if (key{ns.Dev, ns.Inode}) == k {
			return ns, true
		}
	}
	return NS{}, false
}

// logErrs logs List's errors briefly: permission failures are counted,
// others shown.
func logErrs(t *testing.T, errs []error) {
	t.Helper()
	denied := 0
	for _, err := range errs {
		if errors.Is(err, ErrPermission) {
			denied++
			continue
		}
		t.Logf("List: %v", err)
	}
	if denied > 0 {
		t.Logf("List: %d files unreadable for lack of permission, e.g. %v", denied, errs[0])
	}
}

// checkListShape checks the properties every List result has.
func checkListShape(t *testing.T, list []NS) {
	t.Helper()
	seen := make(map[key]bool)
	hosts := 0
	for i, ns := range list {
		k := key{ns.Dev, ns.Inode}
		if seen[k] {
			t.Errorf("namespace net:[%d] (dev %d) listed twice", ns.Inode, ns.Dev)
		}
		seen[k] = true
		if ns.Inode == 0 || ns.Path == "" {
			t.Errorf("namespace %+v: missing inode or path", ns)
		}
		if ns.Host {
			hosts++
			if i != 0 {
				t.Errorf("host namespace at index %d, want 0", i)
			}
		}
		if !slices.IsSorted(ns.PIDs) || len(ns.PIDs) > MaxPIDs || len(ns.PIDs) > ns.NumPIDs {
			t.Errorf("namespace net:[%d]: PIDs %v (NumPIDs %d) not sorted or over the cap", ns.Inode, ns.PIDs, ns.NumPIDs)
		}
		if len(ns.PIDs) != min(ns.NumPIDs, MaxPIDs) {
			t.Errorf("namespace net:[%d]: %d PIDs listed, NumPIDs %d", ns.Inode, len(ns.PIDs), ns.NumPIDs)
		}
		if i > 0 && !list[i-1].Host && list[i-1].Inode > ns.Inode {
			t.Errorf("namespaces not sorted by inode: %d before %d", list[i-1].Inode, ns.Inode)
		}
		// The path must lead to the namespace it is listed for.
		if got, err := statNS(ns.Path); err == nil && got != k {
			t.Errorf("namespace net:[%d]: path %s leads to net:[%d]", ns.Inode, ns.Path, got.ino)
		}
	}
	if hosts > 1 {
		t.Errorf("%d host namespaces", hosts)
	}
}

func TestListOwnNamespace(t *testing.T) {
	list, errs := List("")
	logErrs(t, errs)
	checkListShape(t, list)
	own := mustStatNS(t, "/proc/self/ns/net")
	ns, ok := find(list, own)
	if !ok {
		t.Fatalf("List did not find the test's own namespace net:[%d] among %d", own.ino, len(list))
	}
	if ns.NumPIDs == 0 {
		t.Errorf("own namespace has no processes")
	}
	if ns.NumPIDs <= MaxPIDs && !slices.Contains(ns.PIDs, os.Getpid()) {
		t.Errorf("own namespace PIDs %v lack the test's pid %d", ns.PIDs, os.Getpid())
	}
	if hk, _, err := findHost("/proc"); err == nil {
		if !list[0].Host || (key{list[0].Dev, list[0].Inode}) != hk {
			t.Errorf("first namespace %+v is not the host net:[%d]", list[0], hk.ino)
		}
	} else {
		t.Logf("host not identified: %v", err)
	}
}

func TestFindHost(t *testing.T) {
	k, path, err := findHost("/proc")
	if err != nil {
		t.Skipf("host namespace not readable: %v", err)
	}
	checked := false
	if k1, err := statNS("/proc/1/ns/net"); err == nil {
		checked = true
		if k1 != k || path != "/proc/1/ns/net" {
			t.Errorf("findHost = net:[%d] via %s, want PID 1's net:[%d]", k.ino, path, k1.ino)
		}
	}
	// Kernel threads never leave the initial namespace.
	if stat, err := os.ReadFile("/proc/2/stat"); err == nil && isKernelThread(stat) {
		if k2, err := statNS("/proc/2/ns/net"); err == nil {
			checked = true
			if k2 != k {
				t.Errorf("findHost = net:[%d], but kthreadd is in net:[%d]", k.ino, k2.ino)
			}
		}
	}
	if !checked {
		t.Errorf("findHost = net:[%d] via %s, but neither PID 1 nor kthreadd is readable", k.ino, path)
	}
}

func TestListFixtureProcRoot(t *testing.T) {
	// A fake /proc whose ns/net files are symlinks to the selfNS one, so the
	// walk over processes can be checked without privileges.
	root := t.TempDir()
	self, err := os.Readlink("/proc/self")
	if err != nil {
		t.Fatal(err)
	}
	selfNS := "/proc/" + self + "/ns/net"
	link := func(pid, target string) {
		t.Helper()
		dir := filepath.Join(root, pid, "ns")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, "net")); err != nil {
			t.Fatal(err)
		}
	}
	link("1", selfNS)
	link("42", selfNS)
	link("7", selfNS)
	link("43", filepath.Join(root, "gone"))                              // exited: ignored
	link("44", "/proc/self/status")                                      // not a namespace: reported
	if err := os.Mkdir(filepath.Join(root, "self"), 0o755); err != nil { // not a pid
		t.Fatal(err)
	}

	list, errs := List(root)
	checkListShape(t, list)
	own := mustStatNS(t, selfNS)
	ns, ok := find(list, own)
	if !ok {
		t.Fatalf("List(%s) did not find net:[%d]: %+v", root, own.ino, list)
	}
	if !ns.Host || list[0].Inode != own.ino {
		t.Errorf("namespace of fake pid 1 is not first and Host: %+v", ns)
	}
	if want := []int{1, 7, 42}; !slices.Equal(ns.PIDs, want) || ns.NumPIDs != 3 {
		t.Errorf("PIDs = %v (NumPIDs %d), want %v", ns.PIDs, ns.NumPIDs, want)
	}
	if len(ns.Names) == 0 && !strings.HasPrefix(ns.Path, root) {
		t.Errorf("Path = %q, want one under %s", ns.Path, root)
	}
	var notNS int
	for _, err := range errs {
		if errors.Is(err, errNotNSFS) {
			notNS++
			if !strings.Contains(err.Error(), filepath.Join(root, "44")) {
				t.Errorf("error %q does not name the file", err)
			}
		}
	}
	if notNS != 1 {
		t.Errorf("got %d not-a-namespace errors, want 1 (for pid 44): %v", notNS, errs)
	}
}

func TestListCreated(t *testing.T) {
	a, b := newNamedNS(t), newNamedNS(t)
	pid, err := startUnshared(t, "-n")
	if err != nil {
		t.Fatalf("start a process in an unnamed namespace: %v", err)
	}
	ka := mustStatNS(t, "/run/netns/"+a)
	kb := mustStatNS(t, "/run/netns/"+b)
	kc := mustStatNS(t, fmt.Sprintf("/proc/%d/ns/net", pid))
	if ka == kb || ka == kc || kb == kc {
		t.Fatalf("created namespaces are not distinct: %v %v %v", ka, kb, kc)
	}

	// A thread of this process alone in a fourth namespace: found only
	// through /proc/PID/task/TID/ns/net.
	kt, tid, release := unshareThread(t)
	defer release()

	list, errs := List("")
	logErrs(t, errs)
	checkListShape(t, list)

	for _, tc := range []struct {
		name string
		k    key
	}{{a, ka}, {b, kb}} {
		ns, ok := find(list, tc.k)
		if !ok {
			t.Errorf("List did not find %s (net:[%d])", tc.name, tc.k.ino)
			continue
		}
		if !slices.Equal(ns.Names, []string{tc.name}) {
			t.Errorf("%s: Names = %v", tc.name, ns.Names)
		}
		if ns.Path != "/run/netns/"+tc.name {
			t.Errorf("%s: Path = %q, want /run/netns/%s", tc.name, ns.Path, tc.name)
		}
		if len(ns.PIDs) != 0 || ns.Host {
			t.Errorf("%s: PIDs = %v, Host = %v; want none, false", tc.name, ns.PIDs, ns.Host)
		}
	}

	ns, ok := find(list, kc)
	if !ok {
		t.Fatalf("List did not find the unshared process's namespace net:[%d]", kc.ino)
	}
	if !slices.Equal(ns.PIDs, []int{pid}) || ns.NumPIDs != 1 || len(ns.Names) != 0 {
		t.Errorf("unnamed namespace: PIDs %v NumPIDs %d Names %v; want [%d] 1 []", ns.PIDs, ns.NumPIDs, ns.Names, pid)
	}
	if want := fmt.Sprintf("/proc/%d/ns/net", pid); ns.Path != want {
		t.Errorf("unnamed namespace: Path = %q, want %q", ns.Path, want)
	}

	ns, ok = find(list, kt)
	if !ok {
		t.Fatalf("List did not find the namespace only thread %d is in (net:[%d])", tid, kt.ino)
	}
	if want := fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), tid); ns.Path != want || len(ns.PIDs) != 0 {
		t.Errorf("thread namespace: Path %q PIDs %v; want %q and none", ns.Path, ns.PIDs, want)
	}
}

// unshareThread moves one locked OS thread of the test into a new,
// unnamed network namespace. release ends it; the runtime then discards the
// thread, since the goroutine exits locked.
func unshareThread(t *testing.T) (k key, tid int, release func()) {
	t.Helper()
	type info struct {
		k   key
		tid int
		err error
	}
	ready := make(chan info)
	stop := make(chan struct{})
	exited := make(chan struct{})
	work := func() {
		defer close(exited)
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ready <- info{err: err}
			return
		}
		k, err := statNS(threadSelfNS())
		ready <- info{k, unix.Gettid(), err}
		<-stop
	}
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != os.Getpid() {
			work()
			return
		}
		// This is the main thread (the thread-group leader): moving it
		// would move /proc/PID/ns/net, and the runtime cannot discard it.
		// Hold it while another goroutine, on another thread, does the work.
		defer runtime.UnlockOSThread()
		done := make(chan struct{})
		go func() { defer close(done); work() }()
		<-done
	}()
	in := <-ready
	if in.err != nil {
		t.Fatalf("unshare a thread: %v", in.err)
	}
	var once sync.Once
	return in.k, in.tid, func() { once.Do(func() { close(stop); <-exited }) }
}

func TestDoCreated(t *testing.T) {
	a, b := newNamedNS(t), newNamedNS(t)
	pid, err := startUnshared(t, "-n")
	if err != nil {
		t.Fatalf("start a process in an unnamed namespace: %v", err)
	}

	// Pin the test to its thread so "the caller's thread" is well defined.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadNS(t)

	for _, spec := range []string{a, b, strconv.Itoa(pid)} {
		ns, err := Resolve(spec, "")
		if err != nil {
			t.Fatalf("Resolve(%q): %v", spec, err)
		}
		var inside key
		callerTID := unix.Gettid()
		var fnTID int
		err = Do(ns, func() error {
			inside = threadNS(t)
			fnTID = unix.Gettid()
			return nil
		})
		if err != nil {
			t.Fatalf("Do(%q): %v", spec, err)
		}
		if want := (key{ns.Dev, ns.Inode}); inside != want {
			t.Errorf("Do(%q): fn ran in net:[%d], want net:[%d]", spec, inside.ino, want.ino)
		}
		if fnTID == callerTID {
			t.Errorf("Do(%q): fn ran on the caller's thread %d", spec, callerTID)
		}
		if after := threadNS(t); after != before {
			t.Errorf("Do(%q) moved the caller's thread to net:[%d]", spec, after.ino)
		}
	}

	nsA, err := Resolve(a, "")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("error returned", func(t *testing.T) {
		sentinel := errors.New("from fn")
		if err := Do(nsA, func() error { return sentinel }); !errors.Is(err, sentinel) {
			t.Errorf("Do() = %v, want %v", err, sentinel)
		}
	})

	t.Run("panic re-raised", func(t *testing.T) {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("recovered %v, want boom", v)
			}
		}()
		_ = Do(nsA, func() error { panic("boom") })
		t.Error("Do did not re-raise the panic")
	})

	t.Run("stale path", func(t *testing.T) {
		nsB, err := Resolve(b, "")
		if err != nil {
			t.Fatal(err)
		}
		stale := nsA
		stale.Path = nsB.Path
		called := false
		if err := Do(stale, func() error { called = true; return nil }); err == nil || called {
			t.Errorf("Do(A's identity, B's path) = %v, called %v; want an error and no call", err, called)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		nsB, err := Resolve(b, "")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			ns := nsA
			if i%2 == 1 {
				ns = nsB
			}
			wg.Go(func() {
				errs <- Do(ns, func() error {
					k, err := statNS(threadSelfNS())
					if err != nil {
						return err
					}
					if k != (key{ns.Dev, ns.Inode}) {
						return fmt.Errorf("in net:[%d], want net:[%d]", k.ino, ns.Inode)
					}
					return nil
				})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})

	if after := threadNS(t); after != before {
		t.Errorf("caller's thread ended in net:[%d], want net:[%d]", after.ino, before.ino)
	}
}

func TestDoOwnNamespace(t *testing.T) {
	ns, err := Resolve("/proc/self/ns/net", "")
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := unix.Gettid()
	sentinel := errors.New("from fn")
	ranOn := 0
	err = Do(ns, func() error { ranOn = unix.Gettid(); return sentinel })
	if !errors.Is(err, sentinel) {
		t.Errorf("Do(own) = %v, want %v", err, sentinel)
	}
	if ranOn != tid {
		t.Errorf("Do(own) ran fn on thread %d, want the caller's %d (no setns needed)", ranOn, tid)
	}
}

func TestDoPermission(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("needs an unprivileged user")
	}
	var target NS
	// An unprivileged user can often create a user+network namespace it
	// may look at but, lacking CAP_SYS_ADMIN in its own user namespace,
	// not enter.
	if pid, err := startUnshared(t, "-r", "-n"); err == nil {
		t.Logf("entering the namespace of own child %d (unshare -r -n)", pid)
		if target, err = Resolve(strconv.Itoa(pid), ""); err != nil {
			t.Fatalf("Resolve(own child %d): %v", pid, err)
		}
		// An unprivileged List still sees its own processes' namespaces.
		list, _ := List("")
		if ns, ok := find(list, key{target.Dev, target.Inode}); !ok || !slices.Equal(ns.PIDs, []int{pid}) {
			t.Errorf("List as uid %d: child's namespace %+v (found %v), want PIDs [%d]", os.Geteuid(), ns, ok, pid)
		}
	} else {
		t.Logf("unshare -r -n: %v; looking for another namespace", err)
		own := mustStatNS(t, "/proc/self/ns/net")
		list, _ := List("")
		for _, ns := range list {
			if (key{ns.Dev, ns.Inode}) != own {
				target = ns
				break
			}
		}
	}
	if target.Path == "" {
		t.Skip("no other network namespace visible to this user")
	}
	called := false
	err := Do(target, func() error { called = true; return nil })
	if !errors.Is(err, ErrPermission) || called {
		t.Errorf("Do(%s) as uid %d = %v, called %v; want ErrPermission and no call", target.Path, os.Geteuid(), err, called)
	}
}

func TestResolve(t *testing.T) {
	own := mustStatNS(t, "/proc/self/ns/net")
	for _, spec := range []string{"/proc/self/ns/net", strconv.Itoa(os.Getpid())} {
		ns, err := Resolve(spec, "")
		if err != nil {
			t.Errorf("Resolve(%q): %v", spec, err)
			continue
		}
		if (key{ns.Dev, ns.Inode}) != own {
			t.Errorf("Resolve(%q) = net:[%d], want own net:[%d]", spec, ns.Inode, own.ino)
		}
	}
	if hk, path, err := findHost("/proc"); err == nil {
		ns, err := Resolve(path, "")
		if err != nil || !ns.Host || ns.Inode != hk.ino {
			t.Errorf("Resolve(%q) = %+v, %v; want the host namespace", path, ns, err)
		}
	}

	bad := []struct {
		spec string
		is   error
	}{
		{"", nil},
		{"sockscope-no-such-name", fs.ErrNotExist},
		{"999999999", fs.ErrNotExist},
		{"/nonexistent/ns/net", fs.ErrNotExist},
		{"/proc/self/status", errNotNSFS},
		{"/proc/self/ns/uts", nil},
		{"..", nil},
	}
	for _, tt := range bad {
		_, err := Resolve(tt.spec, "")
		if err == nil {
			t.Errorf("Resolve(%q) = nil error", tt.spec)
			continue
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("Resolve(%q) = %v, want it to wrap %v", tt.spec, err, tt.is)
		}
		if !strings.Contains(err.Error(), strconv.Quote(tt.spec)) {
			t.Errorf("Resolve(%q) error %q does not quote the spec", tt.spec, err)
		}
	}
}

func TestResolveCreated(t *testing.T) {
	name := newNamedNS(t)
	pid, err := startUnshared(t, "-n")
	if err != nil {
		t.Fatalf("start a process in an unnamed namespace: %v", err)
	}
	kn := mustStatNS(t, "/run/netns/"+name)
	kp := mustStatNS(t, fmt.Sprintf("/proc/%d/ns/net", pid))

	tests := []struct {
		spec      string
		want      key
		wantPath  string
		wantNames []string
	}{
		{name, kn, "/run/netns/" + name, []string{name}},
		{"/run/netns/" + name, kn, "/run/netns/" + name, []string{name}},
		{strconv.Itoa(pid), kp, fmt.Sprintf("/proc/%d/ns/net", pid), nil},
		{fmt.Sprintf("/proc/%d/ns/net", pid), kp, fmt.Sprintf("/proc/%d/ns/net", pid), nil},
	}
	for _, tt := range tests {
		ns, err := Resolve(tt.spec, "")
		if err != nil {
			t.Errorf("Resolve(%q): %v", tt.spec, err)
			continue
		}
		if (key{ns.Dev, ns.Inode}) != tt.want || ns.Path != tt.wantPath || !slices.Equal(ns.Names, tt.wantNames) || ns.Host {
			t.Errorf("Resolve(%q) = %+v; want net:[%d] path %s names %v", tt.spec, ns, tt.want.ino, tt.wantPath, tt.wantNames)
		}
	}

	// A name made of digits that is no live PID resolves as a name.
	digits := strconv.Itoa(900000000 + rand.IntN(99999999))
	if out, err := exec.Command("ip", "netns", "add", digits).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", digits, err, out)
	}
	defer exec.Command("ip", "netns", "del", digits).Run()
	if ns, err := Resolve(digits, ""); err != nil || !slices.Equal(ns.Names, []string{digits}) {
		t.Errorf("Resolve(%q) = %+v, %v; want the namespace named %s", digits, ns, err, digits)
	}
}

func BenchmarkList(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if list, _ := List(""); len(list) == 0 {
			b.Fatal("no namespaces")
		}
	}
}

// TestInitialFallsBackToKthreadd: when PID 1's namespace cannot be read,
// Initial takes kthreadd's (PID 2, a kernel thread) and refuses a PID 2
// that is not a kernel thread. The fixture's ns/net links lead to this
// thread's namespace, which plays the initial one.
func TestInitialFallsBackToKthreadd(t *testing.T) {
	own, err := statNS("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	build := func(flags int) string {
		root := t.TempDir()
		if err := os.MkdirAll(filepath.Join(root, "2", "ns"), 0o755); err != nil {
			t.Fatal(err)
		}
		stat := fmt.Sprintf("2 (kthreadd) S 0 0 0 0 -1 %d 0 0 0 0 0 0 0 0 20 0 1 0 24\n", flags)
		if err := os.WriteFile(filepath.Join(root, "2", "stat"), []byte(stat), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid()), filepath.Join(root, "2", "ns", "net")); err != nil {
			t.Fatal(err)
		}
		return root
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ns, err := Initial(build(pfKthread | 0x40))
	if err != nil {
		t.Fatalf("Initial with PID 1 unreadable and kthreadd readable: %v", err)
	}
	if ns.Inode != own.ino || !ns.Host || !strings.HasSuffix(ns.Path, "/2/ns/net") {
		t.Errorf("Initial = %+v, want net:[%d] via PID 2", ns, own.ino)
	}
	if ns, err := Initial(build(0x40)); err == nil {
		t.Errorf("Initial took a PID 2 that is not a kernel thread: %+v", ns)
	}
}

// TestResolveError: every Resolve failure is a *ResolveError naming what
// was given, whose reason keeps the cause for errors.Is.
func TestResolveError(t *testing.T) {
	missing := fmt.Sprintf("sockscope-test-missing-%d", os.Getpid())
	for _, spec := range []string{"", missing, "/etc/hostname", "/proc/self/ns/uts", "999999999"} {
		_, err := Resolve(spec, "")
		var re *ResolveError
		if !errors.As(err, &re) || re.Spec != spec {
			t.Errorf("Resolve(%q) = %v (%T), want a *ResolveError for %q", spec, err, err, spec)
			continue
		}
		if want := fmt.Sprintf("netns: resolve %q: ", spec); !strings.HasPrefix(err.Error(), want) || strings.Contains(re.Err.Error(), "netns: resolve") {
			t.Errorf("Resolve(%q): %q should start with %q once, reason %q", spec, err, want, re.Err)
		}
	}
	if _, err := Resolve(missing, ""); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Resolve(%q) = %v, want fs.ErrNotExist", missing, err)
	}
}
