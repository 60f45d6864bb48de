package sockdiag

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

func TestAppendDestroyRequest(t *testing.T) {
	ne := binary.NativeEndian
	r := DestroyRequest{Family: afInet, Protocol: ProtoTCP, Local: netip.MustParseAddrPort("127.0.0.1:80"),
		Remote: netip.MustParseAddrPort("10.0.0.2:40000"), If: 3, Cookie: 0x1122334455667788}
	b := appendDestroyRequest(nil, r, 9)
	if len(b) != nlmsgHdrLen+inetDiagReqLen || ne.Uint32(b) != uint32(len(b)) {
		t.Fatalf("length %d, header says %d", len(b), ne.Uint32(b))
	}
	if ne.Uint16(b[4:]) != sockDestroy || ne.Uint16(b[6:]) != nlmFRequest|0x4 || ne.Uint32(b[8:]) != 9 {
		t.Errorf("header % x", b[:16])
	}
	req := b[nlmsgHdrLen:]
	if req[0] != afInet || req[1] != ProtoTCP || ne.Uint32(req[4:]) != ^uint32(0) {
		t.Errorf("request % x", req[:8])
	}
	id := req[8:]
	if binary.BigEndian.Uint16(id[0:]) != 80 || binary.BigEndian.Uint16(id[2:]) != 40000 {
		t.Errorf("ports % x", id[:4])
	}
	if netip.AddrFrom4([4]byte(id[4:8])) != r.Local.Addr() || netip.AddrFrom4([4]byte(id[20:24])) != r.Remote.Addr() {
		t.Errorf("addresses % x", id[4:36])
	}
	if ne.Uint32(id[36:]) != 3 || ne.Uint32(id[40:]) != 0x55667788 || ne.Uint32(id[44:]) != 0x11223344 {
		t.Errorf("if and cookie % x", id[36:48])
	}
	r.Swap = true
	s := appendDestroyRequest(nil, r, 9)[nlmsgHdrLen+8:]
	if binary.BigEndian.Uint16(s[0:]) != 40000 || netip.AddrFrom4([4]byte(s[4:8])) != r.Remote.Addr() {
		t.Errorf("swapped % x", s[:36])
	}
}
