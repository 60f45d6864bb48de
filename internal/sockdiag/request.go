package sockdiag

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/sockscope/sockscope/internal/oserr"
)

// ErrNotSupported is wrapped by errors reporting that this OS, or this
// kernel, cannot answer a request: sock_diag outside Linux, or a protocol
// whose diag handler is not built (RAW diag, UDP-Lite, SCTP; the kernel says
// ENOENT or EOPNOTSUPP). Callers fall back to /proc/net.
var ErrNotSupported = oserr.ErrNotSupported // the same value as sockscope.ErrNotSupported

// ErrNotFound is wrapped by the error LookupInet returns when the kernel's
// lookup finds no socket (ENOENT).
var ErrNotFound = errors.New("no such socket")

// IP protocol numbers accepted in InetRequest.Protocol.
const (
	ProtoTCP     = 6
	ProtoUDP     = 17
	ProtoUDPLite = 136
	ProtoRaw     = 255
)

// TCP state numbers used to build state masks (include/net/tcp_states.h).
const (
	stateClose         = 7
	stateBoundInactive = 13
)

// InetRequest selects the inet sockets a dump returns.
type InetRequest struct {
	// Family is AF_INET (2) or AF_INET6 (10); dual-stack sockets appear
	// only in the AF_INET6 dump. For TCP it may also be 0 (AF_UNSPEC):
	// both families in one dump, each record with its own Family. The
	// kernel has no AF_UNSPEC handler for SOCK_DIAG_BY_FAMILY, so that
	// request is sent as the older TCPDIAG_GETSOCK, which ss uses too.
	// Every TCP dump walks the whole (host-wide) TCP hash tables, whatever
	// the family and namespace asked for, so one dump instead of two
	// halves the kernel's work; with many namespaces, where the tables are
	// nearly empty for each, the walk is most of it.
	Family uint8
	// Protocol is ProtoTCP, ProtoUDP, ProtoUDPLite or ProtoRaw.
	Protocol uint8
	// States is a mask of 1<<state (kernel TCP numbering); 0 means every
	// state. For TCP, asking for Close (bit 7) also sets bit 13
	// (TCP_BOUND_INACTIVE, Linux 6.8+), so bound-but-not-listening
	// sockets are returned; the kernel reports them with state 7. Raw
	// dumps ignore the mask.
	States uint32
	// Ext is the idiag_ext mask: bit N-1 asks for attribute N (1..8).
	// ParseInetMsg ignores the extra attributes it does not know.
	Ext uint8
	// SPort and DPort, when non-zero, keep only sockets whose local
	// (SPort) and remote (DPort) port match; both set means both must
	// match. The kernel applies them with INET_DIAG_REQ_BYTECODE
	// (INET_DIAG_BC_S_EQ, INET_DIAG_BC_D_EQ), which needs no privilege.
	// For raw sockets the local "port" is the IP protocol.
	SPort, DPort uint16
}

// UnixRequest selects the AF_UNIX sockets a dump returns.
type UnixRequest struct {
	// States is a mask of 1<<state: 1 connected, 7 unconnected, 10
	// listening (2 connecting); 0 means every state.
	States uint32
	// Show is a set of Show* flags naming the attributes to return.
	Show uint32
}

// Show flags for UnixRequest.Show (UDIAG_SHOW_*).
const (
	ShowName    = 0x01 // Name
	ShowVFS     = 0x02 // VFSInode, VFSDev
	ShowPeer    = 0x04 // Peer
	ShowIcons   = 0x08 // Icons
	ShowRQLen   = 0x10 // RQueue, WQueue
	ShowMemInfo = 0x20 // MemInfo
	ShowUID     = 0x40 // UID, HasUID
)

// inet_diag bytecode (uapi/linux/inet_diag.h).
const (
	inetDiagReqBytecode = 1 // INET_DIAG_REQ_BYTECODE
	bcJmp               = 1 // INET_DIAG_BC_JMP
	bcSEq               = 11
	bcDEq               = 12
	bcOpLen             = 4 // struct inet_diag_bc_op {u8 code, yes; u16 no}
)

// maxRequestLen bounds what marshalInetRequest writes.
const maxRequestLen = nlmsgHdrLen + inetDiagReqCompatLen + 4 + 4*bcOpLen

// states returns the idiag_states mask to send.
func (r InetRequest) states() uint32 {
	s := r.States
	if s == 0 {
		return ^uint32(0)
	}
	if r.Protocol == ProtoTCP && s&(1<<stateClose) != 0 {
		s |= 1 << stateBoundInactive
	}
	return s
}

// appendPortBytecode appends the bytecode that keeps sockets with local
// port sport (if non-zero) and remote port dport (if non-zero). Each test is
// two ops: the comparison, whose "yes" offset skips the follow-on op that
// holds the port in its "no" field. A failed test jumps 4 bytes past the end,
// which the kernel treats as "reject"; running off the exact end accepts.
func appendPortBytecode(b []byte, sport, dport uint16) []byte {
	type test struct {
		code uint8
		port uint16
	}
	var tests [2]test
	n := 0
	if sport != 0 {
		tests[n] = test{bcSEq, sport}
		n++
	}
	if dport != 0 {
		tests[n] = test{bcDEq, dport}
		n++
	}
	left := n * 2 * bcOpLen // bytes from the current op to the end
	for _, t := range tests[:n] {
		b = append(b, t.code, 2*bcOpLen)
		b = binary.NativeEndian.AppendUint16(b, uint16(left+4))
		b = append(b, 0, 0)
		b = binary.NativeEndian.AppendUint16(b, t.port)
		left -= 2 * bcOpLen
	}
	return b
}

// appendNlmsghdr appends a netlink header; the length is fixed up by
// setNlmsgLen.
func appendNlmsghdr(b []byte, typ, flags uint16, seq, pid uint32) []byte {
	ne := binary.NativeEndian
	b = ne.AppendUint32(b, 0)
	b = ne.AppendUint16(b, typ)
	b = ne.AppendUint16(b, flags)
	b = ne.AppendUint32(b, seq)
	return ne.AppendUint32(b, pid)
}

func setNlmsgLen(b []byte) {
	binary.NativeEndian.PutUint32(b[0:4], uint32(len(b)))
}

// appendInetRequest appends a complete SOCK_DIAG_BY_FAMILY message asking
// for a dump matching r, or, for Family 0 (TCP only), the TCPDIAG_GETSOCK
// message (struct inet_diag_req), which the kernel answers for both
// families (inet_diag_dump_compat sets AF_UNSPEC; docs/kernel.md D7). It does not allocate if
// b has maxRequestLen capacity.
func appendInetRequest(b []byte, r InetRequest, seq uint32) []byte {
	start := len(b)
	// inet_diag_sockid: ports and addresses zero (ignored by the
	// bytecode-filtered dump), if 0, cookie ~0.
	var id [48]byte
	binary.NativeEndian.PutUint32(id[40:44], ^uint32(0))
	binary.NativeEndian.PutUint32(id[44:48], ^uint32(0))
	if r.Family == 0 {
		b = appendNlmsghdr(b, tcpDiagGetSock, nlmFRequest|nlmFDump, seq, 0)
		b = append(b, 0, 0, 0, r.Ext) // family, src_len, dst_len, ext
		b = append(b, id[:]...)
		b = binary.NativeEndian.AppendUint32(b, r.states())
		b = binary.NativeEndian.AppendUint32(b, 0) // idiag_dbs
	} else {
		b = appendNlmsghdr(b, sockDiagByFamily, nlmFRequest|nlmFDump, seq, 0)
		b = append(b, r.Family, r.Protocol, r.Ext, 0)
		b = binary.NativeEndian.AppendUint32(b, r.states())
		b = append(b, id[:]...)
	}
	if r.SPort != 0 || r.DPort != 0 {
		at := len(b)
		b = append(b, 0, 0, 0, 0)
		b = appendPortBytecode(b, r.SPort, r.DPort)
		binary.NativeEndian.PutUint16(b[at:at+2], uint16(len(b)-at))
		binary.NativeEndian.PutUint16(b[at+2:at+4], inetDiagReqBytecode)
	}
	setNlmsgLen(b[start:])
	return b
}

// appendInetLookup appends an exact-get request (no NLM_F_DUMP, with
// NLM_F_ACK) for the socket that would receive a segment from src to dst;
// see (*Conn).LookupInet for the field conventions.
func appendInetLookup(b []byte, family, protocol uint8, src, dst netip.AddrPort, ifindex, seq uint32) []byte {
	const nlmFAck = 0x4
	start := len(b)
	b = appendNlmsghdr(b, sockDiagByFamily, nlmFRequest|nlmFAck, seq, 0)
	b = append(b, family, protocol, 0, 0)
	b = binary.NativeEndian.AppendUint32(b, ^uint32(0))
	// TCP (inet_diag_find_one_icsk) looks up with id.dst as the packet's
	// source; UDP (udp_dump_one) with id.src as the packet's source.
	local, remote := dst, src
	if protocol != ProtoTCP {
		local, remote = src, dst
	}
	var id [48]byte
	binary.BigEndian.PutUint16(id[0:2], local.Port())
	binary.BigEndian.PutUint16(id[2:4], remote.Port())
	putAddr(id[4:20], family, local.Addr())
	putAddr(id[20:36], family, remote.Addr())
	binary.NativeEndian.PutUint32(id[36:40], ifindex)
	binary.NativeEndian.PutUint32(id[40:44], ^uint32(0))
	binary.NativeEndian.PutUint32(id[44:48], ^uint32(0))
	b = append(b, id[:]...)
	setNlmsgLen(b[start:])
	return b
}

// putAddr writes a as the kernel expects for family: IPv4 in the first 4
// bytes, IPv6 (an IPv4 address as v4-mapped) in all 16.
func putAddr(dst []byte, family uint8, a netip.Addr) {
	if family == afInet {
		v4 := a.Unmap().As4()
		copy(dst, v4[:])
		return
	}
	v6 := a.As16()
	copy(dst, v6[:])
}

// appendUnixRequest appends a unix_diag dump request.
func appendUnixRequest(b []byte, r UnixRequest, seq uint32) []byte {
	start := len(b)
	b = appendNlmsghdr(b, sockDiagByFamily, nlmFRequest|nlmFDump, seq, 0)
	b = append(b, afUnix, 0, 0, 0)
	states := r.States
	if states == 0 {
		states = ^uint32(0)
	}
	ne := binary.NativeEndian
	b = ne.AppendUint32(b, states)
	b = ne.AppendUint32(b, 0) // ino
	b = ne.AppendUint32(b, r.Show)
	b = ne.AppendUint32(b, ^uint32(0))
	b = ne.AppendUint32(b, ^uint32(0))
	setNlmsgLen(b[start:])
	return b
}

// inetName names a family and protocol for errors: "tcp4", "udp6".
func inetName(family, protocol uint8) string {
	var p string
	switch protocol {
	case ProtoTCP:
		p = "tcp"
	case ProtoUDP:
		p = "udp"
	case ProtoUDPLite:
		p = "udplite"
	case ProtoRaw:
		p = "raw"
	default:
		p = "proto" + strconv.Itoa(int(protocol))
	}
	switch family {
	case 0:
		return p
	case afInet:
		return p + "4"
	case afInet6:
		return p + "6"
	}
	return fmt.Sprintf("%s (family %d)", p, family)
}
