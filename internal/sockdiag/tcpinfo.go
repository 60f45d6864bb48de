package sockdiag

import "encoding/binary"

// idiag_ext bits: bit N-1 asks for attribute N (uapi/linux/inet_diag.h).
const (
	ExtMemInfo   = 1 << (inetDiagMeminfo - 1)   // INET_DIAG_MEMINFO (old four-value form)
	ExtInfo      = 1 << (inetDiagInfo - 1)      // INET_DIAG_INFO: struct tcp_info, and the DCTCP/BBR info
	ExtVegasInfo = 1 << (inetDiagVegasInfo - 1) // INET_DIAG_VEGASINFO
	ExtCong      = 1 << (inetDiagCong - 1)      // INET_DIAG_CONG: the congestion control's name
	ExtSKMemInfo = 1 << (inetDiagSKMeminfo - 1) // INET_DIAG_SKMEMINFO: the sk_meminfo array
)

// inet_diag attribute types carrying TCP details (INET_DIAG_*).
const (
	inetDiagMeminfo   = 1
	inetDiagInfo      = 2
	inetDiagVegasInfo = 3
	inetDiagCong      = 4
	inetDiagSKMeminfo = 7
	inetDiagDCTCPInfo = 9
	inetDiagBBRInfo   = 16
)

// TCPInfo is struct tcp_info (uapi/linux/tcp.h) as INET_DIAG_INFO carries
// it. The kernel sends the struct at the size it was built with and the
// struct only ever grows at its end, so Size, the number of bytes the kernel
// sent, says which fields it filled: a field is valid when Size reaches the
// field's end offset (the offsets are in the comments). Fields beyond Size
// are zero.
//
// Units are the kernel's: times in microseconds unless the name says
// otherwise (RTO, ATO, RTT, RTTVar, RcvRTT and MinRTT are µs; the Last*
// times are ms), rates in bytes per second, counters in segments or bytes as
// named.
type TCPInfo struct {
	Size int // bytes of struct tcp_info the kernel sent

	State        uint8 // 1: the kernel TCP state
	CAState      uint8 // 2: congestion avoidance state (0 open, 1 disorder, 2 CWR, 3 recovery, 4 loss)
	Retransmits  uint8 // 3: consecutive retransmissions of the head segment
	Probes       uint8 // 4: unanswered zero-window or keepalive probes
	Backoff      uint8 // 5: RTO exponential backoff
	Options      uint8 // 6: TCPI_OPT_* bits: 1 timestamps, 2 SACK, 4 wscale, 8 ECN, 16 ECN seen, 32 SYN data, 64 USec TS, 128 TFO child
	SndWscale    uint8 // 7: the peer's window scale (low 4 bits of byte 6)
	RcvWscale    uint8 // 7: our window scale
	AppLimited   bool  // 8: delivery_rate_app_limited
	FastOpenFail uint8 // 8: fastopen_client_fail (0..3)

	RTO          uint32 // 12 (µs)
	ATO          uint32 // 16 (µs)
	SndMSS       uint32 // 20
	RcvMSS       uint32 // 24
	Unacked      uint32 // 28 (segments)
	Sacked       uint32 // 32 (segments; a listener's backlog)
	Lost         uint32 // 36
	Retrans      uint32 // 40
	Fackets      uint32 // 44
	LastDataSent uint32 // 48 (ms ago)
	LastAckSent  uint32 // 52 (ms ago; never filled)
	LastDataRecv uint32 // 56 (ms ago)
	LastAckRecv  uint32 // 60 (ms ago)
	PMTU         uint32 // 64
	RcvSsthresh  uint32 // 68
	RTT          uint32 // 72 (µs, smoothed)
	RTTVar       uint32 // 76 (µs)
	SndSsthresh  uint32 // 80 (segments)
	SndCwnd      uint32 // 84 (segments)
	AdvMSS       uint32 // 88
	Reordering   uint32 // 92
	RcvRTT       uint32 // 96 (µs)
	RcvSpace     uint32 // 100 (bytes)
	TotalRetrans uint32 // 104

	PacingRate         uint64 // 112 (bytes/s; ^0 = unlimited)
	MaxPacingRate      uint64 // 120 (bytes/s; ^0 = unlimited)
	BytesAcked         uint64 // 128
	BytesReceived      uint64 // 136
	SegsOut            uint32 // 140
	SegsIn             uint32 // 144
	NotsentBytes       uint32 // 148
	MinRTT             uint32 // 152 (µs)
	DataSegsIn         uint32 // 156
	DataSegsOut        uint32 // 160
	DeliveryRate       uint64 // 168 (bytes/s)
	BusyTime           uint64 // 176 (µs)
	RwndLimited        uint64 // 184 (µs)
	SndbufLimited      uint64 // 192 (µs)
	Delivered          uint32 // 196 (segments)
	DeliveredCE        uint32 // 200
	BytesSent          uint64 // 208
	BytesRetrans       uint64 // 216
	DsackDups          uint32 // 220
	ReordSeen          uint32 // 224
	RcvOOOPack         uint32 // 228
	SndWnd             uint32 // 232 (bytes)
	RcvWnd             uint32 // 236 (bytes)
	Rehash             uint32 // 240
	TotalRTO           uint16 // 242
	TotalRTORecoveries uint16 // 244
	TotalRTOTime       uint32 // 248 (ms)
	ReceivedCE         uint32 // 252 (segments)
	DeliveredE1Bytes   uint32 // 256
	DeliveredE0Bytes   uint32 // 260
	DeliveredCEBytes   uint32 // 264
	ReceivedE1Bytes    uint32 // 268
	ReceivedE0Bytes    uint32 // 272
	ReceivedCEBytes    uint32 // 276
	// ECN bitfield word (Linux 6.18): ecn_mode:2, accecn_opt_seen:2,
	// accecn_fail_mode:4, options2:24, low bits first.
	ECNMode        uint8  // 280
	AccECNOptSeen  uint8  // 280
	AccECNFailMode uint8  // 280
	Options2       uint32 // 280
}

// TCPInfo option bits (TCPI_OPT_*).
const (
	TCPIOptTimestamps = 1
	TCPIOptSACK       = 2
	TCPIOptWscale     = 4
	TCPIOptECN        = 8
	TCPIOptECNSeen    = 16
	TCPIOptSYNData    = 32
)

// Has reports whether the kernel sent the field that ends at byte end
// (the offsets in TCPInfo's field comments).
func (t *TCPInfo) Has(end int) bool { return t.Size >= end }

// DecodeTCPInfo decodes an INET_DIAG_INFO payload of any length into t: a
// shorter struct from an older kernel leaves the fields it lacks zero, a
// longer one from a newer kernel has its unknown tail ignored
// (docs/kernel.md D9). It does not allocate.
func DecodeTCPInfo(b []byte, t *TCPInfo) {
	*t = TCPInfo{Size: len(b)}
	// Pad to the known size so every read below is in bounds.
	var buf [tcpInfoKnownSize]byte
	copy(buf[:], b)
	p := buf[:]
	ne := binary.NativeEndian
	u32 := func(off int) uint32 { return ne.Uint32(p[off:]) }
	u64 := func(off int) uint64 { return ne.Uint64(p[off:]) }
	t.State = p[0]
	t.CAState = p[1]
	t.Retransmits = p[2]
	t.Probes = p[3]
	t.Backoff = p[4]
	t.Options = p[5]
	t.SndWscale = p[6] & 0xf
	t.RcvWscale = p[6] >> 4
	t.AppLimited = p[7]&1 != 0
	t.FastOpenFail = (p[7] >> 1) & 3
	t.RTO = u32(8)
	t.ATO = u32(12)
	t.SndMSS = u32(16)
	t.RcvMSS = u32(20)
	t.Unacked = u32(24)
	t.Sacked = u32(28)
	t.Lost = u32(32)
	t.Retrans = u32(36)
	t.Fackets = u32(40)
	t.LastDataSent = u32(44)
	t.LastAckSent = u32(48)
	t.LastDataRecv = u32(52)
	t.LastAckRecv = u32(56)
	t.PMTU = u32(60)
	t.RcvSsthresh = u32(64)
	t.RTT = u32(68)
	t.RTTVar = u32(72)
	t.SndSsthresh = u32(76)
	t.SndCwnd = u32(80)
	t.AdvMSS = u32(84)
	t.Reordering = u32(88)
	t.RcvRTT = u32(92)
	t.RcvSpace = u32(96)
	t.TotalRetrans = u32(100)
	t.PacingRate = u64(104)
	t.MaxPacingRate = u64(112)
	t.BytesAcked = u64(120)
	t.BytesReceived = u64(128)
	t.SegsOut = u32(136)
	t.SegsIn = u32(140)
	t.NotsentBytes = u32(144)
	t.MinRTT = u32(148)
	t.DataSegsIn = u32(152)
	t.DataSegsOut = u32(156)
	t.DeliveryRate = u64(160)
	t.BusyTime = u64(168)
	t.RwndLimited = u64(176)
	t.SndbufLimited = u64(184)
	t.Delivered = u32(192)
	t.DeliveredCE = u32(196)
	t.BytesSent = u64(200)
	t.BytesRetrans = u64(208)
	t.DsackDups = u32(216)
	t.ReordSeen = u32(220)
	t.RcvOOOPack = u32(224)
	t.SndWnd = u32(228)
	t.RcvWnd = u32(232)
	t.Rehash = u32(236)
	t.TotalRTO = ne.Uint16(p[240:])
	t.TotalRTORecoveries = ne.Uint16(p[242:])
	t.TotalRTOTime = u32(244)
	t.ReceivedCE = u32(248)
	t.DeliveredE1Bytes = u32(252)
	t.DeliveredE0Bytes = u32(256)
	t.DeliveredCEBytes = u32(260)
	t.ReceivedE1Bytes = u32(264)
	t.ReceivedE0Bytes = u32(268)
	t.ReceivedCEBytes = u32(272)
	w := u32(276)
	t.ECNMode = uint8(w & 3)
	t.AccECNOptSeen = uint8(w >> 2 & 3)
	t.AccECNFailMode = uint8(w >> 4 & 0xf)
	t.Options2 = w >> 8
}

// tcpInfoKnownSize is the size of struct tcp_info in Linux 6.18.
const tcpInfoKnownSize = 280

// VegasInfo is struct tcpvegas_info (INET_DIAG_VEGASINFO), which Vegas,
// Veno, Illinois, ... report.
type VegasInfo struct {
	Enabled uint32
	RTTCnt  uint32
	RTT     uint32 // µs
	MinRTT  uint32 // µs
}

// DCTCPInfo is struct tcp_dctcp_info (INET_DIAG_DCTCPINFO).
type DCTCPInfo struct {
	Enabled uint16
	CEState uint16
	Alpha   uint32
	ABECN   uint32
	ABTot   uint32
}

// BBRInfo is struct tcp_bbr_info (INET_DIAG_BBRINFO).
type BBRInfo struct {
	BW         uint64 // bytes per second
	MinRTT     uint32 // µs
	PacingGain uint32 // << 8
	CwndGain   uint32 // << 8
}

// DecodeVegasInfo decodes INET_DIAG_VEGASINFO; ok is false when b is too
// short.
func DecodeVegasInfo(b []byte) (v VegasInfo, ok bool) {
	if len(b) < 16 {
		return v, false
	}
	ne := binary.NativeEndian
	return VegasInfo{ne.Uint32(b), ne.Uint32(b[4:]), ne.Uint32(b[8:]), ne.Uint32(b[12:])}, true
}

// DecodeDCTCPInfo decodes INET_DIAG_DCTCPINFO; ok is false when b is too
// short.
func DecodeDCTCPInfo(b []byte) (d DCTCPInfo, ok bool) {
	if len(b) < 16 {
		return d, false
	}
	ne := binary.NativeEndian
	return DCTCPInfo{ne.Uint16(b), ne.Uint16(b[2:]), ne.Uint32(b[4:]), ne.Uint32(b[8:]), ne.Uint32(b[12:])}, true
}

// DecodeBBRInfo decodes INET_DIAG_BBRINFO; ok is false when b is too
// short.
func DecodeBBRInfo(b []byte) (v BBRInfo, ok bool) {
	if len(b) < 20 {
		return v, false
	}
	ne := binary.NativeEndian
	return BBRInfo{
		BW:         uint64(ne.Uint32(b)) | uint64(ne.Uint32(b[4:]))<<32,
		MinRTT:     ne.Uint32(b[8:]),
		PacingGain: ne.Uint32(b[12:]),
		CwndGain:   ne.Uint32(b[16:]),
	}, true
}

// MemInfo is the sk_meminfo array (SK_MEMINFO_*) that INET_DIAG_SKMEMINFO
// and UNIX_DIAG_MEMINFO carry, in bytes (Drops in packets). N is the
// number of values the kernel sent; the others are zero.
type MemInfo struct {
	N          int
	RmemAlloc  uint32 // r: receive queue memory
	Rcvbuf     uint32 // rb: SO_RCVBUF
	WmemAlloc  uint32 // t: transmit memory in flight
	Sndbuf     uint32 // tb: SO_SNDBUF
	FwdAlloc   uint32 // f: forward-allocated memory
	WmemQueued uint32 // w: queued for sending
	Optmem     uint32 // o: option memory
	Backlog    uint32 // bl: backlog queue
	Drops      uint32 // d: packets dropped
}

// DecodeMemInfo decodes an array of u32 values in SK_MEMINFO order; extra
// values from a newer kernel are ignored.
func DecodeMemInfo(b []byte) MemInfo {
	var v [9]uint32
	n := min(len(b)/4, len(v))
	for i := range n {
		v[i] = binary.NativeEndian.Uint32(b[4*i:])
	}
	return MemInfo{N: n, RmemAlloc: v[0], Rcvbuf: v[1], WmemAlloc: v[2], Sndbuf: v[3], FwdAlloc: v[4], WmemQueued: v[5], Optmem: v[6], Backlog: v[7], Drops: v[8]}
}
