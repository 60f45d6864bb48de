package holders

// Proc is one process the scan could read.
type Proc struct {
	PID     int
	PPID    int
	Comm    string
	Cmdline []string
	UID     uint32
	User    string // name from the passwd database, or the decimal uid
	Cgroup  string // the cgroup v2 path ("0::" line), "" if none
	NetNS   uint64 // inode of /proc/PID/ns/net, 0 if unreadable
}

// Ref is one holder of a socket: the socket's inode, an index into
// Result.Procs and the fd.
type Ref struct {
	Inode uint64
	Proc  int32
	FD    int32
}

// Result is what one scan found.
type Result struct {
	// Procs lists the processes holding at least one reported socket,
	// sorted by PID.
	Procs []Proc
	// Refs lists every (socket inode, process, fd) found, sorted by inode,
	// then PID, then fd; Holders looks one inode up. A sorted slice takes
	// 16 bytes per fd where a map of inode to refs took about 45.
	Refs []Ref
	// Denied counts processes whose fds could not be read (permission).
	Denied int
	// Vanished counts processes that exited during the scan, including
	// those whose fds could not be read because they were exiting: they
	// hide nothing.
	Vanished int
	// Failed counts processes skipped for any other error (such as running
	// out of file descriptors); FailErr is the first such error.
	Failed  int
	FailErr error
	// TimedOut lists, sorted, the PIDs skipped because reading them took
	// longer than Options.PerProcess.
	TimedOut []int
}

// Holders returns the refs of one socket inode, in (PID, fd) order, or nil
// if no process holds it.
func (res *Result) Holders(inode uint64) []Ref {
	refs := res.Refs
	// The first ref whose inode is not below inode, by bisection.
	i, n := 0, len(refs)
	for n > 0 {
		half := n / 2
		if refs[i+half].Inode < inode {
			i += half + 1
			n -= half + 1
		} else {
			n = half
		}
	}
	j := i
	for j < len(refs) && refs[j].Inode == inode {
		j++
	}
	if j == i {
		return nil
	}
	return refs[i:j:j]
}
