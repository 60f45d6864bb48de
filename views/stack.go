package views

import "github.com/sockscope/sockscope"

// Stack says which IP versions a listener receives.
type Stack uint8

// Stack values.
const (
	// NotIP is a socket with no IP address (Unix).
	NotIP Stack = iota
	// IPv4 receives IPv4 only: an AF_INET socket, or an AF_INET6 socket
	// bound to a v4-mapped address (::ffff:a.b.c.d).
	IPv4
	// IPv6Only receives IPv6 only: an AF_INET6 socket with IPV6_V6ONLY set,
	// or bound to a specific IPv6 address, which no IPv4 packet can match.
	IPv6Only
	// DualStack receives both: an AF_INET6 socket bound to the wildcard
	// address [::] with IPV6_V6ONLY unset.
	DualStack
	// IPv6Unknown is an AF_INET6 wildcard socket whose IPV6_V6ONLY the
	// source did not report (/proc/net): IPv6, and IPv4 too unless v6only.
	IPv6Unknown
)

// String returns "IPv4", "IPv6 only", "dual-stack", "IPv6 (v6only unknown)",
// or "" for NotIP.
func (k Stack) String() string {
	switch k {
	case IPv4:
		return "IPv4"
	case IPv6Only:
		return "IPv6 only"
	case DualStack:
		return "dual-stack"
	case IPv6Unknown:
		return "IPv6 (v6only unknown)"
	}
	return ""
}

// StackOf says which IP versions s receives: the one place where a
// listener's family, address and IPV6_V6ONLY become a label. For an
// AF_INET6 socket only the wildcard address depends on IPV6_V6ONLY: a
// specific IPv6 address matches no IPv4 packet, and a v4-mapped address
// matches IPv4 packets only (the kernel refuses it under IPV6_V6ONLY):
// docs/kernel.md B5.
func StackOf(s *sockscope.Socket) Stack {
	switch s.Family {
	case sockscope.FamilyInet:
		return IPv4
	case sockscope.FamilyInet6:
	default:
		return NotIP
	}
	a := s.Local.Addr()
	switch {
	case a.Is4In6():
		return IPv4
	case !a.IsValid() || a.IsUnspecified():
		switch s.V6Only {
		case sockscope.Yes:
			return IPv6Only
		case sockscope.No:
			return DualStack
		}
		return IPv6Unknown
	}
	return IPv6Only
}
