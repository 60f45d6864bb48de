package sysenv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/sockscope/sockscope/demux"
)

// Load reads the bind environment of the network namespace of the
// calling OS thread: the sysctls under /proc/sys/net (which show the netns
// of the thread that opens them), the interfaces and their addresses
// (net.Interfaces, a netlink socket opened on this thread), and the
// thread's effective CAP_NET_BIND_SERVICE (/proc/thread-self/status).
//
// To read another namespace, call Load from a goroutine locked to an OS
// thread that has entered it (internal/netns.Do). Load needs no
// privilege. A sysctl that cannot be read keeps its demux.DefaultEnv value
// and is reported in the returned error, together with the Env.
func Load() (demux.Env, error) {
	env := demux.DefaultEnv()
	env.Local = nil
	env.Interfaces = map[string]uint32{}
	var errs []error

	readInt := func(path string, set func(int)) {
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("sysenv: read %s: %w", path, err))
			return
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			errs = append(errs, fmt.Errorf("sysenv: read %s: empty", path))
			return
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			errs = append(errs, fmt.Errorf("sysenv: parse %s: %w", path, err))
			return
		}
		set(n)
	}
	readInt("/proc/sys/net/ipv4/ip_unprivileged_port_start", func(n int) {
		env.UnprivilegedPortStart = uint16(min(max(n, 0), 65535))
	})
	readInt("/proc/sys/net/ipv6/bindv6only", func(n int) { env.BindV6Only = n != 0 })
	readInt("/proc/sys/net/ipv4/ip_nonlocal_bind", func(n int) { env.NonlocalBind = n != 0 })
	readInt("/proc/sys/net/ipv6/ip_nonlocal_bind", func(n int) { env.NonlocalBind6 = n != 0 })
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err != nil {
		errs = append(errs, fmt.Errorf("sysenv: read ip_local_port_range: %w", err))
	} else if lo, hi, ok := parseRange(b); ok {
		env.LocalPortRange = [2]uint16{lo, hi}
	}

	if c, err := capNetBindService(); err != nil {
		errs = append(errs, err)
	} else {
		env.CanBindPrivileged = c
	}

	ifs, err := net.Interfaces()
	if err != nil {
		errs = append(errs, fmt.Errorf("sysenv: list interfaces: %w", err))
	}
	for _, ifc := range ifs {
		env.Interfaces[ifc.Name] = uint32(ifc.Index)
		addrs, err := ifc.Addrs()
		if err != nil {
			errs = append(errs, fmt.Errorf("sysenv: addresses of %s: %w", ifc.Name, err))
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			ones, _ := ipn.Mask.Size()
			pfx := netip.PrefixFrom(ip, ones)
			if ifc.Flags&net.FlagLoopback != 0 {
				env.Local = append(env.Local, pfx.Masked())
			} else {
				env.Local = append(env.Local, netip.PrefixFrom(ip, ip.BitLen()))
			}
			if ip.Is4() && ones < 31 {
				env.Local = append(env.Local, netip.PrefixFrom(broadcast(pfx), 32))
			}
		}
	}
	return env, errors.Join(errs...)
}

func parseRange(b []byte) (lo, hi uint16, ok bool) {
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, false
	}
	l, err1 := strconv.ParseUint(f[0], 10, 16)
	h, err2 := strconv.ParseUint(f[1], 10, 16)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uint16(l), uint16(h), true
}

// broadcast returns the last address of an IPv4 prefix.
func broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	bits := p.Bits()
	for i := bits; i < 32; i++ {
		a[i/8] |= 1 << (7 - i%8)
	}
	return netip.AddrFrom4(a)
}

// capNetBindService reports whether the calling thread has
// CAP_NET_BIND_SERVICE in its effective set (CapEff in
// /proc/thread-self/status).
func capNetBindService() (bool, error) {
	const capBit = 10 // CAP_NET_BIND_SERVICE
	b, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		return false, fmt.Errorf("sysenv: read capabilities: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return false, fmt.Errorf("sysenv: parse CapEff %q: %w", v, err)
			}
			return n&(1<<capBit) != 0, nil
		}
	}
	return false, errors.New("sysenv: no CapEff in /proc/thread-self/status")
}
