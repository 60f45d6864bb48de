package sockscope

import (
	"context"
	"fmt"
	"net"
	"net/netip"
)

// Interface is a network interface of a namespace.
type Interface struct {
	Index uint32
	Name  string
	// Loopback is set for a loopback device (IFF_LOOPBACK).
	Loopback bool
	// Addrs are its addresses with their prefix lengths; IPv4 addresses
	// are never v4-mapped.
	Addrs []netip.Prefix
}

// Interfaces lists the interfaces of the one network namespace opts.NetNS
// names, or of the caller's when it names none (only NetNS and ProcRoot of
// opts are used). An interface whose addresses cannot be read is listed
// without them.
func Interfaces(ctx context.Context, opts Options) ([]Interface, error) {
	var out []Interface
	err := InNetNS(ctx, opts, func() error {
		// net.Interfaces opens its netlink socket on this thread, so it
		// reads the namespace the thread is in.
		its, err := net.Interfaces()
		if err != nil {
			return err
		}
		out = make([]Interface, 0, len(its))
		for _, it := range its {
			x := Interface{Index: uint32(it.Index), Name: it.Name, Loopback: it.Flags&net.FlagLoopback != 0}
			addrs, err := it.Addrs()
			if err == nil {
				for _, a := range addrs {
					n, ok := a.(*net.IPNet)
					if !ok {
						continue
					}
					ip, ok := netip.AddrFromSlice(n.IP)
					if !ok {
						continue
					}
					ones, _ := n.Mask.Size()
					if ip = ip.Unmap(); ip.Is4() && ones > 32 {
						ones -= 96 // a 16-byte mask on an IPv4 address
					}
					x.Addrs = append(x.Addrs, netip.PrefixFrom(ip, ones))
				}
			}
			out = append(out, x)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	return out, nil
}
