package cli

import (
	"net"
	"net/netip"
)

type iface struct {
	index    uint32
	loopback bool
	addrs    []netip.Prefix
}

// netInterfaces lists the calling thread's namespace's interfaces.
func netInterfaces() ([]iface, error) {
	its, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	out := make([]iface, 0, len(its))
	for _, it := range its {
		x := iface{index: uint32(it.Index), loopback: it.Flags&net.FlagLoopback != 0}
		addrs, err := it.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				ip, _ := netip.AddrFromSlice(n.IP)
				ones, _ := n.Mask.Size()
				x.addrs = append(x.addrs, netip.PrefixFrom(ip.Unmap(), ones))
			}
		}
		out = append(out, x)
	}
	return out, nil
}
