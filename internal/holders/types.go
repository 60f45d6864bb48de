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

// Ref is one holder of a socket inode: an index into Result.Procs and the fd.
type Ref struct {
	Proc int32
	FD   int32
}

// Result is what one scan found.
type Result struct {
	// Procs lists the processes holding at least one reported socket,
	// sorted by PID.
	Procs []Proc
	// ByInode maps a socket inode to every (process, fd) that refers to it,
	// in (PID, fd) order.
	ByInode map[uint64][]Ref
	// Denied counts processes whose fds could not be read (permission).
	Denied int
	// Vanished counts processes that exited during the scan.
	Vanished int
	// Failed counts processes skipped for any other error (such as running
	// out of file descriptors); FailErr is the first such error.
	Failed  int
	FailErr error
	// TimedOut lists, sorted, the PIDs skipped because reading them took
	// longer than Options.PerProcess.
	TimedOut []int
}
