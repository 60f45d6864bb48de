// Package procnet parses the /proc/net socket tables (tcp, tcp6, udp, udp6,
// udplite, udplite6, raw, raw6 and unix) into the record types of package
// sockdiag. It is sockscope's fallback source, used when sock_diag netlink is
// unavailable or /proc is asked for explicitly.
//
// The parsers (ParseInet, ParseUnix) are pure functions of an io.Reader and
// work on any OS; FS reads the files under a /proc root, which tests point at
// fixtures.
//
// # What /proc does not say
//
// Compared with sock_diag, /proc/net lacks: socket cookies (Cookie is 0),
// v6only (V6Only is -1), the bound device (If is 0), cgroup ids, socket
// options, bound-but-inactive TCP sockets (they never appear), the peer,
// queue lengths and uid of Unix sockets, and the Unix sockets' diag state for
// embryos (see ParseUnix). For a LISTEN TCP socket the tx/rx queue columns are
// not the accept-queue (length, backlog) pair that sock_diag sends.
//
// # Network namespaces
//
// /proc/net and /proc/self/net show the network namespace of the calling
// process's thread-group leader, not of the calling thread (docs/kernel.md N3). A
// goroutine that has entered another namespace with setns on a locked OS
// thread must read thread-self/net/tcp (FS.Inet takes the file path relative
// to the root for exactly this reason), and /proc/PID/net/tcp shows PID's
// namespace without any setns.
//
// # Untrusted text
//
// The path column of /proc/net/unix is chosen by whoever bound the socket and
// is printed raw by the kernel: it may contain spaces, newlines and bytes that
// are not UTF-8. See ParseUnix for how newlines are handled and what cannot be
// told apart.
package procnet
