package sockdiag

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// inetMsg builds an AF_INET inet_diag_msg payload with the given attributes.
func inetMsg(attrs ...[]byte) []byte {
	b := make([]byte, inetDiagMsgLen)
	b[0], b[1] = afInet, 1
	for _, a := range attrs {
		b = append(b, a...)
	}
	return b
}

// tcpInfoBytes builds a struct tcp_info of n bytes with distinct values in
// the fields it reaches.
func tcpInfoBytes(n int) []byte {
	b := make([]byte, 280)
	ne := binary.NativeEndian
	b[0], b[1], b[2], b[3], b[4], b[5] = 1, 4, 2, 3, 5, TCPIOptTimestamps|TCPIOptSACK|TCPIOptWscale
	b[6] = 7 | 9<<4                                // snd_wscale 7, rcv_wscale 9
	b[7] = 1 | 2<<1                                // app limited, fastopen_client_fail 2
	ne.PutUint32(b[8:], 204000)                    // rto
	ne.PutUint32(b[16:], 1448)                     // snd_mss
	ne.PutUint32(b[68:], 40)                       // rtt
	ne.PutUint32(b[72:], 20)                       // rttvar
	ne.PutUint32(b[80:], 10)                       // snd_cwnd
	ne.PutUint32(b[100:], 6)                       // total_retrans
	ne.PutUint64(b[104:], 1<<40)                   // pacing_rate
	ne.PutUint64(b[120:], 12346)                   // bytes_acked
	ne.PutUint64(b[128:], 777)                     // bytes_received
	ne.PutUint64(b[200:], 12345)                   // bytes_sent
	ne.PutUint32(b[228:], 65536)                   // snd_wnd
	ne.PutUint16(b[240:], 3)                       // total_rto
	ne.PutUint32(b[272:], 99)                      // received_ce_bytes
	ne.PutUint32(b[276:], 2|1<<2|5<<4|0x123456<<8) // ecn_mode 2, opt_seen 1, fail_mode 5, options2
	return b[:n]
}

func TestDecodeTCPInfoBySize(t *testing.T) {
	full := TCPInfo{Size: 280, State: 1, CAState: 4, Retransmits: 2, Probes: 3, Backoff: 5, Options: 7,
		SndWscale: 7, RcvWscale: 9, AppLimited: true, FastOpenFail: 2, RTO: 204000, SndMSS: 1448, RTT: 40, RTTVar: 20,
		SndCwnd: 10, TotalRetrans: 6, PacingRate: 1 << 40, BytesAcked: 12346, BytesReceived: 777, BytesSent: 12345,
		SndWnd: 65536, TotalRTO: 3, ReceivedCEBytes: 99, ECNMode: 2, AccECNOptSeen: 1, AccECNFailMode: 5, Options2: 0x123456}
	// 104 bytes: struct tcp_info up to tcpi_total_retrans, as Linux 3.x
	// sent it. Every later field must stay zero.
	old := TCPInfo{Size: 104, State: 1, CAState: 4, Retransmits: 2, Probes: 3, Backoff: 5, Options: 7,
		SndWscale: 7, RcvWscale: 9, AppLimited: true, FastOpenFail: 2, RTO: 204000, SndMSS: 1448, RTT: 40, RTTVar: 20,
		SndCwnd: 10, TotalRetrans: 6}
	// 232 bytes (Linux 5.4: up to tcpi_snd_wnd).
	mid := full
	mid.Size, mid.TotalRTO, mid.ReceivedCEBytes, mid.ECNMode, mid.AccECNOptSeen, mid.AccECNFailMode, mid.Options2 = 232, 0, 0, 0, 0, 0, 0
	// A newer kernel's longer struct: the known fields, tail ignored.
	long := append(tcpInfoBytes(280), make([]byte, 24)...)
	newer := full
	newer.Size = len(long)
	for _, tt := range []struct {
		name string
		b    []byte
		want TCPInfo
	}{
		{"linux 6.18", tcpInfoBytes(280), full},
		{"short (3.x)", tcpInfoBytes(104), old},
		{"mid (5.4)", tcpInfoBytes(232), mid},
		{"longer than known", long, newer},
		{"empty", nil, TCPInfo{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got TCPInfo
			got.BytesAcked = 1 // dirty: every field must be overwritten
			DecodeTCPInfo(tt.b, &got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if old := (&TCPInfo{Size: 104}); !old.Has(104) || old.Has(112) {
		t.Errorf("Has on a 104-byte struct: Has(104)=%v Has(112)=%v", old.Has(104), old.Has(112))
	}
}

func TestParseInetDetails(t *testing.T) {
	ne := binary.NativeEndian
	mem := make([]byte, 36)
	for i := range 9 {
		ne.PutUint32(mem[4*i:], uint32(100+i))
	}
	bbr := make([]byte, 20)
	ne.PutUint32(bbr[0:], 0x89abcdef)
	ne.PutUint32(bbr[4:], 1)
	ne.PutUint32(bbr[8:], 12)
	ne.PutUint32(bbr[12:], 739)
	ne.PutUint32(bbr[16:], 512)
	dctcp := append(append(u16(1), u16(2)...), append(u32(1024), append(u32(5), u32(6)...)...)...)
	vegas := append(u32(1), append(u32(4), append(u32(300), u32(200)...)...)...)
	msg := inetMsg(
		attr(inetDiagInfo, tcpInfoBytes(104)...),
		attr(inetDiagCong, []byte("cubic\x00")...),
		attr(inetDiagSKMeminfo, mem...),
		attr(inetDiagBBRInfo, bbr...),
		attr(inetDiagDCTCPInfo, dctcp...),
		attr(inetDiagVegasInfo, vegas...),
		attr(inetDiagShutdown, 3),
	)
	var r InetRecord
	if err := ParseInetMsg(msg, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Info) != 104 || string(r.Cong) != "cubic" || r.Shutdown != 3 {
		t.Fatalf("Info %d bytes, Cong %q, Shutdown %d; want 104, cubic, 3", len(r.Info), r.Cong, r.Shutdown)
	}
	var ti TCPInfo
	DecodeTCPInfo(r.Info, &ti)
	if ti.SndCwnd != 10 || ti.TotalRetrans != 6 || ti.BytesAcked != 0 {
		t.Errorf("tcp_info cwnd %d total_retrans %d bytes_acked %d, want 10 6 0", ti.SndCwnd, ti.TotalRetrans, ti.BytesAcked)
	}
	if got, want := DecodeMemInfo(r.SKMemInfo), (MemInfo{N: 9, RmemAlloc: 100, Rcvbuf: 101, WmemAlloc: 102, Sndbuf: 103, FwdAlloc: 104,
		WmemQueued: 105, Optmem: 106, Backlog: 107, Drops: 108}); got != want {
		t.Errorf("meminfo %+v, want %+v", got, want)
	}
	// An older kernel's 7-value array (no backlog, drops).
	if got := DecodeMemInfo(r.SKMemInfo[:28]); got.N != 7 || got.Optmem != 106 || got.Backlog != 0 {
		t.Errorf("7-value meminfo %+v", got)
	}
	if got, ok := DecodeBBRInfo(r.BBRInfo); !ok || got != (BBRInfo{BW: 1<<32 | 0x89abcdef, MinRTT: 12, PacingGain: 739, CwndGain: 512}) {
		t.Errorf("bbr %+v %v", got, ok)
	}
	if got, ok := DecodeDCTCPInfo(r.DCTCPInfo); !ok || got != (DCTCPInfo{Enabled: 1, CEState: 2, Alpha: 1024, ABECN: 5, ABTot: 6}) {
		t.Errorf("dctcp %+v %v", got, ok)
	}
	if got, ok := DecodeVegasInfo(r.VegasInfo); !ok || got != (VegasInfo{Enabled: 1, RTTCnt: 4, RTT: 300, MinRTT: 200}) {
		t.Errorf("vegas %+v %v", got, ok)
	}
	for name, f := range map[string]func() bool{
		"bbr":   func() bool { _, ok := DecodeBBRInfo(bbr[:19]); return ok },
		"dctcp": func() bool { _, ok := DecodeDCTCPInfo(dctcp[:15]); return ok },
		"vegas": func() bool { _, ok := DecodeVegasInfo(vegas[:15]); return ok },
	} {
		if f() {
			t.Errorf("%s: a truncated attribute decoded", name)
		}
	}

	// The next message without them clears them, and parsing still does
	// not allocate.
	if err := ParseInetMsg(inetMsg(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Info != nil || r.Cong != nil || r.SKMemInfo != nil || r.BBRInfo != nil || r.DCTCPInfo != nil || r.VegasInfo != nil {
		t.Errorf("attributes of the previous message kept: %+v", r)
	}
	if n := testing.AllocsPerRun(100, func() {
		ParseInetMsg(msg, &r)
		DecodeTCPInfo(r.Info, &ti)
	}); n != 0 {
		t.Errorf("parse + decode: %v allocs, want 0", n)
	}
}
