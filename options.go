package sockscope

import (
	"strconv"
	"time"
)

// Source selects where sockets are read from.
type Source int

// Sources.
const (
	// SourceAuto uses sock_diag netlink and falls back to /proc/net per
	// protocol where netlink is unavailable. As root in the initial PID
	// namespace, a holder scan on a host with many open files (50k) is
	// done as SourceBPF does, where BPF loads: the load then costs less
	// than the /proc scan saves.
	SourceAuto Source = iota
	// SourceNetlink uses sock_diag only.
	SourceNetlink
	// SourceProc reads /proc/net/* only (no cookies, no bound-inactive
	// TCP sockets).
	SourceProc
	// SourceBPF reads sock_diag as SourceNetlink does and adds, through
	// BPF iterators, every TCP and UDP socket's SO_REUSEADDR,
	// SO_REUSEPORT, IPV6_V6ONLY and bind bucket, and scans holders with
	// iter/task_file instead of reading every /proc/PID/fd. Where BPF is
	// unavailable (not root, no kernel BTF) Collect falls back to
	// SourceNetlink with a WarnSource warning.
	SourceBPF
)

var sourceNames = [...]string{SourceAuto: "auto", SourceNetlink: "netlink", SourceProc: "proc", SourceBPF: "bpf"}

// String returns "auto", "netlink", "proc" or "bpf", the words of --source.
func (s Source) String() string {
	if s >= 0 && int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "source(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText returns the source as String does.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Options says what Collect reads. The zero value reads every protocol and
// state in the caller's network namespace, without holders.
type Options struct {
	// Protos limits the protocols read; nil means all.
	Protos []Proto
	// Families limits the address families of inet sockets (FamilyInet,
	// FamilyInet6); nil means both. Unix sockets are selected by Protos.
	Families []Family
	// States limits the states read (asked of the kernel); 0 means all.
	States StateSet
	// Holders scans /proc/*/fd to attach holders to sockets.
	Holders bool
	// Source selects netlink, /proc, BPF, or automatic.
	Source Source
	// BPF, with Source SourceBPF, is the loaded BPF programs to use
	// (see LoadBPF), so that repeated collections do not load them each
	// time; nil loads them for this call and unloads them after.
	BPF *BPF
	// SkipFlags, with Source SourceAuto, uses BPF (where auto picks it)
	// for the holder scan alone: the socket iterators that read reuse
	// flags and bind buckets do not run, and those stay unknown, as
	// without BPF. watch sets it: its refreshes need holders, not flags,
	// and at 100k sockets the socket iterators were a quarter of a
	// refresh. SourceBPF always reads the flags.
	SkipFlags bool
	// FlagStates, when not 0, keeps the reuse flags and bind buckets read
	// through BPF only for sockets in these states (UDP: Close for
	// unconnected, Established for connected); the others' stay unknown.
	// The ports view sets it to the states it shows flags for (listeners,
	// bound-only and TIME-WAIT sockets): at 100k connections their
	// records were a third of its peak memory.
	FlagStates StateSet
	// NetNS names namespaces to read instead of the caller's own: an
	// `ip netns` name, a path to a namespace file, or a PID.
	NetNS []string
	// AllNetNS reads every network namespace that can be found.
	AllNetNS bool
	// Processes, when NetNS and AllNetNS are not set, reads the network
	// namespaces these processes use instead of the caller's own: the
	// namespace of each of their threads and, where the caller may
	// duplicate their fds (root), of each of their sockets, which keep
	// the namespace they were created in.
	Processes []int
	// ProcRoot is the procfs mount point; "" means "/proc".
	ProcRoot string
	// LocalPort, when not 0, reads only TCP, UDP and UDP-Lite sockets whose
	// local port it is (the kernel filters the dump); raw and Unix sockets
	// are not affected. Views about one port use it: on a busy machine
	// the dump then carries a few sockets instead of every one.
	LocalPort uint16
	// NoPeers skips pairing the two ends of local connections
	// (Socket.Peer stays nil). Views that do not show peers set it: at
	// 100k sockets pairing costs about 25 ms and a few MB.
	NoPeers bool
	// NetCounters reads each namespace's TCP listen counters
	// ([NetNS.Counters]) from its /proc/net/netstat, in the same setns as
	// its sockets.
	NetCounters bool
	// HolderTimeout bounds the holder scan; 0 means 5s.
	HolderTimeout time.Duration
	// TCPInfo asks the kernel for each TCP socket's struct tcp_info, its
	// congestion control and that algorithm's state (ss -i), into
	// Socket.Details. Without it the dump carries none of them.
	TCPInfo bool
	// Memory asks for each socket's memory accounting (ss -m) into
	// Socket.Details.Memory: TCP, UDP, raw and Unix sockets.
	Memory bool
	// Cgroups resolves each inet socket's CgroupID to a path under the
	// cgroup v2 mount (ss -e's cgroup:), into Socket.Details.Cgroup.
	Cgroups bool
}
