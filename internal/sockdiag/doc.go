// Package sockdiag is a client for Linux's NETLINK_SOCK_DIAG: it dumps inet
// (TCP, UDP, UDP-Lite, raw) and AF_UNIX sockets, and runs the kernel's own
// socket lookup for a given packet (LookupInet).
//
// It returns raw records (InetRecord, UnixRecord) with the kernel's
// numbering; the root package converts them into its model.
//
// # Layout
//
// parse.go and request.go are pure: they encode requests and decode
// replies from bytes, build on every OS, and are tested on replies captured
// from a live kernel (testdata/*.bin) and fuzzed. diag_linux.go owns the
// socket; diag_other.go makes every call fail with an error wrapping
// ErrNotSupported.
//
// # Privileges
//
// Dumps and lookups need no privilege. The kernel omits some attributes
// for unprivileged callers (INET_DIAG_MARK needs CAP_NET_ADMIN); this
// package does not read those.
//
// # Network namespaces
//
// A Conn reports the sockets of the network namespace it was created in.
// Dial on an OS thread that has entered another namespace (setns(2) on a
// locked thread) to inspect that namespace; the Conn keeps it afterwards.
//
// # Performance
//
// A Conn reuses one receive buffer and one record per kind and parses in
// place: a dump allocates nothing per socket. At ~100,000 sockets this is
// what keeps a collection cheap; see BenchmarkDumpTCP.
package sockdiag
