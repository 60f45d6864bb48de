package render

import (
	"strconv"

	"github.com/sockscope/sockscope"
)

// tcpInfoField is one number of the "tcp_info" object: its JSON name (with
// its unit), the end offset of its field in struct tcp_info (the field is
// written only when the kernel sent that much), and its value.
type tcpInfoField struct {
	key string
	end int
	get func(*sockscope.TCPInfo) uint64
}

// tcpInfoFields lists the numbers of "tcp_info" in struct tcp_info's order.
// Rates are converted to bits per second (as ss shows them); other values
// keep the kernel's unit, named by the suffix.
var tcpInfoFields = []tcpInfoField{
	{"ca_state", 2, func(t *sockscope.TCPInfo) uint64 { return uint64(t.CAState) }},
	{"retransmits", 3, func(t *sockscope.TCPInfo) uint64 { return uint64(t.Retransmits) }},
	{"probes", 4, func(t *sockscope.TCPInfo) uint64 { return uint64(t.Probes) }},
	{"backoff", 5, func(t *sockscope.TCPInfo) uint64 { return uint64(t.Backoff) }},
	{"snd_wscale", 7, func(t *sockscope.TCPInfo) uint64 { return uint64(t.SndWscale) }},
	{"rcv_wscale", 7, func(t *sockscope.TCPInfo) uint64 { return uint64(t.RcvWscale) }},
	{"fastopen_client_fail", 8, func(t *sockscope.TCPInfo) uint64 { return uint64(t.FastOpenFail) }},
	{"rto_us", 12, func(t *sockscope.TCPInfo) uint64 { return uint64(t.RTO) }},
	{"ato_us", 16, func(t *sockscope.TCPInfo) uint64 { return uint64(t.ATO) }},
	{"snd_mss", 20, func(t *sockscope.TCPInfo) uint64 { return uint64(t.SndMSS) }},
	{"rcv_mss", 24, func(t *sockscope.TCPInfo) uint64 { return uint64(t.RcvMSS) }},
	{"unacked", 28, func(t *sockscope.TCPInfo) uint64 { return uint64(t.Unacked) }},
	{"sacked", 32, func(t *sockscope.TCPInfo) uint64 { return uint64(t.Sacked) }},
	{"lost", 36, func(t *sockscope.TCPInfo) uint64 { return uint64(t.Lost) }},
	{"retrans", 40, func(t *sockscope.TCPInfo) uint64 { return uint64(t.Retrans) }},
	{"fackets", 44, func(t *sockscope.TCPInfo) uint64 { return uint64(t.Fackets) }},
	{"last_data_sent_ms", 48, func(t *sockscope.TCPInfo) uint64 { return uint64(t.LastDataSent) }},
	{"last_data_recv_ms", 56, func(t *sockscope.TCPInfo) uint64 { return uint64(t.LastDataRecv) }},
	{"last_ack_recv_ms", 60, func(t *sockscope.TCPInfo) uint64 { return uint64(t.LastAckRecv) }},
	{"pmtu", 64, func(t *sockscope.TCPInfo) uint64 { return uint64(t.PMTU) }},
	{"rcv_ssthresh", 68, func(t *sockscope.TCPInfo) uint64 { return uint64(t.RcvSsthresh) }},
	{"rtt_us", 72, func(t *sockscope.TCPInfo) uint64 { return uint64(t.RTT) }},
	{"rttvar_us", 76, func(t *sockscope.TCPInfo) uint64 { return uint64(t.RTTVar) }},
	{"snd_ssthresh", 80, func(t *sockscope.TCPInfo) uint64 { return uint64(t.SndSsthresh) }},
	{"snd_cwnd", 84, func(t *sockscope.TCPInfo) uint64 { return uint64(t.SndCwnd) }},
	{"advmss", 88, func(t *sockscope.TCPInfo) uint64 { return uint64(t.AdvMSS) }},
	{"reordering", 92, func(t *sockscope.TCPInfo) uint64 { return uint64(t.Reordering) }},
	{"rcv_rtt_us", 96, func(t *sockscope.TCPInfo) uint64 { return uint64(t.RcvRTT) }},
	{"rcv_space", 100, func(t *sockscope.TCPInfo) uint64 { return uint64(t.RcvSpace) }},
	{"total_retrans", 104, func(t *sockscope.TCPInfo) uint64 { return uint64(t.TotalRetrans) }},
	// pacing rates: see appendTCPInfoJSON (unlimited is omitted).
	{"bytes_acked", 128, func(t *sockscope.TCPInfo) uint64 { return t.BytesAcked }},
	{"bytes_received", 136, func(t *sockscope.TCPInfo) uint64 { return t.BytesReceived }},
	{"segs_out", 140, func(t *sockscope.TCPInfo) uint64 { return uint64(t.SegsOut) }},
	{"segs_in", 144, func(t *sockscope.TCPInfo) uint64 { return uint64(t.SegsIn) }},
	{"notsent_bytes", 148, func(t *sockscope.TCPInfo) uint64 { return uint64(t.NotsentBytes) }},
	{"min_rtt_us", 152, func(t *sockscope.TCPInfo) uint64 { return uint64(t.MinRTT) }},
	{"data_segs_in", 156, func(t *sockscope.TCPInfo) uint64 { return uint64(t.DataSegsIn) }},
	{"data_segs_out", 160, func(t *sockscope.TCPInfo) uint64 { return uint64(t.DataSegsOut) }},
	{"delivery_rate_bps", 168, func(t *sockscope.TCPInfo) uint64 { return t.DeliveryRate * 8 }},
	{"busy_time_us", 176, func(t *sockscope.TCPInfo) uint64 { return t.BusyTime }},
	{"rwnd_limited_us", 184, func(t *sockscope.TCPInfo) uint64 { return t.RwndLimited }},
	{"sndbuf_limited_us", 192, func(t *sockscope.TCPInfo) uint64 { return t.SndbufLimited }},
	{"delivered", 196, func(t *sockscope.TCPInfo) uint64 { return uint64(t.Delivered) }},
	{"delivered_ce", 200, func(t *sockscope.TCPInfo) uint64 { return uint64(t.DeliveredCE) }},
	{"bytes_sent", 208, func(t *sockscope.TCPInfo) uint64 { return t.BytesSent }},
	{"bytes_retrans", 216, func(t *sockscope.TCPInfo) uint64 { return t.BytesRetrans }},
	{"dsack_dups", 220, func(t *sockscope.TCPInfo) uint64 { return uint64(t.DsackDups) }},
	{"reord_seen", 224, func(t *sockscope.TCPInfo) uint64 { return uint64(t.ReordSeen) }},
	{"rcv_ooopack", 228, func(t *sockscope.TCPInfo) uint64 { return uint64(t.RcvOOOPack) }},
	{"snd_wnd", 232, func(t *sockscope.TCPInfo) uint64 { return uint64(t.SndWnd) }},
	{"rcv_wnd", 236, func(t *sockscope.TCPInfo) uint64 { return uint64(t.RcvWnd) }},
	{"rehash", 240, func(t *sockscope.TCPInfo) uint64 { return uint64(t.Rehash) }},
	{"total_rto", 242, func(t *sockscope.TCPInfo) uint64 { return uint64(t.TotalRTO) }},
	{"total_rto_recoveries", 244, func(t *sockscope.TCPInfo) uint64 { return uint64(t.TotalRTORecoveries) }},
	{"total_rto_time_ms", 248, func(t *sockscope.TCPInfo) uint64 { return uint64(t.TotalRTOTime) }},
	{"received_ce", 252, func(t *sockscope.TCPInfo) uint64 { return uint64(t.ReceivedCE) }},
	{"delivered_e1_bytes", 256, func(t *sockscope.TCPInfo) uint64 { return uint64(t.DeliveredE1Bytes) }},
	{"delivered_e0_bytes", 260, func(t *sockscope.TCPInfo) uint64 { return uint64(t.DeliveredE0Bytes) }},
	{"delivered_ce_bytes", 264, func(t *sockscope.TCPInfo) uint64 { return uint64(t.DeliveredCEBytes) }},
	{"received_e1_bytes", 268, func(t *sockscope.TCPInfo) uint64 { return uint64(t.ReceivedE1Bytes) }},
	{"received_e0_bytes", 272, func(t *sockscope.TCPInfo) uint64 { return uint64(t.ReceivedE0Bytes) }},
	{"received_ce_bytes", 276, func(t *sockscope.TCPInfo) uint64 { return uint64(t.ReceivedCEBytes) }},
	{"ecn_mode", 280, func(t *sockscope.TCPInfo) uint64 { return uint64(t.ECNMode) }},
	{"accecn_opt_seen", 280, func(t *sockscope.TCPInfo) uint64 { return uint64(t.AccECNOptSeen) }},
	{"accecn_fail_mode", 280, func(t *sockscope.TCPInfo) uint64 { return uint64(t.AccECNFailMode) }},
	{"options2", 280, func(t *sockscope.TCPInfo) uint64 { return uint64(t.Options2) }},
}

// tcpOptionNames are the TCPI_OPT_* bits of "options", low bit first.
var tcpOptionNames = [...]string{"ts", "sack", "wscale", "ecn", "ecn_seen", "syn_data", "usec_ts", "tfo_child"}

// appendDetailsJSON appends the socket's "timer", "tcp_info", "memory"
// and "cgroup" members, each only when the socket has it (docs/json.md).
func appendDetailsJSON(b []byte, s *sockscope.Socket) []byte {
	if s.Timer != 0 {
		b = append(b, `,"timer":{"name":`...)
		b = appendJSONString(b, TimerName(s.Timer))
		b = append(b, `,"expires_ms":`...)
		b = strconv.AppendUint(b, uint64(s.Expires), 10)
		b = append(b, `,"retrans":`...)
		b = strconv.AppendUint(b, uint64(s.Retrans), 10)
		b = append(b, '}')
	}
	d := s.Details
	if d == nil {
		return b
	}
	if d.TCP != nil || d.Congestion != "" {
		b = appendTCPInfoJSON(append(b, `,"tcp_info":`...), d)
	}
	if m := d.Memory; m != nil {
		b = append(b, `,"memory":{`...)
		vals := [...]struct {
			k string
			v uint32
		}{{"rmem_alloc_bytes", m.RmemAlloc}, {"rcvbuf_bytes", m.Rcvbuf}, {"wmem_alloc_bytes", m.WmemAlloc},
			{"sndbuf_bytes", m.Sndbuf}, {"fwd_alloc_bytes", m.FwdAlloc}, {"wmem_queued_bytes", m.WmemQueued},
			{"optmem_bytes", m.Optmem}, {"backlog_bytes", m.Backlog}, {"drops", m.Drops}}
		for i, f := range vals[:min(m.N, len(vals))] {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendUintField(b, f.k, uint64(f.v))
		}
		b = append(b, '}')
	}
	if s.CgroupID != 0 {
		b = append(b, `,"cgroup":{"id":`...)
		b = strconv.AppendUint(b, s.CgroupID, 10)
		if d.Cgroup != "" {
			b = append(b, `,"path":`...)
			b = appendJSONString(b, d.Cgroup)
		}
		b = append(b, '}')
	}
	return b
}

// appendTCPInfoJSON appends the "tcp_info" object.
func appendTCPInfoJSON(b []byte, d *sockscope.Details) []byte {
	b = append(b, '{')
	first := true
	sep := func() {
		if !first {
			b = append(b, ',')
		}
		first = false
	}
	if d.Congestion != "" {
		sep()
		b = appendStrField(b, "congestion", d.Congestion)
	}
	if t := d.TCP; t != nil {
		sep()
		b = append(b, `"options":[`...)
		n := 0
		for i, name := range tcpOptionNames {
			if t.Options&(1<<i) != 0 {
				if n > 0 {
					b = append(b, ',')
				}
				n++
				b = appendJSONString(b, name)
			}
		}
		b = append(b, `],"app_limited":`...)
		b = strconv.AppendBool(b, t.AppLimited)
		for _, f := range tcpInfoFields {
			if !t.Has(f.end) {
				break
			}
			b = append(b, ',')
			b = appendUintField(b, f.key, f.get(t))
			if f.end == 104 {
				// The pacing rates follow total_retrans.
				if t.Has(112) && t.PacingRate != ^uint64(0) {
					b = append(b, ',')
					b = appendUintField(b, "pacing_rate_bps", t.PacingRate*8)
				}
				if t.Has(120) && t.MaxPacingRate != ^uint64(0) {
					b = append(b, ',')
					b = appendUintField(b, "max_pacing_rate_bps", t.MaxPacingRate*8)
				}
			}
		}
	}
	if v := d.Vegas; v != nil {
		sep()
		b = append(b, `"vegas":{"enabled":`...)
		b = strconv.AppendBool(b, v.Enabled != 0)
		b = append(b, ',')
		b = appendUintField(b, "rttcnt", uint64(v.RTTCnt))
		b = append(b, ',')
		b = appendUintField(b, "rtt_us", uint64(v.RTT))
		b = append(b, ',')
		b = appendUintField(b, "min_rtt_us", uint64(v.MinRTT))
		b = append(b, '}')
	}
	if v := d.DCTCP; v != nil {
		sep()
		b = append(b, `"dctcp":{"enabled":`...)
		b = strconv.AppendBool(b, v.Enabled != 0)
		b = append(b, ',')
		b = appendUintField(b, "ce_state", uint64(v.CEState))
		b = append(b, ',')
		b = appendUintField(b, "alpha", uint64(v.Alpha))
		b = append(b, ',')
		b = appendUintField(b, "ab_ecn", uint64(v.ABECN))
		b = append(b, ',')
		b = appendUintField(b, "ab_tot", uint64(v.ABTot))
		b = append(b, '}')
	}
	if v := d.BBR; v != nil {
		sep()
		b = append(b, `"bbr":{`...)
		b = appendUintField(b, "bw_bps", v.BW*8)
		b = append(b, ',')
		b = appendUintField(b, "min_rtt_us", uint64(v.MinRTT))
		b = append(b, `,"pacing_gain":`...)
		b = strconv.AppendFloat(b, float64(v.PacingGain)/256, 'g', -1, 64)
		b = append(b, `,"cwnd_gain":`...)
		b = strconv.AppendFloat(b, float64(v.CwndGain)/256, 'g', -1, 64)
		b = append(b, '}')
	}
	return append(b, '}')
}
