package nstest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// ManyPort is the loopback port of the sockets Many opens in each
// namespace.
const ManyPort = 7000

// Many makes n network namespaces named prefix-0 … prefix-(n-1) in
// /run/netns, as `ip netns add` does (an nsfs bind mount), each with lo up,
// a TCP listener and a UDP socket on 127.0.0.1:ManyPort, held by this
// process. They are removed when the test ends. It moves one locked thread
// through unshare(2), which makes hundreds of namespaces in well under a
// second, where running ip n times takes minutes.
//
// The caller must be root and run in a private mount namespace with its
// own /run/netns (call Isolate first), so that the names never reach the
// host and vanish with the test even if it is killed.
func Many(t testing.TB, prefix string, n int) {
	t.Helper()
	if os.Getenv(isolatedEnv) == "" {
		t.Fatal("nstest.Many needs the private mounts of nstest.Isolate")
	}
	var (
		names []string
		fds   []int
	)
	t.Cleanup(func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
		for _, name := range names {
			path := filepath.Join("/run/netns", name)
			if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
				t.Errorf("unmount %s: %v", path, err)
			}
			os.Remove(path)
		}
	})
	one := func(name string) error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare: %w", err)
		}
		if err := LoUp(); err != nil {
			return err
		}
		path := filepath.Join("/run/netns", name)
		if err := os.WriteFile(path, nil, 0o444); err != nil {
			return err
		}
		if err := unix.Mount("/proc/thread-self/ns/net", path, "", unix.MS_BIND, ""); err != nil {
			os.Remove(path)
			return fmt.Errorf("bind mount %s: %w", path, err)
		}
		names = append(names, name)
		for _, typ := range []int{unix.SOCK_STREAM, unix.SOCK_DGRAM} {
			fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("socket: %w", err)
			}
			fds = append(fds, fd)
			if err := unix.Bind(fd, &unix.SockaddrInet4{Port: ManyPort, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
				return fmt.Errorf("bind: %w", err)
			}
			if typ == unix.SOCK_STREAM {
				if err := unix.Listen(fd, 1); err != nil {
					return fmt.Errorf("listen: %w", err)
				}
			}
		}
		return nil
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // unlocked only once back in its namespace
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer unix.Close(orig)
		for i := range n {
			err := one(fmt.Sprintf("%s-%d", prefix, i))
			if berr := unix.Setns(orig, unix.CLONE_NEWNET); berr != nil {
				errc <- fmt.Errorf("back to own namespace: %w", berr) // the thread dies locked
				return
			}
			if err != nil {
				runtime.UnlockOSThread()
				errc <- fmt.Errorf("namespace %d of %d: %w", i+1, n, err)
				return
			}
		}
		runtime.UnlockOSThread()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatalf("make namespaces: %v", err)
	}
}
