package sockscope

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// errnoName is the kernel's name for e ("EPERM").
func errnoName(e syscall.Errno) string { return unix.ErrnoName(e) }
