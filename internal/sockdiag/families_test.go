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
