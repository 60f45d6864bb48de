package sockscope_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/nstest"

	"github.com/sockscope/sockscope"
)

// inNS runs f on a locked thread that has entered the namespace at path.
// The thread is discarded afterwards.
func inNS(t *testing.T, path string, f func()) {
	t.Helper()
	want := nsInodeOf(t, path)
	done := make(chan error, 1)
	go func() {
		// The deferred send also runs when f calls t.Fatal (runtime.Goexit).
		err := errors.New("the namespace's goroutine stopped early (see the errors above)")
		defer func() { done <- err }()
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		fd, oerr := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if oerr != nil {
			err = oerr
			return
		}
		defer unix.Close(fd)
		if serr := unix.Setns(fd, unix.CLONE_NEWNET); serr != nil {
			err = fmt.Errorf("setns %s: %w", path, serr)
			return
		}
		var st unix.Stat_t
		if serr := unix.Stat(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), &st); serr != nil || st.Ino != want {
			err = fmt.Errorf("after setns into %s (inode %d) the thread is in inode %d (%v)", path, want, st.Ino, serr)
			return
		}
		f()
		err = nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func nsInodeOf(t *testing.T, path string) uint64 {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// TestAllNetNS: with several namespaces — two named ones holding the same
// 5-tuple, and an unnamed one kept by a process — Collect with AllNetNS
// lists every socket once, labelled with the namespace it lives in.
//
// It runs in private PID and mount namespaces (nstest.Isolate), so that
// "every namespace" is the host's and the three it makes, never the other
// namespaces or processes of the machine.
func TestAllNetNS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating network namespaces needs root")
	}
	if !nstest.Isolate(t) {
		return
	}
	ipPath, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("ip (iproute2) is not installed")
	}
	unsharePath, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare (util-linux) is not installed")
	}
	tag := strconv.Itoa(os.Getpid()) + "-" + strconv.Itoa(rand.IntN(1e6))
	names := []string{"sockscope-t-a-" + tag, "sockscope-t-b-" + tag}
	for _, n := range names {
		if out, err := exec.Command(ipPath, "netns", "add", n).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add %s: %v: %s", n, err, out)
		}
		t.Cleanup(func() { exec.Command(ipPath, "netns", "del", n).Run() })
	}
	sleeper := exec.Command(unsharePath, "-n", "sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	unnamed := fmt.Sprintf("/proc/%d/ns/net", sleeper.Process.Pid)
	deadline := time.Now().Add(5 * time.Second)
	// thread-self, not self: a test goroutine that locked the main thread
	// into another namespace and exited leaves the thread-group leader
	// there (Go cannot end the main thread), and /proc/self follows it.
	for nsInodeOf(t, unnamed) == nsInodeOf(t, "/proc/thread-self/ns/net") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // unshare has not run yet
	}

	type made struct {
		ns    uint64
		name  string // "" for the unnamed namespace
		socks []*sock
	}
	var all []made
	tuple := netip.MustParseAddrPort("127.0.0.1:7000")
	for i, path := range []string{"/run/netns/" + names[0], "/run/netns/" + names[1], unnamed} {
		m := made{ns: nsInodeOf(t, path)}
		if i < 2 {
			m.name = names[i]
		}
		inNS(t, path, func() {
			if err := nstest.LoUp(); err != nil {
				t.Fatal(err)
			}
			l := newSock(t, unix.AF_INET, unix.SOCK_STREAM).bind4("127.0.0.1", int(tuple.Port())).listen()
			c := newSock(t, unix.AF_INET, unix.SOCK_STREAM).bind4("127.0.0.1", 7001).connect4(tuple)
			a := l.accept()
			m.socks = []*sock{l, c, a}
		})
		all = append(all, m)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	snap, err := sockscope.Collect(ctx, sockscope.Options{AllNetNS: true, Holders: true})
	if err != nil {
		t.Fatal(err)
	}
	count := map[uint64]int{}
	byIno := map[uint64]*sockscope.Socket{}
	keys := map[sockscope.Key]bool{}
	for _, s := range snap.Sockets {
		if s.Inode != 0 {
			count[s.Inode]++
			byIno[s.Inode] = s
		}
		if keys[s.Key()] {
			t.Errorf("socket listed twice: %+v", s.Key())
		}
		keys[s.Key()] = true
	}
	clientTuples := map[sockscope.Connection][]uint64{}
	for _, m := range all {
		for i, k := range m.socks {
			ino := k.inode()
			s := byIno[ino]
			if count[ino] != 1 || s == nil {
				t.Errorf("namespace %d: socket %d (inode %d) listed %d times, want once", m.ns, i, ino, count[ino])
				continue
			}
			if s.NetNS == nil || s.NetNS.Inode != m.ns {
				t.Errorf("inode %d: labelled with namespace %+v, want inode %d", ino, s.NetNS, m.ns)
				continue
			}
			if m.name != "" && s.NetNS.Name != m.name {
				t.Errorf("inode %d: namespace name %q, want the ip netns name %q", ino, s.NetNS.Name, m.name)
			}
			if m.name == "" && (s.NetNS.Name == "host" || s.NetNS.Name == "") {
				t.Errorf("inode %d: unnamed namespace labelled %q", ino, s.NetNS.Name)
			}
			if i == 1 {
				clientTuples[s.Connection()] = append(clientTuples[s.Connection()], s.NetNS.Inode)
			}
		}
	}
	want := sockscope.Connection{Proto: sockscope.TCP, Local: netip.MustParseAddrPort("127.0.0.1:7001"), Remote: tuple}
	if got := clientTuples[want]; len(got) != 3 || got[0] == got[1] || got[1] == got[2] {
		t.Errorf("the 5-tuple %v: found in namespaces %v, want three distinct ones", want, got)
	}
	// The namespaces we made are in the snapshot's list, each once.
	seen := map[uint64]int{}
	for _, ns := range snap.NetNS {
		seen[ns.Inode]++
	}
	for _, m := range all {
		if seen[m.ns] != 1 {
			t.Errorf("namespace %d appears %d times in Snapshot.NetNS", m.ns, seen[m.ns])
		}
	}
	// And, isolated, nothing else but the host's.
	if len(snap.NetNS) != len(all)+1 {
		var got []string
		for _, ns := range snap.NetNS {
			got = append(got, fmt.Sprintf("%d %q", ns.Inode, ns.Name))
		}
		t.Errorf("Snapshot.NetNS has %d namespaces, want the host's and our %d: %v", len(snap.NetNS), len(all), got)
	}
}
