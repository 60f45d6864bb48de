//go:build linux

package sockdiag

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// initialBufSize is the receive buffer. The kernel sizes each dump
	// datagram from the largest earlier recv, capped near 32 KiB (unless
	// one socket needs more), so 64 KiB holds any of them; a datagram that
	// fills the buffer is treated as truncated, the buffer doubles and the
	// dump restarts.
	initialBufSize = 64 << 10
	maxBufSize     = 16 << 20
	// sockRcvBuf is requested with SO_RCVBUF (capped by net.core.rmem_max).
	sockRcvBuf = 1 << 20
	// recvTimeout bounds each recv; the kernel answers at once, so a
	// timeout means something is badly wrong.
	recvTimeout = 10 * time.Second
	// dumpTries bounds restarts after NLM_F_DUMP_INTR or truncation.
	dumpTries = 3
	// maxReads bounds the datagrams of one reply (~32 KiB each).
	maxReads = 1 << 20
	// maxEINTR bounds retries of one interrupted syscall.
	maxEINTR = 100
)

var (
	errTruncated = errors.New("datagram truncated")
	errClosed    = fmt.Errorf("sockdiag: %w", net.ErrClosed)
)

// Conn is a NETLINK_SOCK_DIAG socket. It reports the sockets of the network
// namespace it was created in, whatever thread later uses it.
//
// A Conn is not safe for concurrent use: it owns one receive buffer and one
// reused record per kind, and a dump must finish before the next request.
// The zero Conn is not usable: create one with Dial.
type Conn struct {
	fd     int
	portID uint32
	seq    uint32
	netns  uint64 // inode of the netns, 0 if /proc was unreadable
	buf    []byte
	req    [maxRequestLen]byte
	inet   InetRecord
	unix   UnixRecord
	// capture, if set, sees every datagram received (tests record
	// fixtures with it).
	capture func([]byte)
	// broken is set when the socket's state is unknown (a reply could not
	// be drained); every later call returns it.
	broken error
}

// Dial opens a NETLINK_SOCK_DIAG socket in the network namespace of the
// calling OS thread. To inspect another namespace, call Dial on a thread
// locked with runtime.LockOSThread that has entered it with setns(2); the
// socket keeps that namespace after the thread returns to its own, so the
// Conn may then be used from any goroutine (one at a time). Dumps need no
// privilege.
func Dial() (*Conn, error) {
	// Keep socket() and the netns stat on the same thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("sockdiag: socket: %w", err)
	}
	c := &Conn{fd: fd, buf: make([]byte, initialBufSize)}
	if err := c.init(); err != nil {
		unix.Close(fd)
		return nil, err
	}
	var st unix.Stat_t
	if unix.Stat("/proc/thread-self/ns/net", &st) == nil {
		c.netns = st.Ino
	}
	return c, nil
}

func (c *Conn) init() error {
	if err := unix.Bind(c.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("sockdiag: bind: %w", err)
	}
	// Connected to the kernel, the socket accepts unicasts only from it,
	// so plain read(2) and write(2) suffice and do not allocate.
	if err := unix.Connect(c.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("sockdiag: connect: %w", err)
	}
	sa, err := unix.Getsockname(c.fd)
	if err != nil {
		return fmt.Errorf("sockdiag: getsockname: %w", err)
	}
	nl, ok := sa.(*unix.SockaddrNetlink)
	if !ok {
		return fmt.Errorf("sockdiag: getsockname: unexpected address %T", sa)
	}
	c.portID = nl.Pid
	// Best effort: a larger queue only lets the kernel run ahead.
	_ = unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, sockRcvBuf)
	tv := unix.NsecToTimeval(recvTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("sockdiag: set SO_RCVTIMEO: %w", err)
	}
	return nil
}

// Close closes the socket. Calls after the first return an error wrapping
// net.ErrClosed.
func (c *Conn) Close() error {
	if c.buf == nil {
		return errClosed
	}
	err := unix.Close(c.fd)
	c.fd, c.buf = -1, nil
	if err != nil {
		return fmt.Errorf("sockdiag: close: %w", err)
	}
	return nil
}

// DumpInet streams the inet sockets that req selects, calling fn once per
// socket. The *InetRecord passed to fn is the same on every call and is
// overwritten by the next message: copy what you keep. An error from fn stops
// the dump (the rest of the reply is read and discarded) and is returned
// unchanged.
//
// A dump is not a snapshot: the kernel resumes from a hash position between
// datagrams, so under churn a socket may be missed or reported twice, and a
// restart after NLM_F_DUMP_INTR (up to 3 tries) reports sockets again.
// Deduplicate by Cookie. EINTR is retried transparently. A kernel without a
// handler for the protocol (RAW, UDP-Lite) yields an error wrapping
// ErrNotSupported.
//
// DumpInet allocates nothing, per message or per dump, on the error-free
// path. Measured (BenchmarkDumpTCP in bench/netlinkcmp, Linux 6.18, 2
// shared vCPUs under load, 2,000-3,000 loopback TCP sockets): DumpInet 1.4-2.8 ms/op, 0 allocs/op;
// github.com/mdlayher/netlink Conn.Execute + ParseInetMsg 4.0-7.5 ms/op,
// ~0.9 allocs and ~300 B per socket (1,950 allocs, 610 KB at 2,000). Under
// heavier load both took 33-41 ms/op: the kernel's hash walk dominates, so
// the gain is mostly in garbage, not latency. mdlayher/netlink is therefore
// not used here (the comparison is a module of its own).
func (c *Conn) DumpInet(req InetRequest, fn func(*InetRecord) error) error {
	if err := c.check(); err != nil {
		return fmt.Errorf("sockdiag: dump %s: %w", inetName(req.Family, req.Protocol), err)
	}
	if req.Family == 0 && req.Protocol != ProtoTCP {
		return fmt.Errorf("sockdiag: dump %s: both families in one dump (Family 0) work for TCP only", inetName(req.Family, req.Protocol))
	}
	var userErr error
	handle := func(p []byte) error {
		if err := ParseInetMsg(p, &c.inet); err != nil {
			return err
		}
		c.inet.Protocol = req.Protocol
		if err := fn(&c.inet); err != nil {
			userErr = err
			return err
		}
		return nil
	}
	err := c.dump(func(seq uint32) []byte { return appendInetRequest(c.req[:0], req, seq) }, handle)
	if userErr != nil {
		return userErr
	}
	if err != nil {
		return c.wrap("dump "+inetName(req.Family, req.Protocol), err)
	}
	return nil
}

// DumpUnix streams the AF_UNIX sockets that req selects, calling fn once per
// socket, with the same reuse, error and retry rules as DumpInet: the
// *UnixRecord (its Icons included) is overwritten by the next message.
func (c *Conn) DumpUnix(req UnixRequest, fn func(*UnixRecord) error) error {
	if err := c.check(); err != nil {
		return fmt.Errorf("sockdiag: dump unix: %w", err)
	}
	var userErr error
	handle := func(p []byte) error {
		if err := ParseUnixMsg(p, &c.unix); err != nil {
			return err
		}
		if err := fn(&c.unix); err != nil {
			userErr = err
			return err
		}
		return nil
	}
	err := c.dump(func(seq uint32) []byte { return appendUnixRequest(c.req[:0], req, seq) }, handle)
	if userErr != nil {
		return userErr
	}
	if err != nil {
		return c.wrap("dump unix", err)
	}
	return nil
}

// LookupInet runs the kernel's own socket lookup (a non-dump
// SOCK_DIAG_BY_FAMILY request) for a segment or datagram travelling from src
// (the remote sender) to dst (a local address), received on device ifindex
// (0 = none), and returns the socket that would get it: for TCP an
// established (or TIME_WAIT/request) socket with that 4-tuple, else a
// listener chosen as for a SYN (exact address before wildcard, sk_lookup
// BPF and reuseport groups included); for UDP the best-scoring socket.
// The record's Src is the socket's local side, as in dumps.
//
// Conventions: the API always takes the packet's direction. The request
// encodes it as each handler expects: TCP puts dst (the packet's
// destination) in id.src/sport and src in id.dst/dport; UDP's get-one swaps
// them (id.src = the packet's source). Family is AF_INET or AF_INET6 (for
// AF_INET6, IPv4 addresses are sent v4-mapped); protocol is ProtoTCP or
// ProtoUDP. No socket gives an error wrapping ErrNotFound.
func (c *Conn) LookupInet(family, protocol uint8, src, dst netip.AddrPort, ifindex uint32) (*InetRecord, error) {
	name := inetName(family, protocol)
	op := fmt.Sprintf("lookup %s %s->%s", name, src, dst)
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("sockdiag: %s: %w", op, err)
	}
	if family != afInet && family != afInet6 {
		return nil, fmt.Errorf("sockdiag: %s: family %d is not AF_INET or AF_INET6", op, family)
	}
	if protocol != ProtoTCP && protocol != ProtoUDP {
		return nil, fmt.Errorf("sockdiag: %s: protocol %d: lookup supports tcp and udp only", op, protocol)
	}
	if !src.Addr().IsValid() || !dst.Addr().IsValid() {
		return nil, fmt.Errorf("sockdiag: %s: invalid address", op)
	}
	if family == afInet && !(src.Addr().Unmap().Is4() && dst.Addr().Unmap().Is4()) {
		return nil, fmt.Errorf("sockdiag: %s: IPv6 address in an AF_INET lookup", op)
	}
	var rec *InetRecord
	handle := func(p []byte) error {
		r := new(InetRecord)
		if err := ParseInetMsg(p, r); err != nil {
			return err
		}
		r.Protocol = protocol
		rec = r
		return nil
	}
	err := c.roundTrip(func(seq uint32) []byte {
		return appendInetLookup(c.req[:0], family, protocol, src, dst, ifindex, seq)
	}, handle)
	if errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("sockdiag: %s%s: %w", op, c.where(), ErrNotFound)
	}
	if err != nil {
		return nil, c.wrap(op, err)
	}
	if rec == nil {
		return nil, fmt.Errorf("sockdiag: %s%s: %w", op, c.where(), ErrNotFound)
	}
	return rec, nil
}

func (c *Conn) check() error {
	if c.buf == nil { // closed, or not from Dial
		return net.ErrClosed
	}
	return c.broken
}

func (c *Conn) where() string {
	if c.netns == 0 {
		return ""
	}
	return fmt.Sprintf(" in netns %d", c.netns)
}

// wrap adds context to err and maps a missing handler to ErrNotSupported.
func (c *Conn) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("sockdiag: %s%s: %w (%w)", op, c.where(), ErrNotSupported, err)
	}
	return fmt.Errorf("sockdiag: %s%s: %w", op, c.where(), err)
}

// dump sends the request build returns for a fresh sequence number and
// walks the reply, restarting on NLM_F_DUMP_INTR or a truncated datagram.
func (c *Conn) dump(build func(seq uint32) []byte, fn func([]byte) error) error {
	var err error
	for range dumpTries {
		err = c.roundTrip(build, fn)
		switch {
		case errors.Is(err, errDumpInterrupted):
			continue
		case errors.Is(err, errTruncated):
			if len(c.buf) >= maxBufSize {
				return err
			}
			c.buf = make([]byte, 2*len(c.buf))
			continue
		}
		return err
	}
	return err
}

// roundTrip sends one request and walks its reply until NLMSG_DONE or
// NLMSG_ERROR. On an error before the end it drains the reply, so the socket
// is ready for the next request; if that fails the Conn is marked broken.
func (c *Conn) roundTrip(build func(seq uint32) []byte, fn func([]byte) error) error {
	c.seq++
	seq := c.seq
	if err := c.send(build(seq)); err != nil {
		return err
	}
	for range maxReads {
		n, err := c.recv()
		if err != nil {
			c.broken = fmt.Errorf("reply unreadable: %w", err)
			return err
		}
		if c.capture != nil {
			c.capture(c.buf[:n])
		}
		var done bool
		if n == len(c.buf) {
			err = errTruncated
		} else {
			done, err = walkMessages(c.buf[:n], seq, c.portID, fn)
		}
		if me, ok := err.(msgError); ok { // walkMessages returns it unwrapped
			err = unix.Errno(me)
		}
		if done {
			return err
		}
		if err != nil {
			c.drain(seq)
			return err
		}
	}
	c.broken = errors.New("reply too long")
	return c.broken
}

// drain reads and discards the rest of the reply to seq.
func (c *Conn) drain(seq uint32) {
	nop := func([]byte) error { return nil }
	for range maxReads {
		n, err := c.recv()
		if err != nil {
			c.broken = fmt.Errorf("reply could not be drained: %w", err)
			return
		}
		if n == len(c.buf) {
			continue // a truncated datagram; the end is in a later one
		}
		if done, _ := walkMessages(c.buf[:n], seq, c.portID, nop); done {
			return
		}
	}
	c.broken = errors.New("reply could not be drained")
}

func (c *Conn) send(b []byte) error {
	for range maxEINTR {
		_, err := unix.Write(c.fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("send: %w", err)
		}
		return nil
	}
	return fmt.Errorf("send: %w", unix.EINTR)
}

func (c *Conn) recv() (int, error) {
	for range maxEINTR {
		n, err := unix.Read(c.fd, c.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("recv: %w", err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("recv: %w", unix.EINTR)
}
