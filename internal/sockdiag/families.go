package sockdiag

import (
	"encoding/binary"
)

// Families beyond inet and unix (uapi/linux/socket.h).
const (
	AFNetlink = 16
	AFPacket  = 17
	AFTIPC    = 30
	AFVsock   = 40
)

// IP protocols whose sockets inet_diag reports when their module is built.
const (
	ProtoSCTP  = 132
	ProtoMPTCP = 262 // does not fit inet_diag_req_v2's u8: sent as INET_DIAG_REQ_PROTOCOL
)

// packet_diag (uapi/linux/packet_diag.h).
const (
	packetDiagReqLen = 20
	packetDiagMsgLen = 16
	packetShowInfo   = 0x01
	packetDiagInfo   = 0
	packetDiagUID    = 5
)

// netlink_diag (uapi/linux/netlink_diag.h).
const (
	netlinkDiagReqLen  = 20
	netlinkDiagMsgLen  = 28
	netlinkShowGroups  = 0x02
	netlinkShowFlags   = 0x08
	netlinkDiagGroups  = 1
	netlinkDiagFlags   = 4
	netlinkProtoAll    = 255 // NDIAG_PROTO_ALL
	inetDiagReqProto   = 3   // INET_DIAG_REQ_PROTOCOL (u32 attribute of a request)
	packetInfoLen      = 24  // struct packet_diag_info
	packetFlagRunning  = 0x1 // PDI_RUNNING
	packetFlagAuxdata  = 0x2
	packetFlagOrigdev  = 0x4
	packetFlagVnetHdr  = 0x8
	packetFlagLoss     = 0x10
	netlinkFlagCbRun   = 0x1 // NDIAG_FLAG_CB_RUNNING
	netlinkFlagPktInfo = 0x2
)

// PacketRecord is one AF_PACKET socket as packet_diag reports it. A dump
// callback's *PacketRecord is reused: copy what you keep.
type PacketRecord struct {
	Type     uint8  // SOCK_RAW (3) or SOCK_DGRAM (2)
	Protocol uint16 // the ethertype bound (ETH_P_ALL = 3), host order; 0: none yet
	Inode    uint32
	Cookie   uint64
	// Ifindex is the device the socket is bound to, 0 for every device.
	Ifindex uint32
	// Version is the TPACKET version of a ring (0: TPACKET_V1).
	Version uint32
	// Running (PDI_RUNNING): the socket is hooked into the device's
	// receive path. Auxdata, OrigDev, VnetHdr and Loss are its options.
	Running, Auxdata, OrigDev, VnetHdr, Loss bool
	UID                                      uint32
	HasUID                                   bool
}

// NetlinkRecord is one AF_NETLINK socket as netlink_diag reports it. A
// dump callback's *NetlinkRecord (its Groups included) is reused.
type NetlinkRecord struct {
	Type     uint8 // SOCK_RAW or SOCK_DGRAM
	Protocol uint8 // NETLINK_ROUTE (0), NETLINK_SOCK_DIAG (4), ...
	State    uint8 // 0 unconnected, 1 connected
	PortID   uint32
	// DstPortID and DstGroup are where a connected socket sends.
	DstPortID, DstGroup uint32
	Inode               uint32
	Cookie              uint64
	// Groups lists the multicast groups the socket joined (1-based).
	Groups []uint32
	// Flags holds NDIAG_FLAG_* bits where reported (HasFlags).
	Flags    uint32
	HasFlags bool
}

// appendPacketRequest appends a packet_diag dump request.
func appendPacketRequest(b []byte, seq uint32) []byte {
	start := len(b)
	b = appendNlmsghdr(b, sockDiagByFamily, nlmFRequest|nlmFDump, seq, 0)
	b = append(b, AFPacket, 0, 0, 0)
	ne := binary.NativeEndian
	b = ne.AppendUint32(b, 0)              // ino
	b = ne.AppendUint32(b, packetShowInfo) // with PACKET_DIAG_UID
	b = ne.AppendUint32(b, ^uint32(0))
	b = ne.AppendUint32(b, ^uint32(0))
	setNlmsgLen(b[start:])
	return b
}

// appendNetlinkRequest appends a netlink_diag dump request for every
// protocol.
func appendNetlinkRequest(b []byte, seq uint32) []byte {
	start := len(b)
	b = appendNlmsghdr(b, sockDiagByFamily, nlmFRequest|nlmFDump, seq, 0)
	b = append(b, AFNetlink, netlinkProtoAll, 0, 0)
	ne := binary.NativeEndian
	b = ne.AppendUint32(b, 0)
	b = ne.AppendUint32(b, netlinkShowGroups|netlinkShowFlags)
	b = ne.AppendUint32(b, ^uint32(0))
	b = ne.AppendUint32(b, ^uint32(0))
	setNlmsgLen(b[start:])
	return b
}

// appendMPTCPRequest appends an inet_diag dump of family's MPTCP sockets:
// IPPROTO_MPTCP does not fit the request's protocol byte, so it travels in
// an INET_DIAG_REQ_PROTOCOL attribute (docs/kernel.md K3).
func appendMPTCPRequest(b []byte, family uint8, seq uint32) []byte {
	b = appendProbeRequest(b, family, ProtoMPTCP, seq)
	b[nlmsgHdrLen+2] = extInfo // idiag_ext: struct mptcp_info, for the token
	return b
}

// appendProbeRequest appends a dump request for a family (and, for
// inet, protocol) sockscope does not decode, to learn whether the kernel
// has a handler: the body is the family's request header, zeroed but for
// "every state".
func appendProbeRequest(b []byte, family uint8, protocol uint32, seq uint32) []byte {
	start := len(b)
	b = appendNlmsghdr(b, sockDiagByFamily, nlmFRequest|nlmFDump, seq, 0)
	ne := binary.NativeEndian
	switch family {
	case afInet, afInet6:
		proto := uint8(protocol)
		if protocol > 255 {
			proto = 0
		}
		b = append(b, family, proto, 0, 0)
		b = ne.AppendUint32(b, ^uint32(0))
		var id [48]byte
		binary.NativeEndian.PutUint32(id[40:44], ^uint32(0))
		binary.NativeEndian.PutUint32(id[44:48], ^uint32(0))
		b = append(b, id[:]...)
		if protocol > 255 {
			b = ne.AppendUint16(b, 8)
			b = ne.AppendUint16(b, inetDiagReqProto)
			b = ne.AppendUint32(b, protocol)
		}
	case AFVsock: // struct vsock_diag_req
		b = append(b, family, 0, 0, 0)
		b = ne.AppendUint32(b, ^uint32(0))
		b = ne.AppendUint32(b, 0)
		b = ne.AppendUint32(b, 0)
		b = ne.AppendUint32(b, ^uint32(0))
		b = ne.AppendUint32(b, ^uint32(0))
	default: // struct tipc_sock_diag_req and the like
		b = append(b, family, 0, 0, 0)
		b = ne.AppendUint32(b, ^uint32(0))
	}
	setNlmsgLen(b[start:])
	return b
}

// ParsePacketMsg decodes one packet_diag_msg payload into r.
func ParsePacketMsg(b []byte, r *PacketRecord) error {
	if len(b) < packetDiagMsgLen {
		return malformed("packet_diag_msg of %d bytes, need %d", len(b), packetDiagMsgLen)
	}
	if b[0] != AFPacket {
		return malformed("packet_diag_msg family %d, want %d", b[0], AFPacket)
	}
	ne := binary.NativeEndian
	*r = PacketRecord{
		Type:     b[1],
		Protocol: ne.Uint16(b[2:4]),
		Inode:    ne.Uint32(b[4:8]),
		Cookie:   uint64(ne.Uint32(b[8:12])) | uint64(ne.Uint32(b[12:16]))<<32,
	}
	attrs := b[packetDiagMsgLen:]
	for len(attrs) > 0 {
		typ, val, rest, err := nextAttr(attrs)
		if err != nil {
			return err
		}
		attrs = rest
		switch typ {
		case packetDiagInfo:
			if len(val) < packetInfoLen {
				return malformed("PACKET_DIAG_INFO of %d bytes", len(val))
			}
			r.Ifindex = ne.Uint32(val[0:4])
			r.Version = ne.Uint32(val[4:8])
			f := ne.Uint32(val[20:24])
			r.Running, r.Auxdata, r.OrigDev = f&packetFlagRunning != 0, f&packetFlagAuxdata != 0, f&packetFlagOrigdev != 0
			r.VnetHdr, r.Loss = f&packetFlagVnetHdr != 0, f&packetFlagLoss != 0
		case packetDiagUID:
			if len(val) < 4 {
				return malformed("PACKET_DIAG_UID of %d bytes", len(val))
			}
			r.UID, r.HasUID = ne.Uint32(val), true
		}
	}
	return nil
}

// ParseNetlinkMsg decodes one netlink_diag_msg payload into r, reusing
// r.Groups.
func ParseNetlinkMsg(b []byte, r *NetlinkRecord) error {
	if len(b) < netlinkDiagMsgLen {
		return malformed("netlink_diag_msg of %d bytes, need %d", len(b), netlinkDiagMsgLen)
	}
	if b[0] != AFNetlink {
		return malformed("netlink_diag_msg family %d, want %d", b[0], AFNetlink)
	}
	ne := binary.NativeEndian
	groups := r.Groups[:0]
	*r = NetlinkRecord{
		Type:      b[1],
		Protocol:  b[2],
		State:     b[3],
		PortID:    ne.Uint32(b[4:8]),
		DstPortID: ne.Uint32(b[8:12]),
		DstGroup:  ne.Uint32(b[12:16]),
		Inode:     ne.Uint32(b[16:20]),
		Cookie:    uint64(ne.Uint32(b[20:24])) | uint64(ne.Uint32(b[24:28]))<<32,
	}
	attrs := b[netlinkDiagMsgLen:]
	for len(attrs) > 0 {
		typ, val, rest, err := nextAttr(attrs)
		if err != nil {
			return err
		}
		attrs = rest
		switch typ {
		case netlinkDiagGroups:
			// A bitmap of unsigned longs, host-endian: read it as
			// bytes of 32-bit words (the same bits on little- and
			// big-endian 32-bit words; 64-bit big-endian is not
			// supported by sockscope).
			for w := 0; w+4 <= len(val); w += 4 {
				word := ne.Uint32(val[w:])
				for bit := range 32 {
					if word&(1<<bit) != 0 {
						groups = append(groups, uint32(w*8+bit+1))
					}
				}
			}
		case netlinkDiagFlags:
			if len(val) < 4 {
				return malformed("NETLINK_DIAG_FLAGS of %d bytes", len(val))
			}
			r.Flags, r.HasFlags = ne.Uint32(val), true
		}
	}
	r.Groups = groups
	return nil
}
