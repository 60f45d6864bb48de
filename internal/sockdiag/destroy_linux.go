//go:build linux

package sockdiag

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Destroy closes one inet socket with SOCK_DESTROY (docs/kernel.md K1), as ss -K does: the
// kernel aborts it as if it had failed with ECONNABORTED (a TCP socket
// sends a reset to its peer; its holder's next call fails with
// ECONNABORTED). The socket must be in the namespace the Conn was dialled
// in. It needs CAP_NET_ADMIN in that namespace's user namespace (EPERM
// otherwise) and a kernel built with CONFIG_INET_DIAG_DESTROY (EOPNOTSUPP
// otherwise, also for protocols without a destroy handler). A socket that
// is gone gives ENOENT, and one whose 4-tuple now belongs to another
// socket (a different cookie) ESTALE: the kernel never closes a socket
// other than the one named. The error wraps the kernel's errno.
//
// For UDP the kernel versions disagree on which id fields hold the local
// end; when the lookup finds nothing, the request is sent again with the
// ends swapped (the cookie still guards against the wrong socket).
func (c *Conn) Destroy(r DestroyRequest) error {
	op := fmt.Sprintf("destroy %s %s->%s", inetName(r.Family, r.Protocol), r.Local, r.Remote)
	if err := c.check(); err != nil {
		return fmt.Errorf("sockdiag: %s: %w", op, err)
	}
	if r.Family != afInet && r.Family != afInet6 {
		return fmt.Errorf("sockdiag: %s: family %d is not AF_INET or AF_INET6", op, r.Family)
	}
	nop := func([]byte) error { return nil }
	err := c.roundTrip(func(seq uint32) []byte { return appendDestroyRequest(c.req[:0], r, seq) }, nop)
	if errors.Is(err, unix.ENOENT) && r.Protocol != ProtoTCP && r.Remote != r.Local {
		s := r
		s.Swap = !r.Swap
		if err2 := c.roundTrip(func(seq uint32) []byte { return appendDestroyRequest(c.req[:0], s, seq) }, nop); !errors.Is(err2, unix.ENOENT) {
			err = err2
		}
	}
	if err != nil {
		return fmt.Errorf("sockdiag: %s%s: %w", op, c.where(), err)
	}
	return nil
}
