// Package holders finds which processes hold which sockets: it scans
// /proc/PID/fd for links of the form socket:[INODE] and maps each socket
// inode to every (process, fd) that refers to it (docs/kernel.md N1). One socket
// may have many holders (fork, prefork servers, SCM_RIGHTS), or none
// (TIME_WAIT, orphans, kernel sockets, sockets in flight).
//
// # Privileges
//
// Reading another process's fd directory needs ptrace read access: as a
// normal user only your own processes are visible. Processes that refuse are
// counted in Result.Denied, never silently dropped.
//
// # Races and hangs
//
// /proc changes while it is read. A process that exits mid-scan is counted in
// Result.Vanished; an fd closed between listing and readlink is skipped. Each
// process's reads run in their own goroutine, watched by the worker that
// started it: a process stuck in uninterruptible sleep or behind a hung FUSE
// mount cannot hang the scan. Once a read makes no progress for
// Options.PerProcess, the process is listed in Result.TimedOut and its
// goroutine is abandoned: it finishes, or stays blocked in its system call,
// on its own, holding a few file descriptors and about 80 KiB of buffers
// until then. The whole scan ends when its context is done.
//
// # Threads
//
// Only thread-group leaders (the PIDs listed in /proc) are scanned: threads
// share their leader's fd table. A thread that called unshare(CLONE_FILES)
// has a table of its own, visible only in /proc/PID/task/TID/fd, which this
// scan does not read.
package holders
