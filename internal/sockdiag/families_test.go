package sockdiag

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

func TestParseNetlinkMsg(t *testing.T) {
	ne := binary.NativeEndian
	b := make([]byte, netlinkDiagMsgLen)
	b[0], b[1], b[2], b[3] = AFNetlink, 3, 0, 0
	ne.PutUint32(b[4:], 4242)
	ne.PutUint32(b[16:], 99)
	ne.PutUint32(b[20:], 7)
	// NETLINK_DIAG_GROUPS: groups 1, 2, 5 and 33 (bits 0, 1, 4 and 32).
	attr := []byte{12, 0, netlinkDiagGroups, 0}
	attr = ne.AppendUint32(attr, 1|2|16)
	attr = ne.AppendUint32(attr, 1)
	b = append(b, attr...)
	var r NetlinkRecord
	if err := ParseNetlinkMsg(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.PortID != 4242 || r.Inode != 99 || r.Cookie != 7 || !slices.Equal(r.Groups, []uint32{1, 2, 5, 33}) {
		t.Errorf("got %+v", r)
	}
	for n := range len(b) {
		if err := ParseNetlinkMsg(b[:n], &r); n < netlinkDiagMsgLen && !errors.Is(err, errMalformed) {
			t.Errorf("%d bytes: err %v, want malformed", n, err)
		}
	}
}

func TestParsePacketMsg(t *testing.T) {
	ne := binary.NativeEndian
	b := make([]byte, packetDiagMsgLen)
	b[0], b[1] = AFPacket, 2
	ne.PutUint16(b[2:], 0x0800)
	ne.PutUint32(b[4:], 55)
	info := make([]byte, 4+packetInfoLen)
	ne.PutUint16(info[0:], uint16(len(info)))
	ne.PutUint16(info[2:], packetDiagInfo)
	ne.PutUint32(info[4:], 1)                                    // ifindex
	ne.PutUint32(info[24:], packetFlagRunning|packetFlagAuxdata) // flags
	b = append(b, info...)
	var r PacketRecord
	if err := ParsePacketMsg(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Type != 2 || r.Protocol != 0x0800 || r.Inode != 55 || r.Ifindex != 1 || !r.Running || !r.Auxdata || r.Loss {
		t.Errorf("got %+v", r)
	}
	for n := range len(b) {
		if err := ParsePacketMsg(b[:n], &r); err == nil && n < len(b) && n != packetDiagMsgLen {
			t.Errorf("%d bytes: no error", n)
		}
	}
	b[0] = afInet
	if err := ParsePacketMsg(b, &r); !errors.Is(err, errMalformed) {
		t.Errorf("wrong family: %v", err)
	}
}

// TestSubflowToken decodes the INET_DIAG_ULP_INFO nest as this kernel sent
// it for an MPTCP subflow (name "mptcp", then the MPTCP nest whose
// TOKEN_LOC is 0xb9b47278), and the token of an MPTCP socket's mptcp_info.
func TestSubflowToken(t *testing.T) {
	ulp := []byte{0x0a, 0x00, 0x01, 0x00, 'm', 'p', 't', 'c', 'p', 0x00, 0x00, 0x00,
		0x1c, 0x00, 0x03, 0x80,
		0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x08, 0x00, 0x02, 0x00, 0x78, 0x72, 0xb4, 0xb9,
		0x08, 0x00, 0x08, 0x00, 0xc1, 0x00, 0x00, 0x00}
	msg := make([]byte, inetDiagMsgLen)
	msg[0] = afInet
	withULP := append(append(slices.Clone(msg), byte(4+len(ulp)), 0, inetDiagULPInfo, 0x80), ulp...)
	if binary.NativeEndian.Uint16([]byte{0x78, 0x72}) != 0x7278 {
		t.Skip("the captured attribute is little-endian")
	}
	if tok, ok := SubflowToken(withULP); !ok || tok != 0xb9b47278 {
		t.Errorf("SubflowToken = %x, %v; want b9b47278", tok, ok)
	}
	if _, ok := SubflowToken(msg); ok {
		t.Error("a TCP socket without ULP info is a subflow")
	}
	tls := slices.Clone(withULP)
	copy(tls[inetDiagMsgLen+8:], "tls\x00\x00")
	if _, ok := SubflowToken(tls); ok {
		t.Error("a TLS socket is a subflow")
	}
	info := make([]byte, 16)
	binary.NativeEndian.PutUint32(info[12:], 0xe3291351)
	withInfo := append(append(slices.Clone(msg), 20, 0, 2, 0), info...)
	if tok, ok := MPTCPToken(withInfo); !ok || tok != 0xe3291351 {
		t.Errorf("MPTCPToken = %x, %v", tok, ok)
	}
	for n := range len(withULP) {
		SubflowToken(withULP[:n]) // must not panic
	}
}
