package sockscope

import (
	"net/netip"
	"strconv"
)

// Port is a transport-layer port: a protocol and a 16-bit number. It is a
// service identifier, not an object: it has no state and no owner. The zero
// Port means "no port" (raw and Unix sockets).
type Port struct {
	Proto Proto
	Num   uint16
}

// String returns "tcp/443".
func (p Port) String() string { return p.Proto.String() + "/" + strconv.Itoa(int(p.Num)) }

// Endpoint is one side of a conversation: protocol, address and port
// (RFC 793's "socket"). Many sockets may share one local endpoint. The zero
// Endpoint is not valid.
type Endpoint struct {
	Proto Proto
	netip.AddrPort
	// V6Only is the IPV6_V6ONLY flag of the socket the endpoint belongs to,
	// where known. It decides how the IPv6 unspecified address prints: "*"
	// for a dual-stack socket, "[::]" for an IPv6-only one.
	V6Only Tristate
}

// String returns the endpoint as ss prints it: "127.0.0.1:80", "[::1]:80",
// "0.0.0.0:80", "[::]:80" (IPv6 only) or "*:80" (dual-stack [::]). See
// [FormatSocketAddrPort].
func (e Endpoint) String() string { return FormatSocketAddrPort(e.AddrPort, e.V6Only) }

// FormatAddrPort formats an address and port as `ss -n` prints them, for an
// address that does not belong to a dual-stack socket: "127.0.0.1:80",
// "0.0.0.0:80", "[::1]:80", "[::]:80", "[::ffff:127.0.0.1]:80"; port 0 is
// "*", and the invalid address is "*" ("*:*" for the zero AddrPort). A
// socket's own addresses print with [FormatSocketAddrPort] (or
// [Socket.LocalString]), which knows the dual-stack case.
func FormatAddrPort(ap netip.AddrPort) string {
	return string(AppendAddrPort(make([]byte, 0, 48), ap, Yes))
}

// FormatSocketAddrPort formats one side of an inet socket as ss prints it
// (iproute2 6.x, inet_addr_print): as [FormatAddrPort], except that the IPv6
// unspecified address "::" of a socket that is not IPV6_V6ONLY prints as "*"
// (the socket also accepts IPv4), both in the local and in the remote
// address. v6only Unknown prints as "*" too: ss does the same when the
// kernel does not send INET_DIAG_SKV6ONLY (it sends it only for LISTEN and
// CLOSE sockets, and /proc/net never tells it): docs/kernel.md S1, D6.
func FormatSocketAddrPort(ap netip.AddrPort, v6only Tristate) string {
	return string(AppendAddrPort(make([]byte, 0, 48), ap, v6only))
}

// AppendAddrPort appends what FormatSocketAddrPort(ap, v6only) returns.
func AppendAddrPort(b []byte, ap netip.AddrPort, v6only Tristate) []byte {
	b = AppendAddr(b, ap.Addr(), v6only)
	b = append(b, ':')
	if ap.Port() == 0 {
		return append(b, '*')
	}
	return strconv.AppendUint(b, uint64(ap.Port()), 10)
}

// AppendAddr appends the address part of what AppendAddrPort appends:
// "127.0.0.1", "[::1]", "*". IPv6 addresses are written as glibc's
// inet_ntop writes them (RFC 5952, and "::a.b.c.d" for an IPv4-compatible
// address), in brackets.
func AppendAddr(b []byte, a netip.Addr, v6only Tristate) []byte {
	switch {
	case !a.IsValid():
		return append(b, '*')
	case a.Is4():
		return a.AppendTo(b)
	case a == netip.IPv6Unspecified() && v6only != Yes:
		return append(b, '*')
	}
	b = append(b, '[')
	if a16 := a.As16(); a.Zone() == "" && !a.Is4In6() && a16[12]|a16[13] != 0 && isZero(a16[:12]) {
		// inet_ntop prints an IPv4-compatible address (::/96 with a
		// non-zero seventh group) as "::a.b.c.d"; netip as "::7f00:1".
		b = append(b, ':', ':')
		b = netip.AddrFrom4([4]byte(a16[12:])).AppendTo(b)
	} else {
		b = a.AppendTo(b)
	}
	return append(b, ']')
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Connection is a 5-tuple: protocol, local and remote endpoint. Within one
// network namespace it identifies at most one connected socket at each end.
type Connection struct {
	Proto         Proto
	Local, Remote netip.AddrPort
}

// Reverse returns the connection as seen from the other end.
func (c Connection) Reverse() Connection {
	return Connection{Proto: c.Proto, Local: c.Remote, Remote: c.Local}
}

// String returns "tcp 127.0.0.1:5000 -> 127.0.0.1:80".
func (c Connection) String() string {
	return c.Proto.String() + " " + FormatAddrPort(c.Local) + " -> " + FormatAddrPort(c.Remote)
}
