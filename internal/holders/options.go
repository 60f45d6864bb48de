package holders

import "time"

// Options configures Scan. The zero value scans /proc with default bounds.
type Options struct {
	// Root is the procfs mount point; "" means "/proc". Tests point it at a
	// fixture tree.
	Root string
	// Workers is how many processes are read in parallel; 0 means
	// 2*GOMAXPROCS.
	Workers int
	// PerProcess bounds how long reading one process may go without
	// progress (a system call completing); 0 means 1s. A process whose read
	// stalls that long, such as one in uninterruptible sleep, is listed in
	// Result.TimedOut and the scan moves on. A process with very many fds
	// keeps making progress and is read completely; bound the whole scan
	// with the context.
	PerProcess time.Duration
	// WantInode, if set, selects the socket inodes to report; nil reports
	// every socket. It is called from several goroutines at once and must be
	// safe for concurrent use. Processes holding no wanted socket are not
	// listed in Result.Procs and their metadata is not read.
	WantInode func(inode uint64) bool
	// Passwd is the passwd(5) file used to name uids; "" means
	// "/etc/passwd". It is read at most once per scan, and only if some
	// process is listed.
	Passwd string
	// SocketFDs, when not nil, are the socket fds of every process, read
	// already (by a BPF iterator, package bpfiter): Scan then reads no fd
	// directory, only the metadata of these processes (the keys, PIDs as
	// the proc root numbers them). WantInode still applies.
	SocketFDs map[int][]SocketFD
}

// SocketFD is one socket fd of a process.
type SocketFD struct {
	Inode uint64
	FD    int32
}
