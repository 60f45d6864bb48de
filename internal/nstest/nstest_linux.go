package nstest

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sockscope/sockscope/internal/loopback"
	"golang.org/x/sys/unix"
)

// LoUp sets IFF_UP on the loopback interface of the calling thread's network
// namespace (loopback.Up). The caller must run on a locked OS thread
// that is inside the namespace.
func LoUp() error { return loopback.Up() }

// Inode returns the inode number of the file behind fd, as fstat reports
// it. For a socket this is the number sock_diag, /proc/net/* and the
// socket:[N] links under /proc/PID/fd use. Socket inodes are never 0.
func Inode(fd int) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, fmt.Errorf("fstat %d: %w", fd, err)
	}
	return st.Ino, nil
}

// FDInode is Inode that fails the test on error.
func FDInode(t testing.TB, fd int) uint64 {
	t.Helper()
	ino, err := Inode(fd)
	if err != nil {
		t.Fatal(err)
	}
	return ino
}

// ConnInode returns the inode of the socket behind c (a *net.TCPConn,
// *net.UDPConn, *net.TCPListener, ...), failing the test on error.
// sock_diag's inet and unix records carry the inode as 32 bits; convert
// with uint32 to compare with them.
func ConnInode(t testing.TB, c syscall.Conn) uint64 {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ino uint64
	var ierr error
	if err := rc.Control(func(fd uintptr) { ino, ierr = Inode(int(fd)) }); err != nil {
		t.Fatal(err)
	}
	if ierr != nil {
		t.Fatal(ierr)
	}
	return ino
}

// KernelAtLeast reports whether the running kernel's release (uname -r) is
// major.minor or newer. A release it cannot read or parse counts as older,
// so tests of recent features skip rather than fail.
func KernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return false
	}
	ma, mi, ok := parseRelease(unix.ByteSliceToString(u.Release[:]))
	return ok && (ma > major || ma == major && mi >= minor)
}

// parseRelease reads "6.18.0-foo" as 6, 18.
func parseRelease(rel string) (major, minor int, ok bool) {
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	minS := parts[1]
	if i := strings.IndexFunc(minS, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minS = minS[:i]
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(minS)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return ma, mi, true
}
