package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/sockscope/sockscope/internal/loopback"
	"golang.org/x/sys/unix"
)

// netnsDir is where `ip netns` keeps named namespaces. The sweep runs in
// a private mount namespace with an empty tmpfs here (see privateNetnsDir),
// so `ip netns list` shows exactly the namespaces it made.
const netnsDir = "/run/netns"

// nsSet is n named network namespaces, made the way `ip netns add` makes
// them (an nsfs bind mount on /run/netns/NAME), each with socketsPerNS TCP
// sockets whose file descriptors this process holds.
type nsSet struct {
	names []string
	fds   []int
	setup time.Duration
}

// makeNamespaces creates n namespaces named prefix-0 … prefix-(n-1).
// unshare(2) from a locked thread is much faster than `ip netns add`
// (which forks, and remounts), so 500 namespaces take seconds, not
// minutes. On error, what was made so far is returned for close.
func makeNamespaces(prefix string, n int) (*nsSet, error) {
	start := time.Now()
	s := &nsSet{}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Leave the thread locked if it cannot go back: the runtime then
		// ends it with the goroutine.
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open own namespace: %w", err)
			return
		}
		defer unix.Close(orig)
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("%s-%d", prefix, i)
			err := s.makeOne(name)
			if berr := unix.Setns(orig, unix.CLONE_NEWNET); berr != nil {
				errc <- errors.Join(err, fmt.Errorf("return to own namespace: %w", berr))
				return
			}
			if err != nil {
				errc <- fmt.Errorf("namespace %s: %w", name, err)
				return
			}
		}
		runtime.UnlockOSThread()
		errc <- nil
	}()
	err := <-errc
	s.setup = time.Since(start)
	return s, err
}

// makeOne moves the calling (locked) thread into a new namespace, brings
// lo up, opens the sockets and names the namespace. The caller moves the
// thread back.
func (s *nsSet) makeOne(name string) error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	if err := loopback.Up(); err != nil {
		return err
	}
	path := filepath.Join(netnsDir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return err
	}
	f.Close()
	s.names = append(s.names, name)
	if err := unix.Mount("/proc/thread-self/ns/net", path, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount on %s: %w", path, err)
	}
	return s.openSockets()
}

// openSockets makes two listeners on 127.0.0.1 and one connection to the
// first, in the calling thread's namespace.
func (s *nsSet) openSockets() error {
	var ports [2]int
	var lfd int
	for i := range ports {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("socket: %w", err)
		}
		s.fds = append(s.fds, fd)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Port: basePort + i, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return fmt.Errorf("bind: %w", err)
		}
		if err := unix.Listen(fd, 16); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		ports[i] = basePort + i
		if i == 0 {
			lfd = fd
		}
	}
	linger := &unix.Linger{Onoff: 1, Linger: 0}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	s.fds = append(s.fds, fd)
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, linger)
	if err := connect(fd, &unix.SockaddrInet4{Port: ports[0], Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	afd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	s.fds = append(s.fds, afd)
	_ = unix.SetsockoptLinger(afd, unix.SOL_SOCKET, unix.SO_LINGER, linger)
	return nil
}

// close unmounts and removes the names and closes the sockets; the kernel
// frees each namespace when its last reference goes.
func (s *nsSet) close() error {
	var errs []error
	for _, fd := range s.fds {
		unix.Close(fd)
	}
	s.fds = nil
	for _, name := range s.names {
		path := filepath.Join(netnsDir, name)
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", path, err))
		}
		if err := os.Remove(path); err != nil {
			errs = append(errs, err)
		}
	}
	s.names = nil
	return errors.Join(errs...)
}

// privateNetnsDir gives the calling process a private /run/netns: it must
// already run in its own mount namespace (see reexecPrivate). An empty
// tmpfs there means `ip netns list` and sockscope see only the
// namespaces the sweep makes (plus those of the host's processes), and
// everything the sweep mounts disappears with the process.
func privateNetnsDir() error {
	if err := os.MkdirAll(netnsDir, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("sockscope-bench", netnsDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755"); err != nil {
		return fmt.Errorf("tmpfs on %s: %w", netnsDir, err)
	}
	return nil
}
