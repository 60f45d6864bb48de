//go:build !linux

package sockscope

import "syscall"

// errnoName describes e; errno names are the Linux kernel's.
func errnoName(e syscall.Errno) string { return e.Error() }
