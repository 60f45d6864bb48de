package render

import (
	"io"
	"runtime"
	"strconv"
	"strings"

	"github.com/sockscope/sockscope"
)

// Style says how to print for the current output.
type Style struct {
	// TTY: aligned, grouped output for people; otherwise stable
	// tab-separated records.
	TTY bool
	// Color enables ANSI colors (TTY only).
	Color bool
	// Numeric prints port numbers instead of service names.
	Numeric bool
	// Processes adds the holders column to socket lists.
	Processes bool
	// Extended adds uid, inode, cookie and shut-sides columns.
	Extended bool
	// NetNS adds the network namespace column.
	NetNS bool
	// Timers adds the TIMER column (ss -o's timer:(...)).
	Timers bool
	// Cgroup adds the CGROUP column after the Extended ones (ss -e's cgroup:).
	Cgroup bool
	// Memory and TCPInfo add ss -m's skmem:(...) and ss -i's TCP internals:
	// on a terminal in a line under each socket, in a pipe as a last
	// DETAILS column (see DetailText).
	Memory, TCPInfo bool
	// Services names a port; nil means none.
	Services func(port uint16, proto string) string
	// NoHeader leaves out a table's header on a terminal (ss -H).
	NoHeader bool
	// OneLine keeps each socket on one line on a terminal too (ss -O):
	// Memory and TCPInfo go in the DETAILS column, as in a pipe.
	OneLine bool
	// Flags adds the FLAGS column on a terminal (see FlagsText): set by
	// `port N` when some socket's SO_REUSEADDR/SO_REUSEPORT are known.
	Flags bool
}

func (st Style) endpoint(proto sockscope.Proto, ap interface {
	Port() uint16
}, full string) string {
	if st.Numeric || st.Services == nil || ap.Port() == 0 {
		return full
	}
	name := st.Services(ap.Port(), proto.String())
	if name == "" {
		return full
	}
	i := strings.LastIndexByte(full, ':')
	return full[:i+1] + Sanitize(name) // a name from /etc/services
}

// LocalText formats a socket's local side: address:port (or service), or a
// Unix path (sanitized; "*" when unnamed).
func (st Style) LocalText(s *sockscope.Socket) string {
	if s.Proto == sockscope.Unix {
		if s.Path == "" {
			return "*"
		}
		return Sanitize(s.Path)
	}
	l := s.LocalString()
	if s.Interface != 0 {
		l = Sanitize(l) // the device name is untrusted
	}
	return st.endpoint(s.Proto, s.Local, l)
}

// PeerText formats a socket's remote side; for Unix, the peer's path or "*".
func (st Style) PeerText(s *sockscope.Socket) string {
	if s.Proto == sockscope.Unix {
		if s.Peer != nil && s.Peer.Path != "" {
			return Sanitize(s.Peer.Path)
		}
		return "*"
	}
	return st.endpoint(s.Proto, s.Remote, s.RemoteString())
}

// HolderText formats holders as comm(pid=N,fd=M), comma-separated; at most
// max (0 = all), then "+N more".
func HolderText(hs []sockscope.Holder, max int) string {
	var b []byte
	for i, h := range hs {
		if max > 0 && i == max {
			b = append(b, ",+"...)
			b = strconv.AppendInt(b, int64(len(hs)-max), 10)
			b = append(b, " more"...)
			break
		}
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
	return string(b)
}

func holdersOrWhy(s *sockscope.Socket, max int) string {
	if len(s.Holders) > 0 {
		return HolderText(s.Holders, max)
	}
	switch {
	case s.HoldersHidden:
		return "(hidden)"
	case s.State == sockscope.TimeWait:
		return "(none: TIME-WAIT)"
	case s.State == sockscope.SynRecv:
		return "(none: handshake)"
	case s.Inode == 0:
		return "(none)"
	}
	return "(none)"
}

// nsName is a namespace's label for a terminal, sanitized: an ip netns
// name is any file name, escape sequences and invalid UTF-8 included.
func nsName(ns *sockscope.NetNS) string {
	if ns == nil {
		return ""
	}
	if ns.Container != "" {
		return Sanitize(ns.Name) + "/" + Sanitize(ns.Container)
	}
	return Sanitize(ns.Name)
}

// SocketHeader returns the ls table's header for a style.
func SocketHeader(st Style) []string {
	h := []string{"NETID", "STATE", "RECV-Q", "SEND-Q", "LOCAL", "PEER"}
	if st.NetNS {
		h = append([]string{"NETNS"}, h...)
	}
	if st.Timers {
		h = append(h, "TIMER")
	}
	if st.Extended {
		h = append(h, "UID", "INODE", "COOKIE", "SHUT")
	}
	if st.Cgroup {
		h = append(h, "CGROUP")
	}
	if st.Flags && st.TTY {
		h = append(h, "FLAGS")
	}
	if st.Processes {
		h = append(h, "PROCESS")
	}
	if (!st.TTY || st.OneLine) && (st.Memory || st.TCPInfo) {
		h = append(h, "DETAILS")
	}
	return h
}

func netid(s *sockscope.Socket) string {
	if s.Proto == sockscope.Unix {
		switch s.Type {
		case sockscope.SockStream:
			return "u_str"
		case sockscope.SockDgram:
			return "u_dgr"
		case sockscope.SockSeqpacket:
			return "u_seq"
		}
	}
	return s.Proto.String()
}

// SocketRow formats one socket as table cells.
func SocketRow(s *sockscope.Socket, st Style) []Cell {
	state := s.State.String()
	row := make([]Cell, 0, 11)
	if st.NetNS {
		row = append(row, Cell{Text: nsName(s.NetNS)})
	}
	row = append(row,
		Cell{Text: netid(s)},
		Cell{Text: state, Color: StateColor(state)},
		Cell{Text: strconv.FormatUint(uint64(s.RecvQ), 10)},
		Cell{Text: strconv.FormatUint(uint64(s.SendQ), 10)},
		Cell{Text: st.LocalText(s)},
		Cell{Text: st.PeerText(s)},
	)
	if st.Timers {
		row = append(row, Cell{Text: TimerText(s)})
	}
	if st.Extended {
		row = append(row,
			Cell{Text: strconv.FormatUint(uint64(s.UID), 10)},
			Cell{Text: strconv.FormatUint(s.Inode, 10)},
			Cell{Text: strconv.FormatUint(s.Cookie, 10)},
			Cell{Text: ShutdownText(s)})
	}
	if st.Cgroup {
		row = append(row, Cell{Text: CgroupText(s)})
	}
	if st.Flags && st.TTY {
		row = append(row, Cell{Text: flagsCell(s)})
	}
	if st.Processes {
		row = append(row, Cell{Text: holdersOrWhy(s, 0)})
	}
	if (!st.TTY || st.OneLine) && (st.Memory || st.TCPInfo) {
		row = append(row, Cell{Text: DetailText(s, st.Memory, st.TCPInfo, st.Numeric)})
	}
	return row
}

// WriteSockets prints one row per socket.
func WriteSockets(w io.Writer, socks []*sockscope.Socket, st Style) error {
	if !st.TTY {
		return writeSocketRecords(w, socks, st)
	}
	var header []string
	if !st.NoHeader {
		header = SocketHeader(st)
	}
	t := NewTable(w, st.TTY, st.Color, header...)
	for _, s := range socks {
		t.Row(SocketRow(s, st)...)
		if (st.Memory || st.TCPInfo) && !st.OneLine {
			if d := DetailText(s, st.Memory, st.TCPInfo, st.Numeric); d != "" {
				t.Below(d)
			}
		}
		if t.Err() != nil {
			break
		}
	}
	return t.Flush()
}

// WriteSocketsJSON prints {"version":SchemaVersion,"sockets":[...],"warnings":[...]}.
// Large lists are encoded in blocks on up to 4 threads and written in
// order (encodeBlocks); the bytes are those of one sequential pass.
func WriteSocketsJSON(w io.Writer, socks []*sockscope.Socket, warnings []sockscope.Warning) error {
	return writeSocketsJSON(w, socks, warnings, true)
}

// WriteSocketsJSONStream is WriteSocketsJSON on the calling goroutine
// alone, written in chunks of 256 kB: for a server answering several
// requests at once, where each reply's memory must stay small and the
// threads are shared.
func WriteSocketsJSONStream(w io.Writer, socks []*sockscope.Socket, warnings []sockscope.Warning) error {
	return writeSocketsJSON(w, socks, warnings, false)
}

func writeSocketsJSON(w io.Writer, socks []*sockscope.Socket, warnings []sockscope.Warning, parallel bool) error {
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, `{"version":`...)
	buf = strconv.AppendInt(buf, SchemaVersion, 10)
	buf = append(buf, `,"sockets":[`...)
	if _, err := w.Write(buf); err != nil {
		return err
	}
	err := encodeBlocks(w, socks, parallel, func(b []byte, i int, s *sockscope.Socket, enc *socketEncoder) []byte {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n  "...)
		return enc.appendSocket(b, s)
	})
	if err != nil {
		return err
	}
	buf = append(buf[:0], "\n],\"warnings\":"...)
	buf = AppendWarningsJSON(buf, warnings)
	buf = append(buf, "}\n"...)
	_, err = w.Write(buf)
	return err
}

// jsonBlock is how many sockets one block of encodeBlocks holds (about
// 600 kB of JSON).
const jsonBlock = 2048

// encodeBlocks appends every socket with add, in blocks of jsonBlock
// sockets, each block with an encoder of its own, and writes the blocks
// to w in order. With more than one thread and at least 4 blocks (4k
// sockets) the blocks are encoded in parallel, at most one per thread
// (and one more) ahead of the writer: at 100k sockets encoding was a fifth of `ls -tan -o
// json`, which waits for nothing else by then; the blocks in flight add
// about 2.4 MB on two threads. Otherwise, or without parallel, one
// encoder appends them all into a buffer written out whenever it holds
// 256 kB. add must depend only on its arguments.
func encodeBlocks(w io.Writer, socks []*sockscope.Socket, parallel bool, add func(b []byte, i int, s *sockscope.Socket, enc *socketEncoder) []byte) error {
	encode := func(b []byte, k int) []byte {
		var enc socketEncoder
		end := min((k+1)*jsonBlock, len(socks))
		for i := k * jsonBlock; i < end; i++ {
			b = add(b, i, socks[i], &enc)
		}
		return b
	}
	blocks := (len(socks) + jsonBlock - 1) / jsonBlock
	workers := min(runtime.GOMAXPROCS(0), 4)
	if !parallel || workers < 2 || blocks < 4 {
		const chunk = 256 << 10
		var enc socketEncoder
		b := make([]byte, 0, chunk+8<<10)
		for i, s := range socks {
			b = add(b, i, s, &enc)
			if len(b) >= chunk {
				if _, err := w.Write(b); err != nil {
					return err
				}
				b = b[:0]
			}
		}
		if len(b) > 0 {
			_, err := w.Write(b)
			return err
		}
		return nil
	}
	// Block k is handed over on out[k]; ahead bounds the blocks encoded
	// but not yet written, and with them the memory.
	out := make([]chan []byte, blocks)
	for k := range out {
		out[k] = make(chan []byte, 1)
	}
	ahead := make(chan struct{}, workers+1)
	free := make(chan []byte, workers+1)
	done := make(chan struct{})
	defer close(done)
	next := make(chan int)
	go func() {
		defer close(next)
		for k := range blocks {
			select {
			case ahead <- struct{}{}:
			case <-done:
				return
			}
			select {
			case next <- k:
			case <-done:
				return
			}
		}
	}()
	for range workers {
		go func() {
			for k := range next {
				var b []byte
				select {
				case b = <-free:
				default:
					b = make([]byte, 0, jsonBlock*400)
				}
				out[k] <- encode(b[:0], k)
			}
		}()
	}
	for k := range blocks {
		b := <-out[k]
		if _, err := w.Write(b); err != nil {
			return err
		}
		select {
		case free <- b:
		default:
		}
		<-ahead
	}
	return nil
}

// WriteSocketsNDJSON prints one socket object per line. Each line is
// written whole, so an interrupted stream never ends in a torn line.
func WriteSocketsNDJSON(w io.Writer, socks []*sockscope.Socket) error {
	return encodeBlocks(w, socks, true, func(b []byte, _ int, s *sockscope.Socket, enc *socketEncoder) []byte {
		return append(enc.appendSocket(b, s), '\n')
	})
}

// ShutdownText marks a socket's shut sides as ss -e does: '<' for a
// receive side that is open, '>' for an open send side, '-' for a shut
// one: "<->" open both ways, "<--" sending shut (after shutdown(SHUT_WR)
// or close), "-->" receiving shut (the peer's FIN), "---" both. "" when
// the kernel did not say (TIME-WAIT sockets, /proc/net).
func ShutdownText(s *sockscope.Socket) string {
	if s.ShutRead == sockscope.Unknown || s.ShutWrite == sockscope.Unknown {
		return ""
	}
	b := []byte("<->")
	if s.ShutRead == sockscope.Yes {
		b[0] = '-'
	}
	if s.ShutWrite == sockscope.Yes {
		b[2] = '-'
	}
	return string(b)
}

// FlagsText names the bind flags a socket is known to have set, as
// "reuseaddr reuseport", "reuseaddr" or "reuseport"; "" when none is set or
// when they are unknown (sock_diag and /proc do not report them: they are
// read through BPF or pidfd_getfd). Unknown never reads as "not set".
func FlagsText(s *sockscope.Socket) string {
	switch {
	case s.ReuseAddr == sockscope.Yes && s.ReusePort == sockscope.Yes:
		return "reuseaddr reuseport"
	case s.ReuseAddr == sockscope.Yes:
		return "reuseaddr"
	case s.ReusePort == sockscope.Yes:
		return "reuseport"
	}
	return ""
}

// FlagsKnown reports whether a socket's SO_REUSEADDR or SO_REUSEPORT is known.
func FlagsKnown(s *sockscope.Socket) bool {
	return s.ReuseAddr != sockscope.Unknown || s.ReusePort != sockscope.Unknown
}

// AnyFlagsKnown reports whether some socket's bind flags are known: the
// FLAGS column is worth printing.
func AnyFlagsKnown(socks []*sockscope.Socket) bool {
	for _, s := range socks {
		if FlagsKnown(s) {
			return true
		}
	}
	return false
}

// flagsCell is the FLAGS column: the set flags, "-" when both are known
// and unset, "" when unknown.
func flagsCell(s *sockscope.Socket) string {
	if t := FlagsText(s); t != "" {
		return t
	}
	if s.ReuseAddr != sockscope.Unknown && s.ReusePort != sockscope.Unknown {
		return "-"
	}
	return ""
}
