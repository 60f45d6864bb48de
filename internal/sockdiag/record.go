package sockdiag

import "net/netip"

// InetRecord is one inet socket as sock_diag (or /proc/net, which reuses this
// type) reports it: the inet_diag_msg header plus the attributes sockscope
// reads. A dump callback's *InetRecord is reused for the next message: copy
// what you keep.
type InetRecord struct {
	Family   uint8 // unix.AF_INET or unix.AF_INET6
	Protocol uint8 // unix.IPPROTO_TCP, _UDP, _UDPLITE, _RAW
	State    uint8 // kernel TCP state numbering (UDP: 7 unconnected, 1 connected)
	Timer    uint8
	Retrans  uint8

	Src, Dst         netip.Addr // local and remote address, as the kernel reports them
	SrcPort, DstPort uint16     // host order; raw: SrcPort is the IP protocol
	If               uint32     // bound device ifindex, 0 = none
	Cookie           uint64     // 0 when unknown (/proc)

	Expires uint32 // ms
	RQueue  uint32
	WQueue  uint32
	UID     uint32
	Inode   uint32

	V6Only int8 // -1: not reported; 0 or 1
	// Shutdown is INET_DIAG_SHUTDOWN (sk_shutdown: 1 = receive side,
	// 2 = send side), where HasShutdown says the kernel sent it (full
	// sockets; not TIME-WAIT or request sockets).
	Shutdown    uint8
	HasShutdown bool
	CgroupID    uint64
	Sockopt     uint16
	HasSockopt  bool
	// SockProtocol is the INET_DIAG_PROTOCOL attribute (the socket's
	// sk_protocol), sent for raw sockets (the IP protocol, e.g. 1 for ICMP)
	// and destroy events; 0 when absent.
	SockProtocol uint8

	// The attributes asked for with InetRequest.Ext, raw: each is a slice
	// of the receive buffer (nil when absent), valid only until the
	// callback returns. Decode them with DecodeTCPInfo, DecodeMemInfo,
	// DecodeVegasInfo, DecodeDCTCPInfo and DecodeBBRInfo.
	Info      []byte // INET_DIAG_INFO (struct tcp_info)
	Cong      []byte // INET_DIAG_CONG (the algorithm's name, NUL-terminated)
	SKMemInfo []byte // INET_DIAG_SKMEMINFO
	VegasInfo []byte // INET_DIAG_VEGASINFO
	DCTCPInfo []byte // INET_DIAG_DCTCPINFO
	BBRInfo   []byte // INET_DIAG_BBRINFO
}

// UnixRecord is one AF_UNIX socket as unix_diag (or /proc/net/unix) reports it.
// A dump callback's *UnixRecord is reused for the next message: copy what you
// keep (Icons included).
type UnixRecord struct {
	Type  uint8 // 1 stream, 2 dgram, 5 seqpacket
	State uint8 // kernel TCP numbering as unix_diag sends it: 1 established, 2 syn-sent, 7 close, 10 listen
	Inode uint32
	// Cookie is 0 when unknown (/proc).
	Cookie uint64
	// Name is the sun_path: "" unnamed, "@name" for abstract names (NUL
	// bytes after the first shown as '@', as ss does), else the path.
	Name   string
	Peer   uint32
	Icons  []uint32
	RQueue uint32
	WQueue uint32
	UID    uint32
	HasUID bool
	// VFSInode and VFSDev identify the socket file of a bound pathname
	// socket (UNIX_DIAG_VFS, requested with ShowVFS); VFSDev uses the
	// kernel's encoding major<<20 | minor. Both are 0 when not reported.
	VFSInode uint32
	VFSDev   uint32
	// Shutdown is UNIX_DIAG_SHUTDOWN: 1 = receive side, 2 = send side;
	// HasShutdown says the kernel sent it.
	Shutdown    uint8
	HasShutdown bool
	// MemInfo is UNIX_DIAG_MEMINFO (asked with ShowMemInfo), raw: a slice
	// of the receive buffer, nil when absent, valid only until the
	// callback returns. Decode it with DecodeMemInfo.
	MemInfo []byte
}
