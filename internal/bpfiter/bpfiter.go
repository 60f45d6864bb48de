package bpfiter

import (
	"errors"
	"net/netip"
)

// ErrUnavailable is wrapped by the errors of [Load] when BPF iterators
// cannot be used here: no privilege, no kernel BTF, an unsupported
// architecture or a program the kernel rejects.
var ErrUnavailable = errors.New("BPF iterators unavailable")

// Sock is one TCP or UDP socket as the kernel holds it.
type Sock struct {
	Cookie uint64
	// Inode is the socket's inode; 0 for TIME-WAIT sockets and orphans.
	Inode  uint64
	Family uint16 // AF_INET or AF_INET6
	Proto  uint8  // IPPROTO_TCP or IPPROTO_UDP
	// State is the kernel's TCP state number (UDP uses the same numbers:
	// 7 unconnected, 1 connected).
	State         uint8
	Local, Remote netip.AddrPort
	UID           uint32
	BoundDev      int32
	// ReuseAddr is sk_reuse (SO_REUSEADDR: 0 or 1; 2 is the kernel's
	// SK_FORCE_REUSE). ReusePort is SO_REUSEPORT; V6Only is IPV6_V6ONLY
	// (also 1 for some AF_INET6 sockets bound to a v6-only address).
	ReuseAddr uint8
	ReusePort bool
	V6Only    bool
	// ReuseportRead reports that ReuseportProg was read (full TCP sockets
	// and UDP sockets; not TIME-WAIT). ReuseportProg is set when the
	// socket's SO_REUSEPORT group has a reuseport BPF program
	// (SO_ATTACH_REUSEPORT_CBPF or _EBPF: sk_reuseport_cb->prog).
	ReuseportRead, ReuseportProg bool
	// Bucket is the TCP port's bind bucket (inet_bind_bucket), nil when
	// the socket has none (UDP, or an unbound TCP socket).
	Bucket *Bucket
}

// Bucket is one TCP bind bucket (struct inet_bind_bucket): the state the
// kernel keeps per (namespace, port, l3mdev) to decide a new bind quickly.
// The Has* flags report which of the fast_* fields hold a value: the
// running kernel has the field and, as the kernel sets them only then,
// FastReusePort > 0 (FastUID is 0 otherwise).
type Bucket struct {
	Port          uint16
	FastReuse     int8
	FastReusePort int8
	FastUID       uint32
	// FastRcvSaddr and FastV6RcvSaddr are the address the fast reuseport
	// check compares; meaningful only when FastReusePort > 0.
	FastRcvSaddr   netip.Addr
	FastV6RcvSaddr netip.Addr
	FastSkFamily   uint16
	FastIPv6Only   bool

	HasRcvSaddr, HasSkFamily, HasIPv6Only bool
}

// Holder is one socket fd of one process.
type Holder struct {
	PID    int32
	FD     int32
	Inode  uint64
	Cookie uint64
}
