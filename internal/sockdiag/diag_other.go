//go:build !linux

package sockdiag

import (
	"fmt"
	"net/netip"
	"runtime"
)

// errNotSupportedOnOS is returned by every operation outside Linux.
var errNotSupportedOnOS = fmt.Errorf("sockdiag: sock_diag netlink: %w on %s", ErrNotSupported, runtime.GOOS)

// Conn is a NETLINK_SOCK_DIAG socket. Outside Linux it cannot be created.
type Conn struct{}

// Dial returns an error wrapping ErrNotSupported: sock_diag exists only on
// Linux.
func Dial() (*Conn, error) { return nil, errNotSupportedOnOS }

// Close returns an error wrapping ErrNotSupported.
func (c *Conn) Close() error { return errNotSupportedOnOS }

// DumpInet returns an error wrapping ErrNotSupported.
func (c *Conn) DumpInet(req InetRequest, fn func(*InetRecord) error) error {
	return errNotSupportedOnOS
}

// DumpUnix returns an error wrapping ErrNotSupported.
func (c *Conn) DumpUnix(req UnixRequest, fn func(*UnixRecord) error) error {
	return errNotSupportedOnOS
}

// LookupInet returns an error wrapping ErrNotSupported.
func (c *Conn) LookupInet(family, protocol uint8, src, dst netip.AddrPort, ifindex uint32) (*InetRecord, error) {
	return nil, errNotSupportedOnOS
}

// Destroy returns an error wrapping ErrNotSupported.
func (c *Conn) Destroy(r DestroyRequest) error { return errNotSupportedOnOS }

// DumpPacket returns an error wrapping ErrNotSupported.
func (c *Conn) DumpPacket(fn func(*PacketRecord) error) error { return errNotSupportedOnOS }

// DumpNetlink returns an error wrapping ErrNotSupported.
func (c *Conn) DumpNetlink(fn func(*NetlinkRecord) error) error { return errNotSupportedOnOS }

// DumpMPTCP returns an error wrapping ErrNotSupported.
func (c *Conn) DumpMPTCP(family uint8, fn func(r *InetRecord, token uint32, ok bool) error) error {
	return errNotSupportedOnOS
}

// DumpSubflows returns an error wrapping ErrNotSupported.
func (c *Conn) DumpSubflows(family uint8, fn func(r *InetRecord, token uint32) error) error {
	return errNotSupportedOnOS
}

// Probe returns an error wrapping ErrNotSupported.
func (c *Conn) Probe(family uint8, protocol uint32) error { return errNotSupportedOnOS }
