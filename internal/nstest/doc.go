// Package nstest holds the helpers that tests across sockscope share when
// they build real sockets and compare them with what the kernel reports:
// bringing the loopback interface up in a network namespace the test just
// created, reading a socket's inode (the key every dump uses), and asking
// which kernel is running (some dump features are recent).
//
// It is imported only by _test.go files. The helpers are Linux-only; on
// other systems the package is empty.
package nstest
