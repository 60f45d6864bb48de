//go:build linux

package sockdiag

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// DumpPacket streams the namespace's AF_PACKET sockets (packet_diag),
// calling fn once per socket, with DumpInet's reuse, error and retry rules.
// A kernel without packet_diag yields an error wrapping ErrNotSupported.
func (c *Conn) DumpPacket(fn func(*PacketRecord) error) error {
	var rec PacketRecord
	return c.dumpOther("dump packet", func(seq uint32) []byte { return appendPacketRequest(c.req[:0], seq) }, func(p []byte) error {
		if err := ParsePacketMsg(p, &rec); err != nil {
			return err
		}
		return fn(&rec)
	})
}

// DumpNetlink streams the namespace's AF_NETLINK sockets of every protocol
// (netlink_diag), as DumpPacket does.
func (c *Conn) DumpNetlink(fn func(*NetlinkRecord) error) error {
	var rec NetlinkRecord
	return c.dumpOther("dump netlink", func(seq uint32) []byte { return appendNetlinkRequest(c.req[:0], seq) }, func(p []byte) error {
		if err := ParseNetlinkMsg(p, &rec); err != nil {
			return err
		}
		return fn(&rec)
	})
}

// DumpMPTCP streams family's MPTCP sockets (mptcp_diag), as DumpInet does,
// with each one's local token (ok false when the kernel did not send it);
// the record's Protocol is 0 (IPPROTO_MPTCP does not fit its byte).
func (c *Conn) DumpMPTCP(family uint8, fn func(r *InetRecord, token uint32, ok bool) error) error {
	var rec InetRecord
	op := "dump mptcp4"
	if family == afInet6 {
		op = "dump mptcp6"
	}
	return c.dumpOther(op, func(seq uint32) []byte { return appendMPTCPRequest(c.req[:0], family, seq) }, func(p []byte) error {
		if err := ParseInetMsg(p, &rec); err != nil {
			return err
		}
		rec.Protocol = 0
		tok, ok := MPTCPToken(p)
		return fn(&rec, tok, ok)
	})
}

// DumpSubflows streams family's TCP sockets that are MPTCP subflows, with
// the local token of the MPTCP socket each belongs to.
func (c *Conn) DumpSubflows(family uint8, fn func(r *InetRecord, token uint32) error) error {
	var rec InetRecord
	req := InetRequest{Family: family, Protocol: ProtoTCP, Ext: extInfo}
	return c.dumpOther("dump "+inetName(family, ProtoTCP)+" subflows", func(seq uint32) []byte { return appendInetRequest(c.req[:0], req, seq) }, func(p []byte) error {
		tok, ok := SubflowToken(p)
		if !ok {
			return nil
		}
		if err := ParseInetMsg(p, &rec); err != nil {
			return err
		}
		rec.Protocol = ProtoTCP
		return fn(&rec, tok)
	})
}

// Probe asks whether the kernel can dump sockets of family (and, for
// AF_INET/AF_INET6, protocol): nil if it can, an error wrapping
// ErrNotSupported if it has no such diag handler (the kernel says ENOENT,
// docs/kernel.md K2),
// another error otherwise. The sockets are read and discarded.
func (c *Conn) Probe(family uint8, protocol uint32) error {
	op := fmt.Sprintf("probe family %d protocol %d", family, protocol)
	return c.dumpOther(op, func(seq uint32) []byte { return appendProbeRequest(c.req[:0], family, protocol, seq) }, func([]byte) error { return nil })
}

// dumpOther runs a dump whose messages handle decodes; errors are wrapped
// with op, a missing handler as ErrNotSupported.
func (c *Conn) dumpOther(op string, build func(seq uint32) []byte, handle func([]byte) error) error {
	if err := c.check(); err != nil {
		return fmt.Errorf("sockdiag: %s: %w", op, err)
	}
	var userErr error
	err := c.dump(build, func(p []byte) error {
		if err := handle(p); err != nil {
			if !errors.Is(err, errMalformed) {
				userErr = err
			}
			return err
		}
		return nil
	})
	if userErr != nil {
		return userErr
	}
	if err != nil {
		if errors.Is(err, unix.EINVAL) {
			// sock_diag says EINVAL for a family beyond AF_MAX.
			return fmt.Errorf("sockdiag: %s%s: %w (%w)", op, c.where(), ErrNotSupported, err)
		}
		return c.wrap(op, err)
	}
	return nil
}
