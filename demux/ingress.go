package demux

import (
	"errors"
	"net/netip"

	"github.com/sockscope/sockscope"
)

// IngressDevice is the device a segment to dst arrives on when it is sent
// from this host: the interface that has dst as an address, or the
// loopback interface whose prefix holds it (127.0.0.2 on lo), as the
// kernel's local route says (docs/kernel.md 0.4). It returns 0 when no
// interface owns dst.
func IngressDevice(ifaces []sockscope.Interface, dst netip.Addr) uint32 {
	dst = dst.WithZone("").Unmap()
	for _, it := range ifaces {
		for _, a := range it.Addrs {
			if a.Addr() == dst {
				return it.Index
			}
		}
	}
	for _, it := range ifaces {
		for _, a := range it.Addrs {
			if it.Loopback && a.Contains(dst) {
				return it.Index
			}
		}
	}
	return 0
}

// InterfaceIndex returns the index of the interface with that name.
func InterfaceIndex(ifaces []sockscope.Interface, name string) (uint32, bool) {
	for _, it := range ifaces {
		if it.Name == name {
			return it.Index, true
		}
	}
	return 0, false
}

// LocalPrefixes lists the local addresses of a namespace with these
// interfaces, for Segment.Local: every configured address, the whole prefix
// of an address on a loopback interface (the kernel adds a local route for
// 127.0.0.0/8, not just 127.0.0.1), and the broadcast address of each IPv4
// prefix shorter than /31.
func LocalPrefixes(ifaces []sockscope.Interface) []netip.Prefix {
	out := []netip.Prefix{}
	for _, it := range ifaces {
		for _, a := range it.Addrs {
			ip := a.Addr().WithZone("").Unmap()
			if it.Loopback {
				out = append(out, netip.PrefixFrom(ip, a.Bits()).Masked())
			} else {
				out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
			}
			if ip.Is4() && a.Bits() < 31 {
				out = append(out, netip.PrefixFrom(lastAddr4(netip.PrefixFrom(ip, a.Bits())), 32))
			}
		}
	}
	return out
}

// lastAddr4 is the last address of an IPv4 prefix, its broadcast address.
func lastAddr4(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		a[i/8] |= 1 << (7 - i%8)
	}
	return netip.AddrFrom4(a)
}

// KernelCheck is the kernel's own lookup ([sockscope.LookupSocket])
// compared with Lookup's answer.
type KernelCheck struct {
	// Asked is false when the kernel was not asked: the caller chose not
	// to, the datagram is a broadcast (the kernel's get-one lookup knows no
	// broadcast delivery), or the destination is not local (the kernel
	// would never look up a socket).
	Asked bool
	// Err says why the kernel could not answer; nil when it answered,
	// including "no socket".
	Err error
	// Found reports whether the kernel returned a socket: Reply.
	Found bool
	Reply sockscope.LookupReply
	// Agrees reports, when the kernel answered, whether its socket is the
	// predicted one (or one of the candidates), or both found none.
	Agrees bool
}

// CompareKernel compares res with the kernel's reply (or the error of its
// lookup).
func CompareKernel(res LookupResult, reply sockscope.LookupReply, err error) KernelCheck {
	k := KernelCheck{Asked: true}
	switch {
	case errors.Is(err, sockscope.ErrNoSocket):
		k.Agrees = res.Verdict == None
	case err != nil:
		k.Err = err
	default:
		k.Found, k.Reply = true, reply
		for _, c := range res.Candidates {
			if c.Cookie != 0 && c.Cookie == reply.Cookie {
				k.Agrees = true
			}
		}
	}
	return k
}
