package sockdiag

import (
	"encoding/binary"
	"net/netip"
)

// sockDestroy is the SOCK_DESTROY message type (uapi/linux/sock_diag.h).
const sockDestroy = 21

// DestroyRequest names one inet socket for SOCK_DESTROY as a dump reported
// it: the kernel looks the socket up by its local and remote ends (and
// bound device), then refuses with ESTALE unless its cookie is Cookie.
type DestroyRequest struct {
	Family   uint8 // AF_INET or AF_INET6
	Protocol uint8 // ProtoTCP, ProtoUDP, ProtoUDPLite or ProtoRaw
	// Local and Remote are the socket's ends as the dump reported them
	// (InetRecord.Src/SrcPort and Dst/DstPort).
	Local, Remote netip.AddrPort
	If            uint32
	Cookie        uint64
	// Swap puts Remote in the request's source fields and Local in its
	// destination fields; see (*Conn).Destroy.
	Swap bool
}

// appendDestroyRequest appends a SOCK_DESTROY request (NLM_F_ACK, no dump)
// for r: an inet_diag_req_v2 whose id names the socket, cookie included.
func appendDestroyRequest(b []byte, r DestroyRequest, seq uint32) []byte {
	const nlmFAck = 0x4
	start := len(b)
	b = appendNlmsghdr(b, sockDestroy, nlmFRequest|nlmFAck, seq, 0)
	b = append(b, r.Family, r.Protocol, 0, 0)
	b = binary.NativeEndian.AppendUint32(b, ^uint32(0))
	local, remote := r.Local, r.Remote
	if r.Swap {
		local, remote = remote, local
	}
	var id [48]byte
	binary.BigEndian.PutUint16(id[0:2], local.Port())
	binary.BigEndian.PutUint16(id[2:4], remote.Port())
	if local.Addr().IsValid() {
		putAddr(id[4:20], r.Family, local.Addr())
	}
	if remote.Addr().IsValid() {
		putAddr(id[20:36], r.Family, remote.Addr())
	}
	binary.NativeEndian.PutUint32(id[36:40], r.If)
	binary.NativeEndian.PutUint32(id[40:44], uint32(r.Cookie))
	binary.NativeEndian.PutUint32(id[44:48], uint32(r.Cookie>>32))
	b = append(b, id[:]...)
	setNlmsgLen(b[start:])
	return b
}
