// Package loopback brings up lo in a fresh network namespace: one small
// step shared by lab, the benchmark and the tests' namespaces.
package loopback

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Up sets IFF_UP on the loopback interface of the calling thread's
// network namespace. A namespace made by unshare(CLONE_NEWNET) starts with
// lo down, so nothing can bind 127.0.0.1 or connect over it until this
// runs. The caller must run on a locked OS thread inside the namespace.
func Up() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("lo up: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("lo up: SIOCGIFFLAGS: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("lo up: SIOCSIFFLAGS: %w", err)
	}
	return nil
}
