package sockscope

import (
	"net/netip"
	"strconv"
)

// Family is a socket's address family.
type Family uint8

// Address families, as the kernel numbers them.
const (
	FamilyUnknown Family = 0
	FamilyUnix    Family = 1  // AF_UNIX
	FamilyInet    Family = 2  // AF_INET
	FamilyInet6   Family = 10 // AF_INET6
)

// String returns the family as ss names it: "unix", "inet" or "inet6".
func (f Family) String() string {
	switch f {
	case FamilyUnix:
		return "unix"
	case FamilyInet:
		return "inet"
	case FamilyInet6:
		return "inet6"
	}
	return "family(" + strconv.Itoa(int(f)) + ")"
}

// Proto is a socket's protocol, as the user thinks of it.
type Proto uint8

// Protocols sockscope reads.
const (
	ProtoUnknown Proto = iota
	TCP
	UDP
	UDPLite
	Raw
	Unix
)

// String returns the lower-case protocol name: "tcp", "udp", "udplite", "raw", "unix".
func (p Proto) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case UDPLite:
		return "udplite"
	case Raw:
		return "raw"
	case Unix:
		return "unix"
	}
	return "proto(" + strconv.Itoa(int(p)) + ")"
}

// HasPorts reports whether the protocol has transport-layer ports.
// Raw and Unix sockets have none.
func (p Proto) HasPorts() bool { return p == TCP || p == UDP || p == UDPLite }

// ParseProto parses a protocol name as String prints it.
func ParseProto(s string) (Proto, bool) {
	for p := TCP; p <= Unix; p++ {
		if p.String() == s {
			return p, true
		}
	}
	return ProtoUnknown, false
}

// SockType is the socket type (SOCK_STREAM, SOCK_DGRAM, ...).
type SockType uint8

// Socket types, as the kernel numbers them.
const (
	SockStream    SockType = 1
	SockDgram     SockType = 2
	SockRaw       SockType = 3
	SockSeqpacket SockType = 5
)

// String returns "stream", "dgram", "raw" or "seqpacket".
func (t SockType) String() string {
	switch t {
	case SockStream:
		return "stream"
	case SockDgram:
		return "dgram"
	case SockRaw:
		return "raw"
	case SockSeqpacket:
		return "seqpacket"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Tristate is a boolean that may be unknown: the kernel does not expose every
// socket option of every socket.
type Tristate int8

// Tristate values. The zero value is Unknown.
const (
	Unknown Tristate = 0
	No      Tristate = -1
	Yes     Tristate = 1
)

// String returns "unknown", "no" or "yes".
func (t Tristate) String() string {
	switch t {
	case Yes:
		return "yes"
	case No:
		return "no"
	}
	return "unknown"
}

// TristateOf converts a known boolean.
func TristateOf(b bool) Tristate {
	if b {
		return Yes
	}
	return No
}

// Socket is one kernel socket: one end of one connection, a listener, or a
// socket that is bound, unconnected or in TIME-WAIT. Sockets are compared by
// [Socket.Key], never by address.
type Socket struct {
	// Fields are ordered to avoid padding: at 100k sockets every byte of
	// this struct is 100 kB of a snapshot.

	// Cookie is the kernel's 64-bit socket cookie, unique per boot. It is 0
	// when the source does not report it (/proc/net).
	Cookie uint64
	// Inode is the socket's inode number; 0 for TIME-WAIT and request
	// sockets, which have no file.
	Inode uint64

	Family Family
	Proto  Proto
	Type   SockType
	State  State
	// Seq is the socket's 1-based position in the kernel's dump of its
	// (namespace, family, protocol), for the demux walk order; 0 if unknown.
	// Within one family a dump lists the sockets of a hash chain in the
	// order the kernel walks them.
	Seq uint32

	// Local and Remote are the endpoints' addresses for inet sockets. For
	// raw sockets the port holds the IP protocol number, as ss shows it.
	// The zero remote (invalid AddrPort or unspecified address with port 0)
	// means "not connected".
	Local, Remote netip.AddrPort

	// Path is a Unix socket's name: a filesystem path, "@name" for an
	// abstract name, or "" for an unnamed socket. It is untrusted text.
	Path string
	// PeerInode is the inode of a connected Unix socket's peer.
	PeerInode uint64
	// Pending holds the inodes of the clients queued on a Unix listener.
	Pending []uint64

	// RecvQ and SendQ are the queue lengths; for a listener, the accept
	// queue's length and its backlog.
	RecvQ, SendQ uint32
	// UID is the socket's owner (sk_uid): the uid SO_REUSEPORT compares.
	UID uint32
	// Interface is the bound device's ifindex (SO_BINDTODEVICE), 0 if none.
	Interface uint32
	// Timer, Expires (ms) and Retrans are the TCP timer fields.
	Expires uint32
	Timer   uint8
	Retrans uint8
	// V6Only is IPV6_V6ONLY of an AF_INET6 socket where the kernel tells
	// it (INET_DIAG_SKV6ONLY, sent for LISTEN and CLOSE sockets only);
	// Unknown otherwise, and always from /proc/net.
	V6Only Tristate
	// ReuseAddr and ReusePort are SO_REUSEADDR and SO_REUSEPORT of a TCP
	// or UDP socket (TIME-WAIT sockets and orphans included) where they
	// were read through BPF (SourceBPF); Unknown otherwise.
	ReuseAddr, ReusePort Tristate
	// ReuseportProg reports whether the socket's SO_REUSEPORT group has a
	// reuseport BPF program (SO_ATTACH_REUSEPORT_CBPF or _EBPF), which
	// then chooses the receiver among the group's members; read through
	// BPF (SourceBPF) for TCP sockets other than TIME-WAIT and for UDP
	// sockets, Unknown otherwise.
	ReuseportProg Tristate
	// HoldersHidden reports that some processes could not be inspected, so
	// the holder list may be incomplete.
	HoldersHidden bool
	// HoldersScanned reports that the holder scan ran for this socket: an
	// empty Holders then means no inspected process holds it. When false,
	// Holders is empty because nobody looked.
	HoldersScanned bool
	// Sockopt holds the INET_DIAG_SOCKOPT bits where the kernel sent them.
	Sockopt uint16
	// ShutRead and ShutWrite say whether the socket's receive and send
	// sides are shut (sk_shutdown: by shutdown(2) or close, and for a TCP
	// socket's receive side by the peer's FIN), where the kernel tells
	// it (INET_DIAG_SHUTDOWN, UNIX_DIAG_SHUTDOWN: not for TIME-WAIT and
	// request sockets, never from /proc/net); Unknown otherwise. ss -e
	// prints them as "<->": '-' for a shut side.
	ShutRead, ShutWrite Tristate
	// CgroupID is the cgroup v2 id of the socket's creator, 0 if unknown.
	CgroupID uint64

	// BindBucket is the bind bucket of a TCP socket's port, shared by the
	// sockets on it, where read through BPF (SourceBPF); nil otherwise.
	BindBucket *BindBucket

	// Holders are the (process, fd) pairs that refer to this socket. Empty
	// means none was found (see HoldersHidden) or none was looked for (see
	// HoldersScanned).
	Holders []Holder

	// Peer is the other end of a connection when both ends are sockets on
	// this host (loopback TCP/UDP, connected Unix sockets).
	Peer *Socket

	// NetNS is the network namespace whose table the socket was read from.
	NetNS *NetNS

	// Details holds what Options.TCPInfo, Options.Memory and
	// Options.Cgroups asked for; nil when none was asked or the kernel
	// sent none for this socket.
	Details *Details
}

// Connected reports whether the socket has a remote endpoint.
func (s *Socket) Connected() bool {
	if s.Proto == Unix {
		return s.PeerInode != 0
	}
	return s.Remote.Port() != 0 || (s.Remote.Addr().IsValid() && !s.Remote.Addr().IsUnspecified())
}

// BoundInactive reports whether s is a TCP socket that is bound but neither
// listening nor connected (the kernel's TCP_BOUND_INACTIVE dump bit).
func (s *Socket) BoundInactive() bool { return s.Proto == TCP && s.State == Close }

// LocalEndpoint returns the socket's local endpoint.
func (s *Socket) LocalEndpoint() Endpoint {
	return Endpoint{Proto: s.Proto, AddrPort: s.Local, V6Only: s.V6Only}
}

// RemoteEndpoint returns the socket's remote endpoint.
func (s *Socket) RemoteEndpoint() Endpoint {
	return Endpoint{Proto: s.Proto, AddrPort: s.Remote, V6Only: s.V6Only}
}

// LocalString returns an inet socket's local address and port exactly as
// `ss -tuan` prints them: "127.0.0.1:80", "0.0.0.0:80", "[::]:80" (IPv6
// only), "*:80" (a dual-stack [::] socket), "[::ffff:127.0.0.1]:80", and
// for a socket bound to a device (SO_BINDTODEVICE) its name after the
// address: "0.0.0.0%eth0:68". See [FormatSocketAddrPort]. The device name
// is untrusted text: escape it for a terminal. For a Unix socket it
// returns "". See docs/kernel.md S1, S2.
func (s *Socket) LocalString() string {
	if s.Proto == Unix {
		return ""
	}
	if s.Interface == 0 {
		return FormatSocketAddrPort(s.Local, s.V6Only)
	}
	return string(s.AppendLocal(make([]byte, 0, 64)))
}

// AppendLocal appends what LocalString returns for an inet socket.
func (s *Socket) AppendLocal(b []byte) []byte {
	b = AppendAddr(b, s.Local.Addr(), s.V6Only)
	if s.Interface != 0 {
		b = append(b, '%')
		b = append(b, s.NetNS.InterfaceName(s.Interface)...)
	}
	b = append(b, ':')
	if s.Local.Port() == 0 {
		return append(b, '*')
	}
	return strconv.AppendUint(b, uint64(s.Local.Port()), 10)
}

// DeviceName returns the name of the device the socket is bound to
// (SO_BINDTODEVICE), as [NetNS.InterfaceName] gives it, or "" when it is
// bound to none. It is untrusted text.
func (s *Socket) DeviceName() string {
	if s.Interface == 0 {
		return ""
	}
	return s.NetNS.InterfaceName(s.Interface)
}

// InterfaceName returns the name of device ifindex in the namespace as ss
// prints it: the name read with the sockets, else "if<ifindex>" (ss's own
// fallback). ns may be nil. The name is untrusted text.
func (ns *NetNS) InterfaceName(ifindex uint32) string {
	if ns != nil {
		if name, ok := ns.Interfaces[ifindex]; ok {
			return name
		}
	}
	return "if" + strconv.FormatUint(uint64(ifindex), 10)
}

// RemoteString returns an inet socket's remote address and port exactly as
// `ss -tuan` prints them; for a socket that is not connected, the peer ss
// prints: "0.0.0.0:*", "[::]:*" (IPv6 only) or "*:*" (dual-stack). For a
// Unix socket it returns "".
func (s *Socket) RemoteString() string {
	if s.Proto == Unix {
		return ""
	}
	return FormatSocketAddrPort(s.Remote, s.V6Only)
}

// Port returns the socket's local port, or the zero Port for protocols
// without ports.
func (s *Socket) Port() Port {
	if !s.Proto.HasPorts() {
		return Port{}
	}
	return Port{Proto: s.Proto, Num: s.Local.Port()}
}

// Connection returns the 5-tuple of a connected inet socket.
func (s *Socket) Connection() Connection {
	return Connection{Proto: s.Proto, Local: s.Local, Remote: s.Remote}
}

// Key identifies the socket within a snapshot and across snapshots of the
// same boot: the cookie where known, else the inode, else the 5-tuple.
type Key struct {
	Cookie uint64
	Inode  uint64
	NetNS  uint64
	Conn   Connection
	State  State
}

// Key returns the socket's identity key.
func (s *Socket) Key() Key {
	ns := socketNSInode(s)
	if s.Cookie != 0 {
		return Key{Cookie: s.Cookie, NetNS: ns}
	}
	if s.Inode != 0 {
		return Key{Inode: s.Inode, NetNS: ns}
	}
	return Key{NetNS: ns, Conn: s.Connection(), State: s.State}
}
