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
	Procs []Proc
	// ByInode maps a socket inode to every (process, fd) that refers to it.
	ByInode map[uint64][]Ref
	// Denied counts processes whose fds could not be read (permission).
	Denied int
	// Vanished counts processes that exited during the scan.
	Vanished int
	// TimedOut lists the PIDs skipped because reading them took too long.
	TimedOut []int
}
