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
}

// String returns the endpoint as ss prints it, e.g. "127.0.0.1:80", "[::1]:80"
// or "*:80" for a wildcard address.
func (e Endpoint) String() string { return FormatAddrPort(e.AddrPort) }

// FormatAddrPort formats an address and port as ss does: "127.0.0.1:80",
// "[::1]:80", "*:80" for the unspecified address, "*:*" for nothing, and a
// zone as "[fe80::1]%eth0:80" is not attempted (the zone is kept in brackets).
func FormatAddrPort(ap netip.AddrPort) string {
	a := ap.Addr()
	port := "*"
	if ap.Port() != 0 {
		port = strconv.Itoa(int(ap.Port()))
	}
	if !a.IsValid() || a.IsUnspecified() {
		return "*:" + port
	}
	if a.Is4() {
		return a.String() + ":" + port
	}
	return "[" + a.String() + "]:" + port
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
