// Package demux answers two questions about a [sockscope.Snapshot] the way
// the Linux kernel would: "why can't I bind this?" ([CheckBind]) and "which
// socket gets this segment?" ([Lookup]). [ExplainPort] puts both into a few
// plain sentences about one port.
//
// Everything here is a pure function of a snapshot and of its other inputs
// ([Env], a [FlagFunc]); reading them from the running system is the job of
// a collection package (internal/sysenv), so that the rules can be tested
// on hand-built snapshots.
//
// # Three-valued answers
//
// The kernel does not show every input that decides a bind or a lookup:
// SO_REUSEADDR and SO_REUSEPORT of existing sockets, the flags a TIME-WAIT
// socket inherited, IPV6_V6ONLY of connected sockets, SO_INCOMING_CPU and
// the port's bind-bucket cache are invisible to sock_diag. Where such an
// input could change the answer, the answer is "depends" (bind) or "one-of"
// (lookup), and says on what; it is never a guess. A [FlagFunc] can supply
// the hidden socket options (internal/sysenv.ReadFlags reads them with
// pidfd_getfd when privileges allow), and some are inferred soundly from the snapshot itself
// (two identical TCP listeners must both have SO_REUSEPORT).
//
// # The kernel's own lookup
//
// A SO_REUSEPORT group picks its member by a keyed hash of the 4-tuple that
// cannot be computed offline, so [Lookup] alone answers "one-of" there. The
// kernel's get-one lookup ([sockscope.LookupSocket]) runs the same
// selection with the same hash as a received segment; [CompareKernel]
// compares its answer with Lookup's and [WithKernel] makes the member it
// returned the answer (also where hidden socket options made Lookup answer
// "one-of", but not where the CPU a UDP datagram is processed on could
// decide). Only a reuseport BPF program, which that lookup does not run and
// nothing shows, could still choose otherwise.
//
// # Walk order
//
// Some answers depend on the order in which the kernel walks a hash chain
// (a tie between UDP sockets, the first SO_REUSEPORT listener that ends a
// TCP listener walk, the UDP bind check that stops at the first
// SO_REUSEPORT match). The kernel inserts at the head, except AF_INET6
// sockets with SO_REUSEPORT, which go to the tail. Within one family the
// package takes the order from [sockscope.Socket.Seq], the socket's position
// in the kernel's dump, which lists a chain's sockets in walk order; across
// families, and where Seq is 0, it uses the inode number as a stand-in for
// creation order (newer sockets have larger inodes). The snapshot's own
// slice order (sorted for display) is not used.
//
// # What is not inspected
//
// TPROXY rules, sk_lookup and bpf_sk_assign BPF programs, reuseport BPF
// programs and VRF devices can override the lookup; they are not read, and
// [Lookup] says so in its steps.
package demux
