package render

import (
	"strconv"

	"github.com/sockscope/sockscope"
)

// This file renders what `ls -i`, `-m`, `--timers` and `-e` add to a socket
// (sockscope.Socket.Details and the timer fields), in ss's words and units
// for tables and with units in the names for JSON.

// timerNames are ss's names for idiag_timer values (docs/kernel.md D10).
var timerNames = [...]string{"off", "on", "keepalive", "timewait", "persist"}

// TimerName names a socket's timer as ss -o does: "off", "on" (retransmit,
// loss probe or reordering timer), "keepalive", "timewait", "persist"
// (zero-window probe), else "unknown".
func TimerName(t uint8) string {
	if int(t) < len(timerNames) {
		return timerNames[t]
	}
	return "unknown"
}

// appendTimer appends ss -o's timer text without its "timer:(...)" frame:
// "keepalive,1min38sec,0": the timer's name, the time left, and the
// retransmits (keepalive: probes) so far. A socket with no timer appends
// nothing.
func appendTimer(b []byte, s *sockscope.Socket) []byte {
	if s.Timer == 0 {
		return b
	}
	b = append(b, TimerName(s.Timer)...)
	b = append(b, ',')
	b = appendMsTimer(b, s.Expires)
	b = append(b, ',')
	return strconv.AppendUint(b, uint64(s.Retrans), 10)
}

// TimerText returns the TIMER column of a socket: see appendTimer.
func TimerText(s *sockscope.Socket) string { return string(appendTimer(nil, s)) }

// appendMsTimer appends a duration in ms as ss's print_ms_timer does:
// "1min38sec", "9.500ms" for 9.5 s, "15sec", "200ms"; minutes drop the ms,
// ten minutes or more drop the seconds, ten seconds or more drop the ms.
func appendMsTimer(b []byte, ms uint32) []byte {
	secs := ms / 1000
	minutes := secs / 60
	secs %= 60
	msecs := ms % 1000
	if minutes != 0 {
		msecs = 0
		b = strconv.AppendUint(b, uint64(minutes), 10)
		b = append(b, "min"...)
		if minutes > 9 {
			secs = 0
		}
	}
	if secs != 0 {
		if secs > 9 {
			msecs = 0
		}
		b = strconv.AppendUint(b, uint64(secs), 10)
		if msecs != 0 {
			b = append(b, '.')
		} else {
			b = append(b, "sec"...)
		}
	}
	if msecs != 0 {
		if msecs < 100 {
			b = append(b, '0')
		}
		if msecs < 10 {
			b = append(b, '0')
		}
		b = strconv.AppendUint(b, uint64(msecs), 10)
		b = append(b, "ms"...)
	}
	return b
}

// CgroupText returns the CGROUP column: the cgroup's path (sanitized), or
// for an id that was not resolved "unreachable:" and the id in hex, as ss
// prints it; "" when the kernel sent no cgroup id.
func CgroupText(s *sockscope.Socket) string {
	if s.CgroupID == 0 {
		return ""
	}
	if s.Details != nil && s.Details.Cgroup != "" {
		return Sanitize(s.Details.Cgroup)
	}
	return "unreachable:" + strconv.FormatUint(s.CgroupID, 16)
}

// DetailText returns the line ss -m and -i print under a socket, as ss
// prints it: "skmem:(r0,rb131072,...)" when memory is true, then, when info
// is true, the TCP internals ("ts sack cubic wscale:7,7 rto:204
// rtt:0.04/0.02 ..."), each field shown only when ss would show it. Rates
// are in bits per second: a plain number when numeric, else scaled (K, M,
// G, T) as ss does without -n. It is "" when the socket has nothing to
// show.
func DetailText(s *sockscope.Socket, memory, info, numeric bool) string {
	return string(appendDetail(nil, s, memory, info, numeric))
}

func appendDetail(b []byte, s *sockscope.Socket, memory, info, numeric bool) []byte {
	d := s.Details
	if d == nil {
		return b
	}
	start := len(b)
	if memory && d.Memory != nil {
		b = appendSkmem(b, d.Memory)
	}
	if info && (d.TCP != nil || d.Congestion != "") {
		b = appendTCPInfoText(b, s, len(b) > start, numeric)
	}
	return b
}

// appendSkmem appends skmem:(r,rb,t,tb,f,w,o[,bl[,d]]) as ss -m prints it.
func appendSkmem(b []byte, m *sockscope.MemInfo) []byte {
	vals := [...]struct {
		k string
		v uint32
	}{{"r", m.RmemAlloc}, {"rb", m.Rcvbuf}, {"t", m.WmemAlloc}, {"tb", m.Sndbuf}, {"f", m.FwdAlloc},
		{"w", m.WmemQueued}, {"o", m.Optmem}, {"bl", m.Backlog}, {"d", m.Drops}}
	b = append(b, "skmem:("...)
	for i, f := range vals[:min(m.N, len(vals))] {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, f.k...)
		b = strconv.AppendUint(b, uint64(f.v), 10)
	}
	return append(b, ')')
}

// appendG appends v as C's %g does.
func appendG(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'g', 6, 64) }

// appendBW appends a rate in bits per second as ss's sprint_bw does.
func appendBW(b []byte, bps float64, numeric bool) []byte {
	if numeric {
		return strconv.AppendFloat(b, bps, 'f', 0, 64)
	}
	for _, u := range []struct {
		div  float64
		unit byte
	}{{1e12, 'T'}, {1e9, 'G'}, {1e6, 'M'}, {1e3, 'K'}} {
		if bps >= u.div {
			b = strconv.AppendFloat(b, bps/u.div, 'g', 3, 64)
			return append(b, u.unit)
		}
	}
	return appendG(b, bps)
}

// appendTCPInfoText appends ss -i's TCP fields, in ss's order (iproute2's
// tcp_show_info and tcp_stats_print), space-separated; sep says whether
// something precedes them on the line.
func appendTCPInfoText(b []byte, s *sockscope.Socket, sep bool, numeric bool) []byte {
	d := s.Details
	word := func(w string) {
		if sep {
			b = append(b, ' ')
		}
		sep = true
		b = append(b, w...)
	}
	num := func(k string, v uint64) {
		word(k)
		b = strconv.AppendUint(b, v, 10)
	}
	t := d.TCP
	if t == nil {
		t = &sockscope.TCPInfo{}
	}
	opts := []struct {
		bit  uint8
		name string
	}{{1, "ts"}, {2, "sack"}, {8, "ecn"}, {16, "ecnseen"}, {32, "fastopen"}}
	for _, o := range opts {
		if t.Options&o.bit != 0 {
			word(o.name)
		}
	}
	if d.Congestion != "" {
		word("")
		b = AppendSanitized(b, d.Congestion)
	}
	if t.Options&4 != 0 {
		num("wscale:", uint64(t.SndWscale))
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(t.RcvWscale), 10)
	}
	if t.RTO != 0 && t.RTO != 3000000 {
		word("rto:")
		b = appendG(b, float64(t.RTO)/1000)
	}
	if t.Backoff != 0 {
		num("backoff:", uint64(t.Backoff))
	}
	if t.RTT != 0 {
		word("rtt:")
		b = appendG(b, float64(t.RTT)/1000)
		b = append(b, '/')
		b = appendG(b, float64(t.RTTVar)/1000)
	}
	if t.ATO != 0 {
		word("ato:")
		b = appendG(b, float64(t.ATO)/1000)
	}
	for _, f := range []struct {
		k string
		v uint32
	}{{"mss:", t.SndMSS}, {"pmtu:", t.PMTU}, {"rcvmss:", t.RcvMSS}, {"advmss:", t.AdvMSS}, {"cwnd:", t.SndCwnd}} {
		if f.v != 0 {
			num(f.k, uint64(f.v))
		}
	}
	if t.SndSsthresh != 0 && t.SndSsthresh < 0xffff {
		num("ssthresh:", uint64(t.SndSsthresh))
	}
	for _, f := range []struct {
		k string
		v uint64
	}{{"bytes_sent:", t.BytesSent}, {"bytes_retrans:", t.BytesRetrans}, {"bytes_acked:", t.BytesAcked},
		{"bytes_received:", t.BytesReceived}, {"segs_out:", uint64(t.SegsOut)}, {"segs_in:", uint64(t.SegsIn)},
		{"data_segs_out:", uint64(t.DataSegsOut)}, {"data_segs_in:", uint64(t.DataSegsIn)}} {
		if f.v != 0 {
			num(f.k, f.v)
		}
	}
	if dc := d.DCTCP; dc != nil {
		if dc.Enabled != 0 {
			num("dctcp:(ce_state:", uint64(dc.CEState))
			b = append(b, ",alpha:"...)
			b = strconv.AppendUint(b, uint64(dc.Alpha), 10)
			b = append(b, ",ab_ecn:"...)
			b = strconv.AppendUint(b, uint64(dc.ABECN), 10)
			b = append(b, ",ab_tot:"...)
			b = strconv.AppendUint(b, uint64(dc.ABTot), 10)
			b = append(b, ')')
		} else {
			word("dctcp:fallback")
		}
	}
	if bb := d.BBR; bb != nil {
		word("bbr:(bw:")
		b = appendBW(b, float64(bb.BW)*8, numeric)
		b = append(b, "bps,mrtt:"...)
		b = appendG(b, float64(bb.MinRTT)/1000)
		if bb.PacingGain != 0 {
			b = append(b, ",pacing_gain:"...)
			b = appendG(b, float64(bb.PacingGain)/256)
		}
		if bb.CwndGain != 0 {
			b = append(b, ",cwnd_gain:"...)
			b = appendG(b, float64(bb.CwndGain)/256)
		}
		b = append(b, ')')
	}
	rtt := float64(t.RTT)
	if v := d.Vegas; v != nil {
		if v.Enabled != 0 && v.RTT != 0 && v.RTT != 0x7fffffff {
			rtt = float64(v.RTT)
		}
		if v.Enabled != 0 {
			num("vegas:(rttcnt:", uint64(v.RTTCnt))
			b = append(b, ",rtt:"...)
			b = appendG(b, float64(v.RTT)/1000)
			b = append(b, ",minrtt:"...)
			b = appendG(b, float64(v.MinRTT)/1000)
			b = append(b, ')')
		}
	}
	if rtt > 0 && t.SndMSS != 0 && t.SndCwnd != 0 {
		word("send ")
		b = appendBW(b, float64(t.SndCwnd)*float64(t.SndMSS)*8e6/rtt, numeric)
		b = append(b, "bps"...)
	}
	for _, f := range []struct {
		k string
		v uint32
	}{{"lastsnd:", t.LastDataSent}, {"lastrcv:", t.LastDataRecv}, {"lastack:", t.LastAckRecv}} {
		if f.v != 0 {
			num(f.k, uint64(f.v))
		}
	}
	if t.PacingRate != 0 && t.PacingRate != ^uint64(0) {
		word("pacing_rate ")
		b = appendBW(b, float64(t.PacingRate)*8, numeric)
		b = append(b, "bps"...)
		if t.MaxPacingRate != 0 && t.MaxPacingRate != ^uint64(0) {
			b = append(b, '/')
			b = appendBW(b, float64(t.MaxPacingRate)*8, numeric)
			b = append(b, "bps"...)
		}
	}
	if t.DeliveryRate != 0 {
		word("delivery_rate ")
		b = appendBW(b, float64(t.DeliveryRate)*8, numeric)
		b = append(b, "bps"...)
	}
	if t.Delivered != 0 {
		num("delivered:", uint64(t.Delivered))
	}
	if t.DeliveredCE != 0 {
		num("delivered_ce:", uint64(t.DeliveredCE))
	}
	if t.AppLimited {
		word("app_limited")
	}
	if t.BusyTime != 0 {
		num("busy:", t.BusyTime/1000)
		b = append(b, "ms"...)
		for _, f := range []struct {
			k string
			v uint64
		}{{"rwnd_limited:", t.RwndLimited}, {"sndbuf_limited:", t.SndbufLimited}} {
			if f.v != 0 {
				num(f.k, f.v/1000)
				b = append(b, "ms("...)
				b = strconv.AppendFloat(b, 100*float64(f.v)/float64(t.BusyTime), 'f', 1, 64)
				b = append(b, "%)"...)
			}
		}
	}
	if t.Unacked != 0 {
		num("unacked:", uint64(t.Unacked))
	}
	if t.Retrans != 0 || t.TotalRetrans != 0 {
		num("retrans:", uint64(t.Retrans))
		b = append(b, '/')
		b = strconv.AppendUint(b, uint64(t.TotalRetrans), 10)
	}
	if t.Lost != 0 {
		num("lost:", uint64(t.Lost))
	}
	if t.Sacked != 0 && s.State != sockscope.Listen {
		num("sacked:", uint64(t.Sacked))
	}
	if t.DsackDups != 0 {
		num("dsack_dups:", uint64(t.DsackDups))
	}
	if t.Fackets != 0 {
		num("fackets:", uint64(t.Fackets))
	}
	if t.Reordering != 3 && d.TCP != nil {
		num("reordering:", uint64(t.Reordering))
	}
	if t.ReordSeen != 0 {
		num("reord_seen:", uint64(t.ReordSeen))
	}
	if t.RcvRTT != 0 {
		word("rcv_rtt:")
		b = appendG(b, float64(t.RcvRTT)/1000)
	}
	if t.RcvSpace != 0 {
		num("rcv_space:", uint64(t.RcvSpace))
	}
	if t.RcvSsthresh != 0 {
		num("rcv_ssthresh:", uint64(t.RcvSsthresh))
	}
	if t.NotsentBytes != 0 {
		num("notsent:", uint64(t.NotsentBytes))
	}
	if t.MinRTT != 0 && t.MinRTT != ^uint32(0) {
		word("minrtt:")
		b = appendG(b, float64(t.MinRTT)/1000)
	}
	for _, f := range []struct {
		k string
		v uint32
	}{{"rcv_ooopack:", t.RcvOOOPack}, {"snd_wnd:", t.SndWnd}, {"rcv_wnd:", t.RcvWnd}, {"rehash:", t.Rehash}} {
		if f.v != 0 {
			num(f.k, uint64(f.v))
		}
	}
	return b
}
