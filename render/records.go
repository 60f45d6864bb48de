package render

import (
	"bufio"
	"io"
	"net/netip"
	"strconv"

	"github.com/sockscope/sockscope"
)

// writeSocketRecords is WriteSockets for a pipe: the same bytes a Table
// writes for SocketRow's cells (tab-separated, "-" for an empty cell), but
// appended straight into one buffer, with no cells or strings per row.
func writeSocketRecords(w io.Writer, socks []*sockscope.Socket, st Style) error {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriterSize(w, 64<<10)
	}
	buf := make([]byte, 0, 64<<10)
	for _, s := range socks {
		buf = appendSocketRecord(buf, s, st)
		if len(buf) >= 60<<10 {
			if _, err := bw.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	return bw.Flush()
}

// appendSocketRecord appends one socket's pipe record and a newline.
func appendSocketRecord(b []byte, s *sockscope.Socket, st Style) []byte {
	start := len(b)
	// cell ends a cell: "-" when it was empty, then a tab.
	cell := func(b []byte, from int) []byte {
		if len(b) == from {
			b = append(b, '-')
		}
		return append(b, '\t')
	}
	if st.NetNS {
		from := len(b)
		b = append(b, nsName(s.NetNS)...)
		b = cell(b, from)
	}
	from := len(b)
	b = append(b, netid(s)...)
	b = cell(b, from)
	from = len(b)
	b = append(b, s.State.String()...)
	b = cell(b, from)
	b = strconv.AppendUint(b, uint64(s.RecvQ), 10)
	b = append(b, '\t')
	b = strconv.AppendUint(b, uint64(s.SendQ), 10)
	b = append(b, '\t')
	from = len(b)
	if s.Proto == sockscope.Unix {
		b = append(b, st.LocalText(s)...)
	} else {
		b = st.appendEndpoint(b, s.Proto, s.Local, s.V6Only, s.DeviceName())
	}
	b = cell(b, from)
	from = len(b)
	if s.Proto == sockscope.Unix {
		b = append(b, st.PeerText(s)...)
	} else {
		b = st.appendEndpoint(b, s.Proto, s.Remote, s.V6Only, "")
	}
	b = cell(b, from)
	if st.Timers {
		from = len(b)
		b = appendTimer(b, s)
		b = cell(b, from)
	}
	if st.Extended {
		b = strconv.AppendUint(b, uint64(s.UID), 10)
		b = append(b, '\t')
		b = strconv.AppendUint(b, s.Inode, 10)
		b = append(b, '\t')
		b = strconv.AppendUint(b, s.Cookie, 10)
		b = append(b, '\t')
		from = len(b)
		b = append(b, ShutdownText(s)...)
		b = cell(b, from)
	}
	if st.Cgroup {
		from = len(b)
		b = append(b, CgroupText(s)...)
		b = cell(b, from)
	}
	if st.Processes {
		from = len(b)
		if len(s.Holders) > 0 {
			b = appendHolders(b, s.Holders)
		} else {
			b = append(b, holdersOrWhy(s, 0)...)
		}
		b = cell(b, from)
	}
	if st.Memory || st.TCPInfo {
		from = len(b)
		b = appendDetail(b, s, st.Memory, st.TCPInfo, st.Numeric)
		b = cell(b, from)
	}
	if len(b) > start {
		b = b[:len(b)-1] // the last tab
	}
	return append(b, '\n')
}

// appendEndpoint appends what LocalText or PeerText returns for an inet
// socket: the address as ss prints it, "%" and the device (sanitized) when
// dev is not "", then the port or, unless Numeric, its service name.
func (st Style) appendEndpoint(b []byte, proto sockscope.Proto, ap netip.AddrPort, v6only sockscope.Tristate, dev string) []byte {
	b = sockscope.AppendAddr(b, ap.Addr(), v6only)
	if dev != "" {
		b = append(b, '%')
		b = AppendSanitized(b, dev)
	}
	b = append(b, ':')
	if ap.Port() == 0 {
		return append(b, '*')
	}
	if !st.Numeric && st.Services != nil {
		if name := st.Services(ap.Port(), proto.String()); name != "" {
			return AppendSanitized(b, name) // a name from /etc/services
		}
	}
	return strconv.AppendUint(b, uint64(ap.Port()), 10)
}

// appendHolders appends HolderText(hs, 0).
func appendHolders(b []byte, hs []sockscope.Holder) []byte {
	for i, h := range hs {
		if i > 0 {
			b = append(b, ',')
		}
		if h.Proc != nil {
			b = AppendSanitized(b, h.Proc.Comm)
		}
		b = append(b, "(pid="...)
		b = strconv.AppendInt(b, int64(h.PID()), 10)
		b = append(b, ",fd="...)
		b = strconv.AppendInt(b, int64(h.FD), 10)
		b = append(b, ')')
	}
	return b
}
