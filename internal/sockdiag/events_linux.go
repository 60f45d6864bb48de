//go:build linux

package sockdiag

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Destroy-event multicast groups of NETLINK_SOCK_DIAG
// (uapi/linux/sock_diag.h, enum sknetlink_groups).
const (
	groupInetTCPDestroy  = 1
	groupInetUDPDestroy  = 2
	groupInet6TCPDestroy = 3
	groupInet6UDPDestroy = 4
)

// eventBufSize holds any one event: an inet_diag_msg, a few attributes
// and a final tcp_info, a few hundred bytes. A datagram that fills it is
// treated as truncated and skipped.
const eventBufSize = 16 << 10

// ErrEventsLost is wrapped by the error DestroyEvents.Read returns when the
// kernel dropped events because the socket's receive queue was full
// (ENOBUFS). The subscription stays usable.
var ErrEventsLost = errors.New("destroy events lost (receive queue overrun)")

// DestroyEvents is a subscription to the kernel's socket destroy events
// for TCP and UDP over IPv4 and IPv6 in one network namespace: the
// namespace of the thread that called SubscribeDestroy.
//
// The kernel sends an event when a socket's struct sock is freed (its last
// reference dropped), not at close(2): a TCP socket entering TIME-WAIT is
// freed and lives on as a TIME-WAIT minisocket with the same cookie. Each
// event carries the socket's cookie, the same as in dumps, its protocol in
// SockProtocol, state 7 (close) and inode 0. There are no events for
// TIME-WAIT and request minisockets, raw or Unix sockets, and none on
// creation. Events are delivered by a kernel work queue, so they lag the
// free by a little. No privilege is needed.
//
// Read may be called from one goroutine at a time; Close may be called
// from any goroutine, and wakes a blocked Read.
type DestroyEvents struct {
	f     *os.File
	rc    syscall.RawConn
	buf   []byte
	rec   InetRecord
	netns uint64
	// closed is set by Close: the runtime's "file closing" error is
	// internal, so Read reports os.ErrClosed from this flag.
	closed atomic.Bool
	// capture, if set, sees every datagram received (tests record
	// fixtures with it).
	capture func([]byte)
}

// SubscribeDestroy opens a NETLINK_SOCK_DIAG socket in the calling thread's
// network namespace and joins the four destroy-event groups. Close it when
// done.
func SubscribeDestroy() (*DestroyEvents, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("sockdiag: subscribe destroy events: socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sockdiag: subscribe destroy events: bind: %w", err)
	}
	for _, g := range []int{groupInetTCPDestroy, groupInetUDPDestroy, groupInet6TCPDestroy, groupInet6UDPDestroy} {
		if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, g); err != nil {
			unix.Close(fd)
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOPROTOOPT) {
				err = fmt.Errorf("%w: %w", ErrNotSupported, err)
			}
			return nil, fmt.Errorf("sockdiag: subscribe destroy events: join group %d: %w", g, err)
		}
	}
	// Best effort: a larger queue loses fewer events under churn.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, sockRcvBuf)
	var netns uint64
	var st unix.Stat_t
	if unix.Stat("/proc/thread-self/ns/net", &st) == nil {
		netns = st.Ino
	}
	// A non-blocking descriptor makes the File pollable: Read parks in
	// the runtime's poller, and Close wakes it.
	f := os.NewFile(uintptr(fd), "sockdiag-destroy-events")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sockdiag: subscribe destroy events: %w", err)
	}
	return &DestroyEvents{f: f, rc: rc, buf: make([]byte, eventBufSize), netns: netns}, nil
}

// NetNS returns the inode of the network namespace the events come from,
// 0 if it could not be read.
func (e *DestroyEvents) NetNS() uint64 { return e.netns }

// SetReadDeadline makes a blocked or later Read return an error wrapping
// os.ErrDeadlineExceeded once t has passed; the zero time means none.
func (e *DestroyEvents) SetReadDeadline(t time.Time) error {
	if err := e.f.SetReadDeadline(t); err != nil {
		return fmt.Errorf("sockdiag: destroy events: %w", err)
	}
	return nil
}

// Read waits for the next datagram and calls fn once per event in it. The
// *InetRecord passed to fn is reused: copy what you keep. Its Protocol is
// set from the event's INET_DIAG_PROTOCOL attribute (6 TCP, 17 UDP).
//
// An error from fn is returned unchanged. Malformed or truncated datagrams
// are skipped. Read returns an error wrapping ErrEventsLost when the kernel
// dropped events, and one wrapping os.ErrClosed after Close.
func (e *DestroyEvents) Read(fn func(*InetRecord) error) error {
	var n int
	var rerr error
	err := e.rc.Read(func(fd uintptr) bool {
		for range maxEINTR {
			n, _, rerr = unix.Recvfrom(int(fd), e.buf, unix.MSG_TRUNC)
			if rerr != unix.EINTR {
				break
			}
		}
		return rerr != unix.EAGAIN
	})
	if err != nil {
		if e.closed.Load() {
			err = os.ErrClosed
		}
		return fmt.Errorf("sockdiag: read destroy events: %w", err)
	}
	if errors.Is(rerr, unix.ENOBUFS) {
		return fmt.Errorf("sockdiag: read destroy events: %w", ErrEventsLost)
	}
	if rerr != nil {
		return fmt.Errorf("sockdiag: read destroy events: %w", rerr)
	}
	if n > len(e.buf) || n <= 0 {
		return nil // truncated (MSG_TRUNC reports the real length) or empty
	}
	if e.capture != nil {
		e.capture(e.buf[:n])
	}
	err = parseEvents(e.buf[:n], &e.rec, fn)
	if errors.Is(err, errMalformed) {
		return nil // not an event this package understands: skip it
	}
	return err
}

// Close closes the subscription and wakes a blocked Read. Calls after the
// first return an error.
func (e *DestroyEvents) Close() error {
	e.closed.Store(true)
	if err := e.f.Close(); err != nil {
		return fmt.Errorf("sockdiag: close destroy events: %w", err)
	}
	return nil
}
