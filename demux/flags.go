package demux

import "github.com/sockscope/sockscope"

// Flags are socket options of an existing socket that sock_diag does not
// show. Unknown means "not known"; the checker then answers for both values.
type Flags struct {
	ReuseAddr sockscope.Tristate // SO_REUSEADDR
	ReusePort sockscope.Tristate // SO_REUSEPORT
	// V6Only is IPV6_V6ONLY of an AF_INET6 socket. It is used only where
	// the snapshot does not tell (sock_diag reports it for LISTEN and
	// unconnected sockets only).
	V6Only sockscope.Tristate
}

// FlagFunc tells the hidden options of an existing socket. A nil FlagFunc
// knows nothing. internal/sysenv.ReadFlags is one; tests use one that knows
// the truth.
type FlagFunc func(*sockscope.Socket) Flags
