package sockscope

import "github.com/sockscope/sockscope/internal/sockdiag"

// TCPInfo is the kernel's struct tcp_info for one TCP socket, decoded by
// its length: Size says how many bytes this kernel sent, and fields past it
// are zero (see [TCPInfo.Has]). Times are in microseconds unless a field's
// comment says ms; rates in bytes per second.
type TCPInfo = sockdiag.TCPInfo

// MemInfo is a socket's memory accounting, the sk_meminfo array ss -m
// prints as skmem:(r,rb,t,tb,f,w,o,bl,d).
type MemInfo = sockdiag.MemInfo

// VegasInfo is what Vegas-like congestion controls report (struct tcpvegas_info).
type VegasInfo = sockdiag.VegasInfo

// DCTCPInfo is what DCTCP reports (struct tcp_dctcp_info).
type DCTCPInfo = sockdiag.DCTCPInfo

// BBRInfo is what BBR reports (struct tcp_bbr_info).
type BBRInfo = sockdiag.BBRInfo

// Details holds the per-socket details that Options.TCPInfo,
// Options.Memory and Options.Cgroups ask for. It is allocated only for a
// socket the kernel sent some of them for, so a Collect that asks for none
// costs one nil pointer per socket. Each member is nil (or "") when the
// kernel did not send it: TIME-WAIT and request sockets have no tcp_info,
// and /proc/net has none of this.
type Details struct {
	// TCP is INET_DIAG_INFO (Options.TCPInfo).
	TCP *TCPInfo
	// Congestion is the congestion control's name (INET_DIAG_CONG), such
	// as "cubic" or "bbr" (Options.TCPInfo).
	Congestion string
	// Vegas, DCTCP and BBR are the congestion control's own state, sent
	// by the algorithms that have one (Options.TCPInfo).
	Vegas *VegasInfo
	DCTCP *DCTCPInfo
	BBR   *BBRInfo
	// Memory is INET_DIAG_SKMEMINFO or UNIX_DIAG_MEMINFO (Options.Memory).
	Memory *MemInfo
	// Cgroup is the path, under the cgroup v2 mount, of the cgroup whose
	// id is Socket.CgroupID (Options.Cgroups); "" when it was not found
	// (the cgroup was removed, or lies outside what the caller can see).
	Cgroup string
}

// inetExt is the idiag_ext mask the options ask for.
func (o *Options) inetExt() uint8 {
	var ext uint8
	if o.TCPInfo {
		ext |= sockdiag.ExtInfo | sockdiag.ExtVegasInfo | sockdiag.ExtCong
	}
	if o.Memory {
		ext |= sockdiag.ExtSKMemInfo
	}
	return ext
}

// addInetDetails attaches the details r carries to s, if any.
func (b *builder) addInetDetails(s *Socket, r *sockdiag.InetRecord) {
	if r.Info == nil && r.Cong == nil && r.SKMemInfo == nil && r.VegasInfo == nil && r.DCTCPInfo == nil && r.BBRInfo == nil {
		return
	}
	d := &Details{}
	if r.Info != nil {
		d.TCP = new(TCPInfo)
		sockdiag.DecodeTCPInfo(r.Info, d.TCP)
	}
	if r.Cong != nil {
		d.Congestion = b.intern(r.Cong)
	}
	if v, ok := sockdiag.DecodeVegasInfo(r.VegasInfo); ok {
		d.Vegas = &v
	}
	if v, ok := sockdiag.DecodeDCTCPInfo(r.DCTCPInfo); ok {
		d.DCTCP = &v
	}
	if v, ok := sockdiag.DecodeBBRInfo(r.BBRInfo); ok {
		d.BBR = &v
	}
	if r.SKMemInfo != nil {
		m := sockdiag.DecodeMemInfo(r.SKMemInfo)
		d.Memory = &m
	}
	s.Details = d
}

// addUnixDetails attaches UNIX_DIAG_MEMINFO to s, if r carries it.
func addUnixDetails(s *Socket, r *sockdiag.UnixRecord) {
	if r.MemInfo == nil {
		return
	}
	m := sockdiag.DecodeMemInfo(r.MemInfo)
	s.Details = &Details{Memory: &m}
}

// intern returns b as a string, one string per distinct value (congestion
// control names repeat on every socket).
func (b *builder) intern(v []byte) string {
	if s, ok := b.strs[string(v)]; ok {
		return s
	}
	if b.strs == nil {
		b.strs = map[string]string{}
	}
	s := string(v)
	b.strs[s] = s
	return s
}
