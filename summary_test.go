package sockscope

import "testing"

func TestParseSockStat(t *testing.T) {
	st, err := ParseSockStat(nil, []byte("sockets: used 49\nTCP: inuse 11 orphan 0 tw 17677 alloc 312 mem 158\nFRAG: inuse 0 memory 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	st, err = ParseSockStat(st, []byte("TCP6: inuse 3\nUDP6: inuse 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	ns := &NetNSSummary{SockStat: st, TCPEstab: 4}
	c := ns.SS()
	want := SSCounts{Total: 49, TCPTotal: 312 + 17677, TCPEstab: 4, TCPClosed: 312 - (11 + 3 - 17677), TCPTimeWait: 17677,
		UDP: [2]int64{0, 1}, TCP: [2]int64{11, 3}, Inet: [2]int64{11, 4}}
	if c != want {
		t.Errorf("SS() = %+v, want %+v", c, want)
	}
	for _, bad := range []string{"TCP: inuse\n", "TCP: inuse x\n", "no colon here\n"} {
		if _, err := ParseSockStat(nil, []byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestSNMPValue(t *testing.T) {
	text := []byte("Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: RtoAlgorithm CurrEstab InSegs\nTcp: 1 7 99\n")
	if v, ok := snmpValue(text, "Tcp", "CurrEstab"); !ok || v != 7 {
		t.Errorf("CurrEstab = %d, %v; want 7", v, ok)
	}
	if _, ok := snmpValue(text, "Tcp", "Nope"); ok {
		t.Error("a missing counter was found")
	}
	if _, ok := snmpValue([]byte("Tcp: A B\n"), "Tcp", "A"); ok {
		t.Error("a section without values was read")
	}
}
