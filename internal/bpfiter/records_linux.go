//go:build linux

package bpfiter

import (
	"encoding/binary"
	"net/netip"
)

// Tb flags of iter.c.
const (
	tbRead     = 1
	tbV6Saddr  = 2
	tbSkFamily = 4
	tbIPv6Only = 8
)

// Rp flags of iter.c.
const (
	rpRead = 1
	rpProg = 2
)

const (
	afInet  = 2
	afInet6 = 10
)

func addr(family uint16, b [16]byte) netip.Addr {
	if family == afInet6 {
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte(b[:4]))
}

// sockOf converts one record.
func sockOf(r *iterSkRec) Sock {
	s := Sock{
		Cookie:    r.Cookie,
		Inode:     r.Ino,
		Family:    r.Family,
		Proto:     r.Proto,
		State:     r.State,
		Local:     netip.AddrPortFrom(addr(r.Family, r.Saddr), r.Sport),
		Remote:    netip.AddrPortFrom(addr(r.Family, r.Daddr), r.Dport),
		UID:       r.Uid,
		BoundDev:  r.BoundDevIf,
		ReuseAddr: r.Reuse,
		ReusePort: r.Reuseport != 0,
		V6Only:    r.Ipv6only != 0,

		ReuseportRead: r.RpFlags&rpRead != 0,
		ReuseportProg: r.RpFlags&rpProg != 0,
	}
	if r.TbFlags&tbRead != 0 {
		b := &Bucket{
			Port:          r.TbPort,
			FastReuse:     r.Fastreuse,
			FastReusePort: r.Fastreuseport,
			FastUID:       r.Fastuid,
			FastSkFamily:  r.FastSkFamily,
			FastIPv6Only:  r.FastIpv6Only != 0,
			HasRcvSaddr:   r.TbFlags&tbV6Saddr != 0,
			HasSkFamily:   r.TbFlags&tbSkFamily != 0,
			HasIPv6Only:   r.TbFlags&tbIPv6Only != 0,
		}
		// The kernel sets fastuid and the fast_* address fields only when
		// it makes fastreuseport positive (inet_csk_update_fastreuse);
		// otherwise they hold whatever the allocation held.
		if b.FastReusePort <= 0 {
			b.FastUID = 0
			b.FastSkFamily, b.FastIPv6Only = 0, false
			b.HasRcvSaddr, b.HasSkFamily, b.HasIPv6Only = false, false, false
		}
		if b.HasRcvSaddr {
			var v4 [4]byte
			// fast_rcv_saddr is a __be32 read in host order: its bytes in
			// memory are the address.
			binary.NativeEndian.PutUint32(v4[:], r.FastRcvSaddr)
			b.FastRcvSaddr = netip.AddrFrom4(v4)
			b.FastV6RcvSaddr = netip.AddrFrom16(r.FastV6RcvSaddr)
		}
		s.Bucket = b
	}
	return s
}
