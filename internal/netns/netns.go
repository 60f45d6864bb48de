package netns

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sockscope/sockscope/internal/oserr"
)

// NS is one network namespace.
type NS struct {
	// Inode and Dev identify the namespace: the inode and device number
	// of its nsfs file (what stat(2) of /proc/PID/ns/net reports). The
	// inode alone is what `readlink /proc/PID/ns/net` shows as net:[INODE].
	Inode uint64
	Dev   uint64
	// Path opens the namespace: /run/netns/NAME, another nsfs bind mount,
	// /proc/PID/ns/net or /proc/PID/task/TID/ns/net, most stable first.
	// A /proc path is only valid while that process lives; Do checks that
	// the path still leads to this namespace before entering it.
	Path string
	// Names are the `ip netns` names (entries of /run/netns) bound to it,
	// sorted.
	Names []string
	// PIDs are processes whose thread-group leader is in the namespace,
	// sorted ascending and capped at MaxPIDs. Processes that have only
	// some threads inside are not listed.
	PIDs []int
	// NumPIDs counts all such processes, including those beyond the cap.
	NumPIDs int
	// Host reports whether this is the initial namespace: the one of
	// PID 1 or, when /proc/1/ns/net cannot be read, of the kernel threads
	// (kthreadd, PID 2). False for all when neither can be read.
	Host bool
}

// MaxPIDs caps NS.PIDs.
const MaxPIDs = 64

// ErrPermission is wrapped by every error caused by missing privileges:
// reading another user's /proc/PID/ns/net, or entering a namespace without
// CAP_SYS_ADMIN. Test for it with errors.Is.
var ErrPermission = errors.New("permission denied")

// ErrNotSupported is wrapped by the errors of List, Resolve and Do on
// systems other than Linux. It is the same value as
// sockscope.ErrNotSupported.
var ErrNotSupported = oserr.ErrNotSupported

// ResolveError is the error of Resolve: Spec is what was given, Err why it
// does not lead to a network namespace (a sentence for the user, which
// says what would be accepted; it wraps fs.ErrNotExist, ErrPermission and
// the like). Test for it with errors.As.
type ResolveError struct {
	Spec string
	Err  error
}

// Error returns `netns: resolve "SPEC": REASON`.
func (e *ResolveError) Error() string {
	return fmt.Sprintf("netns: resolve %q: %v", e.Spec, e.Err)
}

// Unwrap returns the reason.
func (e *ResolveError) Unwrap() error { return e.Err }

// key identifies a namespace.
type key struct{ dev, ino uint64 }

// sortNS orders namespaces host first, then by inode, then by device.
func sortNS(list []NS) {
	slices.SortFunc(list, func(a, b NS) int {
		if a.Host != b.Host {
			if a.Host {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.Inode, b.Inode), cmp.Compare(a.Dev, b.Dev))
	})
}

// pfKthread is PF_KTHREAD, the kernel-thread bit of the flags field of
// /proc/PID/stat.
const pfKthread = 0x00200000

// isKernelThread reports whether a /proc/PID/stat line describes a kernel
// thread. The command name, in parentheses, may itself contain spaces and
// parentheses, so fields are counted from the last ')'.
func isKernelThread(stat []byte) bool {
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return false
	}
	// After ')': state ppid pgrp session tty_nr tpgid flags ...
	fields := strings.Fields(s[i+1:])
	if len(fields) < 7 {
		return false
	}
	flags, err := strconv.ParseUint(fields[6], 10, 32)
	return err == nil && flags&pfKthread != 0
}
