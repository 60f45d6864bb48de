package sockscope

// IsListener reports whether s is a listener: a socket that receives new
// connections or datagrams addressed to its local port or path, rather than
// being one end of a connection. The rule, per protocol:
//
//   - TCP: state LISTEN. A TCP socket that is bound but inactive (state
//     CLOSE with a local port, see [Socket.BoundInactive]) holds its port
//     against other binds but receives nothing: a SYN to it is answered
//     with a reset (docs/kernel.md T9). It is not a listener.
//   - UDP, UDP-Lite: bound to a port (local port not 0) and not connected.
//     A connected UDP socket receives only from its peer.
//   - Unix: a stream or seqpacket socket in state LISTEN, or a datagram
//     socket bound to a path (filesystem or @abstract) and not connected.
//
// Raw sockets are never listeners.
func (s *Socket) IsListener() bool {
	switch s.Proto {
	case TCP:
		return s.State == Listen
	case UDP, UDPLite:
		return s.Local.Port() != 0 && !s.Connected()
	case Unix:
		return s.State == Listen || (s.Type == SockDgram && s.Path != "" && s.PeerInode == 0)
	}
	return false
}
