package demux

import (
	"net/netip"
)

// Env holds the facts of a network namespace, and of the caller, that decide
// a bind before any other socket is looked at (docs/kernel.md B0, B6).
//
// Collection packages read it from the kernel (internal/sysenv.Load, for
// the calling thread's namespace); [DefaultEnv] gives the Linux defaults. The zero Env describes a namespace with no local address in
// which every port is unprivileged: every bind to a specific address then
// fails with EADDRNOTAVAIL.
type Env struct {
	// UnprivilegedPortStart is net.ipv4.ip_unprivileged_port_start: binding
	// a lower, non-zero port needs CAP_NET_BIND_SERVICE.
	UnprivilegedPortStart uint16
	// BindV6Only is net.ipv6.bindv6only, the default IPV6_V6ONLY of new
	// AF_INET6 sockets.
	BindV6Only bool
	// NonlocalBind is net.ipv4.ip_nonlocal_bind; NonlocalBind6 is
	// net.ipv6.ip_nonlocal_bind. Either lets a socket of that family bind an
	// address that is not local.
	NonlocalBind, NonlocalBind6 bool
	// Local lists the addresses a socket may bind: every address inside one
	// of these prefixes is local. An address configured on an ordinary
	// interface is a single-address prefix (/32 or /128); an address on a
	// loopback interface makes its whole prefix local (127.0.0.1/8 makes
	// 127.0.0.0/8 local), because the kernel adds a local route for it.
	// IPv4 broadcast addresses of configured prefixes are included too.
	Local []netip.Prefix
	// CanBindPrivileged reports whether the caller (the process that
	// runs the check) has CAP_NET_BIND_SERVICE in the namespace's user
	// namespace (root does). It is used for a request of uid 0 whose
	// BindRequest.CapNetBindService is Unknown.
	CanBindPrivileged bool
	// Interfaces maps interface names to ifindexes. It resolves the zone of
	// an IPv6 link-local address and checks BindRequest.Device; nil skips
	// both checks.
	Interfaces map[string]uint32
	// LocalPortRange is net.ipv4.ip_local_port_range, the ports bind(port 0)
	// and connect() choose from.
	LocalPortRange [2]uint16
}

// DefaultEnv returns the defaults of a fresh Linux network namespace with
// its loopback interface up, for an unprivileged caller: ports below 1024
// privileged, bindv6only off, no non-local binds, 127.0.0.0/8 and ::1 local,
// ports 32768-60999 for automatic selection.
func DefaultEnv() Env {
	return Env{
		UnprivilegedPortStart: 1024,
		Local: []netip.Prefix{
			netip.MustParsePrefix("127.0.0.0/8"),
			netip.MustParsePrefix("::1/128"),
		},
		Interfaces:     map[string]uint32{"lo": 1},
		LocalPortRange: [2]uint16{32768, 60999},
	}
}

// isLocal reports whether a may be bound without IP_FREEBIND,
// IP_TRANSPARENT or ip_nonlocal_bind. Multicast addresses and the IPv4
// limited broadcast always may (inet_addr_valid_or_nonlocal, __inet6_bind).
func (e Env) isLocal(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	if a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true
	}
	for _, p := range e.Local {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ifindex resolves an interface name or a decimal index.
func (e Env) ifindex(name string) (uint32, bool) {
	if i, ok := e.Interfaces[name]; ok {
		return i, true
	}
	var n uint32
	if name == "" {
		return 0, false
	}
	for _, c := range name {
		if c < '0' || c > '9' || n > 1<<28 {
			return 0, false
		}
		n = n*10 + uint32(c-'0')
	}
	return n, n != 0
}

// hasIfindex reports whether an interface with that index exists (true when
// Interfaces is nil, which skips the check).
func (e Env) hasIfindex(i uint32) bool {
	if e.Interfaces == nil {
		return true
	}
	for _, v := range e.Interfaces {
		if v == i {
			return true
		}
	}
	return false
}
