package sockdiag

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// This file is pure: it decodes bytes and never touches the kernel, so it
// builds and tests on every OS. Netlink is host-endian; ports and addresses
// inside inet_diag_sockid are big-endian.

// Address families as Linux numbers them (not taken from x/sys/unix so the
// parsers build everywhere).
const (
	afUnix  = 1
	afInet  = 2
	afInet6 = 10
)

// Netlink header constants (uapi/linux/netlink.h, sock_diag.h).
const (
	nlmsgHdrLen = 16

	nlmsgNoop    = 1
	nlmsgError   = 2
	nlmsgDone    = 3
	nlmsgOverrun = 4

	sockDiagByFamily = 20
	// tcpDiagGetSock is the older inet_diag request (TCPDIAG_GETSOCK),
	// the only one that dumps both families in one walk; its replies
	// carry this type.
	tcpDiagGetSock = 18

	nlmFRequest  = 0x1
	nlmFMulti    = 0x2
	nlmFDumpIntr = 0x10
	nlmFRoot     = 0x100
	nlmFMatch    = 0x200
	nlmFDump     = nlmFRoot | nlmFMatch

	nlaTypeMask = 0x3fff
)

// Sizes of the fixed headers (uapi/linux/inet_diag.h, unix_diag.h).
const (
	inetDiagMsgLen = 72
	inetDiagReqLen = 56
	// inetDiagReqCompatLen is struct inet_diag_req, TCPDIAG_GETSOCK's
	// header: family, src_len, dst_len, ext, sockid, states, dbs.
	inetDiagReqCompatLen = 60
	unixDiagMsgLen       = 16
	unixDiagReqLen       = 24
)

// inet_diag attribute types read here (INET_DIAG_*).
const (
	inetDiagShutdown = 8
	inetDiagProtocol = 10
	inetDiagV6Only   = 11
	inetDiagCgroupID = 21
	inetDiagSockopt  = 22
)

// unix_diag attribute types (UNIX_DIAG_*); numbering starts at 0.
const (
	unixDiagName     = 0
	unixDiagVFS      = 1
	unixDiagPeer     = 2
	unixDiagIcons    = 3
	unixDiagRQLen    = 4
	unixDiagMeminfo  = 5
	unixDiagShutdown = 6
	unixDiagUID      = 7
)

// errMalformed is wrapped by every decoding error caused by bad input.
var errMalformed = errors.New("malformed netlink data")

// errDumpInterrupted reports a message flagged NLM_F_DUMP_INTR: the dump
// saw the kernel's tables change and must be restarted.
var errDumpInterrupted = errors.New("dump interrupted (NLM_F_DUMP_INTR)")

// msgError is the negative errno an NLMSG_ERROR or NLMSG_DONE message
// carried, stored positive. The Linux client turns it into a syscall.Errno;
// it is a separate type so this file needs no OS-specific errno type.
type msgError int32

func (e msgError) Error() string { return fmt.Sprintf("netlink error: errno %d", int32(e)) }

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errMalformed}, args...)...)
}

// ParseInetMsg decodes one inet_diag_msg payload (the bytes after the
// nlmsghdr: the 72-byte header, then attributes) into r.
//
// Every field of r is overwritten except Protocol, which the message does not
// carry (DumpInet sets it from the request). Attributes it does not know are
// skipped; V6Only is -1 unless SKV6ONLY is present (docs/kernel.md D6). Addresses are kept as the
// kernel reports them: an AF_INET6 socket's v4-mapped address stays
// ::ffff:a.b.c.d. ParseInetMsg does not allocate.
func ParseInetMsg(b []byte, r *InetRecord) error {
	if len(b) < inetDiagMsgLen {
		return malformed("inet_diag_msg of %d bytes, need %d", len(b), inetDiagMsgLen)
	}
	ne := binary.NativeEndian
	r.Family = b[0]
	r.State = b[1]
	r.Timer = b[2]
	r.Retrans = b[3]
	r.SrcPort = binary.BigEndian.Uint16(b[4:6])
	r.DstPort = binary.BigEndian.Uint16(b[6:8])
	switch r.Family {
	case afInet:
		r.Src = netip.AddrFrom4([4]byte(b[8:12]))
		r.Dst = netip.AddrFrom4([4]byte(b[24:28]))
	case afInet6:
		r.Src = netip.AddrFrom16([16]byte(b[8:24]))
		r.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	default:
		return malformed("inet_diag_msg family %d, want %d or %d", r.Family, afInet, afInet6)
	}
	r.If = ne.Uint32(b[40:44])
	r.Cookie = uint64(ne.Uint32(b[44:48])) | uint64(ne.Uint32(b[48:52]))<<32
	r.Expires = ne.Uint32(b[52:56])
	r.RQueue = ne.Uint32(b[56:60])
	r.WQueue = ne.Uint32(b[60:64])
	r.UID = ne.Uint32(b[64:68])
	r.Inode = ne.Uint32(b[68:72])

	r.V6Only = -1
	r.Shutdown, r.HasShutdown = 0, false
	r.CgroupID = 0
	r.Sockopt = 0
	r.HasSockopt = false
	r.SockProtocol = 0
	r.Info, r.Cong, r.SKMemInfo = nil, nil, nil
	r.VegasInfo, r.DCTCPInfo, r.BBRInfo = nil, nil, nil

	attrs := b[inetDiagMsgLen:]
	for len(attrs) > 0 {
		typ, val, rest, err := nextAttr(attrs)
		if err != nil {
			return err
		}
		attrs = rest
		switch typ {
		case inetDiagInfo:
			r.Info = val
		case inetDiagCong:
			r.Cong = cString(val)
		case inetDiagSKMeminfo:
			r.SKMemInfo = val
		case inetDiagVegasInfo:
			r.VegasInfo = val
		case inetDiagDCTCPInfo:
			r.DCTCPInfo = val
		case inetDiagBBRInfo:
			r.BBRInfo = val
		case inetDiagShutdown:
			if len(val) < 1 {
				return malformed("INET_DIAG_SHUTDOWN of %d bytes", len(val))
			}
			r.Shutdown, r.HasShutdown = val[0], true
		case inetDiagProtocol:
			if len(val) < 1 {
				return malformed("INET_DIAG_PROTOCOL of %d bytes", len(val))
			}
			r.SockProtocol = val[0]
		case inetDiagV6Only:
			if len(val) < 1 {
				return malformed("INET_DIAG_SKV6ONLY of %d bytes", len(val))
			}
			r.V6Only = 0
			if val[0] != 0 {
				r.V6Only = 1
			}
		case inetDiagCgroupID:
			if len(val) < 8 {
				return malformed("INET_DIAG_CGROUP_ID of %d bytes", len(val))
			}
			r.CgroupID = ne.Uint64(val)
		case inetDiagSockopt:
			if len(val) < 2 {
				return malformed("INET_DIAG_SOCKOPT of %d bytes", len(val))
			}
			// struct inet_diag_sockopt is a 16-bit bitfield, LSB first.
			r.Sockopt = uint16(val[0]) | uint16(val[1])<<8
			r.HasSockopt = true
		}
	}
	return nil
}

// ParseUnixMsg decodes one unix_diag_msg payload (the 16-byte header, then
// attributes) into r. Every field is overwritten; Icons reuses its backing
// array. Name is decoded as ss prints it: an abstract name (leading NUL)
// becomes "@" followed by the rest, with every NUL shown as '@'; a pathname
// is cut at its first NUL (the kernel sends the terminating NUL). The only
// allocations are a new Name string when the name differs from r.Name and
// growth of Icons.
func ParseUnixMsg(b []byte, r *UnixRecord) error {
	if len(b) < unixDiagMsgLen {
		return malformed("unix_diag_msg of %d bytes, need %d", len(b), unixDiagMsgLen)
	}
	if b[0] != afUnix {
		return malformed("unix_diag_msg family %d, want %d", b[0], afUnix)
	}
	ne := binary.NativeEndian
	r.Type = b[1]
	r.State = b[2]
	r.Inode = ne.Uint32(b[4:8])
	r.Cookie = uint64(ne.Uint32(b[8:12])) | uint64(ne.Uint32(b[12:16]))<<32

	hasName := false
	r.Peer = 0
	r.Icons = r.Icons[:0]
	r.RQueue, r.WQueue = 0, 0
	r.UID, r.HasUID = 0, false
	r.VFSInode, r.VFSDev = 0, 0
	r.Shutdown, r.HasShutdown = 0, false
	r.MemInfo = nil

	attrs := b[unixDiagMsgLen:]
	for len(attrs) > 0 {
		typ, val, rest, err := nextAttr(attrs)
		if err != nil {
			return err
		}
		attrs = rest
		switch typ {
		case unixDiagName:
			setUnixName(r, val)
			hasName = true
		case unixDiagVFS:
			if len(val) < 8 {
				return malformed("UNIX_DIAG_VFS of %d bytes", len(val))
			}
			r.VFSInode = ne.Uint32(val[0:4])
			r.VFSDev = ne.Uint32(val[4:8])
		case unixDiagPeer:
			if len(val) < 4 {
				return malformed("UNIX_DIAG_PEER of %d bytes", len(val))
			}
			r.Peer = ne.Uint32(val)
		case unixDiagIcons:
			if len(val)%4 != 0 {
				return malformed("UNIX_DIAG_ICONS of %d bytes, not a multiple of 4", len(val))
			}
			for i := 0; i+4 <= len(val); i += 4 {
				r.Icons = append(r.Icons, ne.Uint32(val[i:i+4]))
			}
		case unixDiagRQLen:
			if len(val) < 8 {
				return malformed("UNIX_DIAG_RQLEN of %d bytes", len(val))
			}
			r.RQueue = ne.Uint32(val[0:4])
			r.WQueue = ne.Uint32(val[4:8])
		case unixDiagMeminfo:
			r.MemInfo = val
		case unixDiagShutdown:
			if len(val) < 1 {
				return malformed("UNIX_DIAG_SHUTDOWN of %d bytes", len(val))
			}
			r.Shutdown, r.HasShutdown = val[0], true
		case unixDiagUID:
			if len(val) < 4 {
				return malformed("UNIX_DIAG_UID of %d bytes", len(val))
			}
			r.UID = ne.Uint32(val)
			r.HasUID = true
		}
	}
	if !hasName {
		r.Name = ""
	}
	return nil
}

// cString cuts b at its first NUL.
func cString(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// setUnixName stores the decoded sun_path in r.Name, reusing the old string
// when it is unchanged.
func setUnixName(r *UnixRecord, raw []byte) {
	if len(raw) == 0 {
		r.Name = ""
		return
	}
	if raw[0] != 0 {
		// Pathname: C string.
		for i, c := range raw {
			if c == 0 {
				raw = raw[:i]
				break
			}
		}
		if r.Name != string(raw) { // compared without allocating
			r.Name = string(raw)
		}
		return
	}
	// Abstract: every NUL (the leading one included) shown as '@'.
	if len(r.Name) == len(raw) && abstractEqual(r.Name, raw) {
		return
	}
	buf := make([]byte, len(raw))
	for i, c := range raw {
		if c == 0 {
			c = '@'
		}
		buf[i] = c
	}
	r.Name = string(buf)
}

func abstractEqual(s string, raw []byte) bool {
	for i, c := range raw {
		if c == 0 {
			c = '@'
		}
		if s[i] != c {
			return false
		}
	}
	return true
}

// nextAttr splits the first netlink attribute off b. It returns the type
// (masked with NLA_TYPE_MASK), the payload and the rest, or an error if the
// attribute header or its length is out of bounds. The last attribute may
// lack its alignment padding.
func nextAttr(b []byte) (typ uint16, val, rest []byte, err error) {
	if len(b) < 4 {
		return 0, nil, nil, malformed("%d trailing bytes, too short for an attribute header", len(b))
	}
	n := int(binary.NativeEndian.Uint16(b[0:2]))
	typ = binary.NativeEndian.Uint16(b[2:4]) & nlaTypeMask
	if n < 4 || n > len(b) {
		return 0, nil, nil, malformed("attribute %d length %d, %d bytes left", typ, n, len(b))
	}
	val = b[4:n]
	adv := min((n+3)&^3, len(b))
	return typ, val, b[adv:], nil
}

// walkMessages walks the netlink messages of one received datagram (or of
// several concatenated ones, as in test captures) and calls fn with the
// payload of each SOCK_DIAG_BY_FAMILY message.
//
// It checks every header against seq and portID, the request's sequence
// number and the socket's netlink port id. It reports done once it reaches
// NLMSG_DONE or an NLMSG_ERROR, so the caller knows whether more datagrams
// follow. An error code in either is returned as a msgError.
//
// An error from fn, or a message flagged NLM_F_DUMP_INTR
// (errDumpInterrupted), stops the calls to fn but not the walk: the rest of
// b is still scanned for the end of the reply, and that error is returned
// with done. Malformed framing (a length out of bounds, a foreign seq or
// port id) stops at once with done false. NLMSG_NOOP and unknown types are
// skipped; the walk never reads past b.
func walkMessages(b []byte, seq, portID uint32, fn func(payload []byte) error) (done bool, err error) {
	ne := binary.NativeEndian
	var stop error
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return false, malformed("%d trailing bytes, too short for a netlink header", len(b))
		}
		n := ne.Uint32(b[0:4])
		typ := ne.Uint16(b[4:6])
		flags := ne.Uint16(b[6:8])
		mseq := ne.Uint32(b[8:12])
		mpid := ne.Uint32(b[12:16])
		if n < nlmsgHdrLen || uint64(n) > uint64(len(b)) {
			return false, malformed("netlink message length %d, %d bytes left", n, len(b))
		}
		payload := b[nlmsgHdrLen:n]
		b = b[min((int(n)+3)&^3, len(b)):]

		if mseq != seq || mpid != portID {
			return false, malformed("reply seq %d port id %d, want seq %d port id %d", mseq, mpid, seq, portID)
		}
		if flags&nlmFDumpIntr != 0 && stop == nil {
			stop = errDumpInterrupted
		}
		switch typ {
		case nlmsgDone:
			// The payload is an int32 (0 or -errno); very old kernels
			// sent none.
			if len(payload) >= 4 {
				if code := int32(ne.Uint32(payload)); code != 0 {
					return true, msgError(-code)
				}
			}
			return true, stop
		case nlmsgError:
			if len(payload) < 4 {
				return false, malformed("NLMSG_ERROR of %d bytes", len(payload))
			}
			if code := int32(ne.Uint32(payload)); code != 0 {
				return true, msgError(-code)
			}
			return true, stop
		case nlmsgOverrun:
			return false, malformed("NLMSG_OVERRUN")
		case sockDiagByFamily, tcpDiagGetSock:
			if stop == nil {
				stop = fn(payload)
			}
		}
	}
	return false, stop
}
