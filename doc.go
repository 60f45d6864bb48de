// Package sockscope reads a Linux machine's live socket table and models it the
// way the textbooks explain it: ports, endpoints, sockets, connections, holders
// and network namespaces are different things, and the model keeps them apart.
//
//   - A [Port] is a transport-layer number (a service identifier), not an object.
//   - An [Endpoint] is protocol + address + port; many sockets can share one.
//   - A [Socket] is a kernel object, identified by its cookie (and inode).
//   - A [Connection] is the 5-tuple; it is unique within a network namespace.
//   - A [Holder] is a (process, fd) that refers to a socket; a socket may have
//     many holders or none (TIME-WAIT, orphans, kernel sockets).
//   - A [NetNS] has its own socket table.
//
// [Collect] takes one [Snapshot]; everything after collection (filters, views,
// the bind and demux oracle, renderers) is a pure function of it.
//
// # Sources
//
// Sockets come from sock_diag netlink dumps, with /proc/net/* as a fallback
// (and on request). Holders come from a scan of /proc/*/fd.
//
// # Privileges
//
// Any user sees every socket of the network namespaces it can reach, but only
// the holders of processes it may inspect (same uid, or CAP_SYS_PTRACE). What
// could not be seen is counted in [Snapshot.Warnings], never silently dropped.
// Entering another network namespace needs CAP_SYS_ADMIN.
//
// # Network namespaces
//
// By default the caller's own namespace is read. [Options.NetNS] and
// [Options.AllNetNS] select others, and [Options.Processes] the ones some
// processes use (their threads' and their sockets'); each socket carries the
// namespace it was dumped from. A namespace is named "host" only when it is
// the initial one (PID 1's, or the kernel threads' when PID 1's cannot be
// read), else by its `ip netns` name, container or pod, else "netns:INODE".
//
// # Errors and cancellation
//
// [Collect] checks its context between namespaces, between dumps and within
// long dumps; its errors are [*OpError] values that wrap the cause
// (ctx.Err(), [ErrNotSupported], permission errors) for errors.Is.
package sockscope
