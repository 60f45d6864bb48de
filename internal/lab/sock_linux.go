package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
)

// sock is one socket the experiment made, with raw system calls so that
// every option and step is explicit. Sockets are non-blocking; the steps
// that wait poll until the experiment's deadline.
type sock struct {
	l      *lab
	name   string
	fd     int
	family int
	typ    int
	ino    uint64
	flags  demux.Flags
}

// newSock makes a socket that the experiment closes when it ends.
func (l *lab) newSock(name string, family, typ int) *sock {
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		if family == unix.AF_INET6 && errors.Is(err, unix.EAFNOSUPPORT) {
			l.skip("this kernel has no IPv6 (socket(AF_INET6): %v)", err)
		}
		l.must("socket for "+name, err)
	}
	return l.adopt(name, fd, family, typ)
}

func (l *lab) adopt(name string, fd, family, typ int) *sock {
	s := &sock{l: l, name: name, fd: fd, family: family, typ: typ,
		flags: demux.Flags{ReuseAddr: sockscope.No, ReusePort: sockscope.No}}
	l.socks = append(l.socks, s)
	var st unix.Stat_t
	l.must("fstat "+name, unix.Fstat(fd, &st))
	s.ino = st.Ino
	return s
}

func (l *lab) tcp4(name string) *sock { return l.newSock(name, unix.AF_INET, unix.SOCK_STREAM) }
func (l *lab) udp4(name string) *sock { return l.newSock(name, unix.AF_INET, unix.SOCK_DGRAM) }

func (s *sock) close() {
	if s.fd >= 0 {
		unix.Close(s.fd)
		s.fd = -1
	}
}

// closeTCP closes a connected TCP socket, remembering its tuple and options
// for the TIME-WAIT socket it may leave.
func (s *sock) closeTCP() {
	if s.fd < 0 {
		return
	}
	s.l.tw[[2]netip.AddrPort{s.local(), s.peer()}] = s.flags
	s.close()
}

// abort closes a TCP socket with a reset (SO_LINGER 0): no TIME-WAIT.
func (s *sock) abort() {
	if s.fd < 0 {
		return
	}
	_ = unix.SetsockoptLinger(s.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	s.close()
}

func (s *sock) reuseAddr() *sock {
	s.l.must(s.name+": set SO_REUSEADDR", unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1))
	s.flags.ReuseAddr = sockscope.Yes
	return s
}

func (s *sock) reusePort() *sock {
	s.l.must(s.name+": set SO_REUSEPORT", unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1))
	s.flags.ReusePort = sockscope.Yes
	return s
}

func (s *sock) v6only(on bool) *sock {
	v := 0
	if on {
		v = 1
	}
	s.l.must(s.name+": set IPV6_V6ONLY", unix.SetsockoptInt(s.fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v))
	s.flags.V6Only = sockscope.TristateOf(on)
	return s
}

// opts describes the options set, for details: " (SO_REUSEADDR)".
func (s *sock) opts() string {
	var o []string
	if s.flags.ReuseAddr == sockscope.Yes {
		o = append(o, "SO_REUSEADDR")
	}
	if s.flags.ReusePort == sockscope.Yes {
		o = append(o, "SO_REUSEPORT")
	}
	switch s.flags.V6Only {
	case sockscope.Yes:
		o = append(o, "IPV6_V6ONLY")
	case sockscope.No:
		o = append(o, "IPV6_V6ONLY off")
	}
	if len(o) == 0 {
		return ""
	}
	return " (" + strings.Join(o, ", ") + ")"
}

func (s *sock) sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if s.family == unix.AF_INET6 {
		return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
}

// bind binds and returns the kernel's answer.
func (s *sock) bind(ap netip.AddrPort) error {
	if err := unix.Bind(s.fd, s.sockaddr(ap)); err != nil {
		return fmt.Errorf("bind %s: %w", ap, err)
	}
	return nil
}

// bindOK binds where the claim says it succeeds, and returns the bound
// address (with the port the kernel chose for port 0).
func (s *sock) bindOK(ap netip.AddrPort) netip.AddrPort {
	err := s.bind(ap)
	s.l.expect(fmt.Sprintf("%s%s bind %s", s.name, s.opts(), sockscope.FormatAddrPort(ap)), err, nil, true)
	got := s.local()
	if ap.Port() == 0 {
		s.l.note("kernel: %s got port %d", s.name, got.Port())
	}
	return got
}

func (s *sock) listen() error {
	if err := unix.Listen(s.fd, 64); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return nil
}

func (s *sock) listenOK() {
	s.l.expect(s.name+" listen", s.listen(), nil, true)
}

// connect connects and, for TCP, waits for the handshake.
func (s *sock) connect(ap netip.AddrPort) error {
	err := unix.Connect(s.fd, s.sockaddr(ap))
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINPROGRESS) {
		return fmt.Errorf("connect %s: %w", ap, err)
	}
	if _, err := s.l.poll(unix.POLLOUT, s); err != nil {
		return fmt.Errorf("connect %s: %w", ap, err)
	}
	soerr, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return fmt.Errorf("connect %s: %w", ap, err)
	}
	if soerr != 0 {
		return fmt.Errorf("connect %s: %w", ap, unix.Errno(soerr))
	}
	return nil
}

func (s *sock) connectOK(ap netip.AddrPort) {
	s.l.expect(fmt.Sprintf("%s connect to %s", s.name, sockscope.FormatAddrPort(ap)), s.connect(ap), nil, true)
}

// poll waits until one of socks is ready for events, or the deadline,
// and returns the index of the first ready one.
func (l *lab) poll(events int16, socks ...*sock) (int, error) {
	fds := make([]unix.PollFd, len(socks))
	for i, s := range socks {
		fds[i] = unix.PollFd{Fd: int32(s.fd), Events: events}
	}
	for range 1000 { // each round waits at most 100 ms
		left := time.Until(l.deadline())
		if left <= 0 {
			break
		}
		n, err := unix.Poll(fds, int(min(left, 100*time.Millisecond)/time.Millisecond)+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return -1, fmt.Errorf("poll: %w", err)
		}
		if n > 0 {
			for i, f := range fds {
				if f.Revents != 0 {
					return i, nil
				}
			}
		}
	}
	return -1, fmt.Errorf("waited until the deadline: %w", unix.ETIMEDOUT)
}

// acceptAny waits for a connection on any of the listeners and accepts
// it: the returned index says which listener the kernel chose.
func (l *lab) acceptAny(name string, listeners ...*sock) (int, *sock) {
	i, err := l.poll(unix.POLLIN, listeners...)
	l.must("wait for a connection", err)
	ln := listeners[i]
	fd, _, err := unix.Accept4(ln.fd, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
	l.must(ln.name+": accept", err)
	a := l.adopt(name, fd, ln.family, ln.typ)
	a.flags = ln.flags // accepted sockets inherit the listener's options
	return i, a
}

// pending reports whether any listener has a connection waiting.
func (l *lab) pending(listeners ...*sock) bool {
	fds := make([]unix.PollFd, len(listeners))
	for i, s := range listeners {
		fds[i] = unix.PollFd{Fd: int32(s.fd), Events: unix.POLLIN}
	}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0
}

// recvAny waits for a datagram on any of socks: the index says which
// socket the kernel delivered it to.
func (l *lab) recvAny(socks ...*sock) (int, string) {
	i, err := l.poll(unix.POLLIN, socks...)
	l.must("wait for a datagram", err)
	buf := make([]byte, 256)
	n, _, err := unix.Recvfrom(socks[i].fd, buf, unix.MSG_DONTWAIT)
	l.must(socks[i].name+": receive", err)
	return i, string(buf[:n])
}

func (s *sock) sendTo(ap netip.AddrPort, msg string) {
	s.l.must(s.name+": send to "+ap.String(), unix.Sendto(s.fd, []byte(msg), 0, s.sockaddr(ap)))
}

func (s *sock) local() netip.AddrPort {
	sa, err := unix.Getsockname(s.fd)
	s.l.must(s.name+": getsockname", err)
	return addrPort(sa)
}

func (s *sock) peer() netip.AddrPort {
	sa, err := unix.Getpeername(s.fd)
	s.l.must(s.name+": getpeername", err)
	return addrPort(sa)
}

func addrPort(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
	}
	return netip.AddrPort{}
}

// ap builds an address and port.
func ap(addr string, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr(addr), port)
}
