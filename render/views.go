package render

import (
	"bufio"
	"fmt"
	"io"
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
	// Extended adds uid, inode and cookie columns.
	Extended bool
	// NetNS adds the network namespace column.
	NetNS bool
	// Services names a port; nil means none.
	Services func(port uint16, proto string) string
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
	return full[:i+1] + name
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
	return st.endpoint(s.Proto, s.Local, sockscope.FormatAddrPort(s.Local))
}

// PeerText formats a socket's remote side; for Unix, the peer's path or "*".
func (st Style) PeerText(s *sockscope.Socket) string {
	if s.Proto == sockscope.Unix {
		if s.Peer != nil && s.Peer.Path != "" {
			return Sanitize(s.Peer.Path)
		}
		return "*"
	}
	return st.endpoint(s.Proto, s.Remote, sockscope.FormatAddrPort(s.Remote))
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

func nsName(ns *sockscope.NetNS) string {
	if ns == nil {
		return ""
	}
	if ns.Container != "" {
		return ns.Name + "/" + Sanitize(ns.Container)
	}
	return ns.Name
}

// SocketHeader returns the ls table's header for a style.
func SocketHeader(st Style) []string {
	h := []string{"NETID", "STATE", "RECV-Q", "SEND-Q", "LOCAL", "PEER"}
	if st.NetNS {
		h = append([]string{"NETNS"}, h...)
	}
	if st.Extended {
		h = append(h, "UID", "INODE", "COOKIE")
	}
	if st.Processes {
		h = append(h, "PROCESS")
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
	if st.Extended {
		row = append(row,
			Cell{Text: strconv.FormatUint(uint64(s.UID), 10)},
			Cell{Text: strconv.FormatUint(s.Inode, 10)},
			Cell{Text: strconv.FormatUint(s.Cookie, 10)})
	}
	if st.Processes {
		row = append(row, Cell{Text: holdersOrWhy(s, 0)})
	}
	return row
}

// WriteSockets prints one row per socket.
func WriteSockets(w io.Writer, socks []*sockscope.Socket, st Style) error {
	if !st.TTY {
		return writeSocketRecords(w, socks, st)
	}
	t := NewTable(w, st.TTY, st.Color, SocketHeader(st)...)
	for _, s := range socks {
		t.Row(SocketRow(s, st)...)
		if t.Err() != nil {
			break
		}
	}
	return t.Flush()
}

// WriteSocketsJSON prints {"version":1,"sockets":[...],"warnings":[...]}.
// The document is appended into one buffer, written out in chunks of
// 256 kB or more.
func WriteSocketsJSON(w io.Writer, socks []*sockscope.Socket, warnings []sockscope.Warning) error {
	const chunk = 256 << 10
	var enc socketEncoder
	buf := make([]byte, 0, chunk+8<<10)
	buf = append(buf, `{"version":`...)
	buf = strconv.AppendInt(buf, SchemaVersion, 10)
	buf = append(buf, `,"sockets":[`...)
	for i, s := range socks {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, "\n  "...)
		buf = enc.appendSocket(buf, s)
		if len(buf) >= chunk {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, "\n],\"warnings\":"...)
	buf = AppendWarningsJSON(buf, warnings)
	buf = append(buf, "}\n"...)
	_, err := w.Write(buf)
	return err
}

// WriteSocketsNDJSON prints one socket object per line. Each line is
// written whole, so an interrupted stream never ends in a torn line.
func WriteSocketsNDJSON(w io.Writer, socks []*sockscope.Socket) error {
	var enc socketEncoder
	buf := make([]byte, 0, 64<<10)
	for _, s := range socks {
		buf = enc.appendSocket(buf, s)
		buf = append(buf, '\n')
		if len(buf) > 60<<10 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		_, err := w.Write(buf)
		return err
	}
	return nil
}

func countsText(cs []Count, max int, paint bool) string {
	var parts []string
	for i, c := range cs {
		if max > 0 && i == max {
			parts = append(parts, fmt.Sprintf("+%d more", len(cs)-max))
			break
		}
		label := c.Label
		if col := StateColor(label); col != NoColor {
			label = Paint(label, col, paint)
		}
		parts = append(parts, fmt.Sprintf("%d %s", c.N, label))
	}
	return strings.Join(parts, ", ")
}

func peersText(cs []Count, max int) string {
	var parts []string
	for i, c := range cs {
		if max > 0 && i == max {
			parts = append(parts, fmt.Sprintf("+%d more", len(cs)-max))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%d)", c.Label, c.N))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func queueText(s *sockscope.Socket) string {
	if s.State == sockscope.Listen {
		return fmt.Sprintf("accept queue %d/%d", s.RecvQ, s.SendQ)
	}
	return ""
}

func listenerLabel(s *sockscope.Socket) string {
	if s.Proto == sockscope.TCP && s.State == sockscope.Close {
		return "BOUND"
	}
	return s.State.String()
}

// WritePorts prints the ports view.
func WritePorts(w io.Writer, v *PortsView, st Style) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if !st.TTY {
		writePortsRecords(bw, v, st)
		return bw.Flush()
	}
	paint := st.Color
	var curNS *sockscope.NetNS
	nsHeader := func(ns *sockscope.NetNS) {
		if v.MultiNS && ns != curNS {
			curNS = ns
			fmt.Fprintf(bw, "%s\n\n", Paint("── network namespace "+nsName(ns)+" ──", Bold, paint))
		}
	}
	if len(v.Blocks) == 0 {
		fmt.Fprintln(bw, "No ports have a listener.")
	}
	for _, b := range v.Blocks {
		nsHeader(b.NetNS)
		title := b.Port.String()
		if b.Service != "" && !st.Numeric {
			title += " (" + b.Service + ")"
		}
		fmt.Fprintln(bw, Paint(title, Bold, paint))
		t := NewTable(bw, true, paint)
		for _, l := range b.Listeners {
			lbl := listenerLabel(l)
			t.Row(Cell{Text: "  " + lbl, Color: StateColor(l.State.String())},
				Cell{Text: sockscope.FormatAddrPort(l.Local) + devText(l)},
				Cell{Text: holdersOrWhy(l, 4)},
				Cell{Text: queueText(l)})
		}
		t.Flush()
		if n := len(b.Sockets); n > 0 {
			verb := "share"
			if n == 1 {
				verb = "shares"
			}
			fmt.Fprintf(bw, "  + %s %s this port: %s\n", plural(n, "socket", "sockets"), verb, countsText(b.States, 0, paint))
			if len(b.Peers) > 0 {
				fmt.Fprintf(bw, "    peers: %s\n", peersText(b.Peers, 5))
			}
		}
		fmt.Fprintln(bw)
	}
	if len(v.Ephemeral) > 0 {
		fmt.Fprintln(bw, Paint("Outbound (local ports without a listener: the client side of connections)", Bold, paint))
		for _, e := range v.Ephemeral {
			prefix := "  " + e.Proto.String()
			if v.MultiNS {
				prefix += " [" + nsName(e.NetNS) + "]"
			}
			fmt.Fprintf(bw, "%s: %s on %s: %s\n", prefix, plural(e.Sockets, "socket", "sockets"), plural(e.Ports, "local port", "local ports"), countsText(e.States, 0, paint))
			if len(e.Remotes) > 0 {
				fmt.Fprintf(bw, "    to: %s\n", peersText(e.Remotes, 5))
			}
		}
		fmt.Fprintln(bw)
	}
	if len(v.Unix) > 0 {
		fmt.Fprintln(bw, Paint("Unix sockets by path (no ports: named by a path or an @abstract name)", Bold, paint))
		t := NewTable(bw, true, paint)
		for _, b := range v.Unix {
			if len(b.Listeners) == 0 {
				continue
			}
			l := b.Listeners[0]
			shared := ""
			if n := len(b.Sockets); n > 0 {
				shared = "+ " + plural(n, "socket", "sockets") + ": " + countsText(b.States, 0, false)
			}
			path := Sanitize(b.Path)
			if v.MultiNS {
				path = "[" + nsName(b.NetNS) + "] " + path
			}
			t.Row(Cell{Text: "  " + path},
				Cell{Text: l.Type.String()},
				Cell{Text: l.State.String(), Color: StateColor(l.State.String())},
				Cell{Text: holdersOrWhy(l, 3)},
				Cell{Text: queueText(l)},
				Cell{Text: shared})
		}
		t.Flush()
		fmt.Fprintln(bw)
	}
	if len(v.Other) > 0 {
		fmt.Fprintf(bw, "Also: %s (see `sockscope ls`).\n", countsText(v.Other, 0, false))
	}
	return bw.Flush()
}

func devText(s *sockscope.Socket) string {
	if s.Interface != 0 {
		return "%if" + strconv.FormatUint(uint64(s.Interface), 10)
	}
	return ""
}

// writePortsRecords prints the ports view for a pipe: one tab-separated
// record per listener: netns proto port service state local holders
// shared-sockets states.
func writePortsRecords(w *bufio.Writer, v *PortsView, st Style) {
	for _, b := range v.Blocks {
		svc := b.Service
		if svc == "" || st.Numeric {
			svc = "-"
		}
		states := make([]string, len(b.States))
		for i, c := range b.States {
			states[i] = c.Label + "=" + strconv.Itoa(c.N)
		}
		st := strings.Join(states, ",")
		if st == "" {
			st = "-"
		}
		for _, l := range b.Listeners {
			h := HolderText(l.Holders, 0)
			if h == "" {
				h = "-"
			}
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\n", nsName(b.NetNS), b.Port.Proto, b.Port.Num, svc,
				listenerLabel(l), sockscope.FormatAddrPort(l.Local), h, len(b.Sockets), st)
		}
	}
	for _, b := range v.Unix {
		for _, l := range b.Listeners {
			h := HolderText(l.Holders, 0)
			if h == "" {
				h = "-"
			}
			fmt.Fprintf(w, "%s\tunix\t-\t%s\t%s\t%s\t%s\t%d\t-\n", nsName(b.NetNS), l.Type, l.State, Sanitize(b.Path), h, len(b.Sockets))
		}
	}
}

// WritePortsJSON prints the ports view as JSON (docs/json.md).
func WritePortsJSON(w io.Writer, v *PortsView) error {
	b := make([]byte, 0, 64<<10)
	b = append(b, `{"version":`...)
	b = strconv.AppendInt(b, SchemaVersion, 10)
	b = append(b, `,"ports":[`...)
	for i, p := range v.Blocks {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n  {"...)
		b = appendStrField(b, "proto", p.Port.Proto.String())
		b = append(b, ',')
		b = appendUintField(b, "port", uint64(p.Port.Num))
		b = append(b, ',')
		b = appendStrField(b, "service", p.Service)
		if p.NetNS != nil {
			b = append(b, `,"netns":{`...)
			b = appendUintField(b, "inode", p.NetNS.Inode)
			b = append(b, ',')
			b = appendStrField(b, "name", p.NetNS.Name)
			b = append(b, '}')
		}
		b = append(b, `,"listeners":[`...)
		for j, l := range p.Listeners {
			if j > 0 {
				b = append(b, ',')
			}
			b = AppendSocketJSON(b, l)
		}
		b = append(b, "],"...)
		b = appendUintField(b, "sockets", uint64(len(p.Sockets)))
		b = append(b, `,"states":`...)
		b = appendCountsJSON(b, p.States)
		b = append(b, `,"peers":`...)
		b = appendPeersJSON(b, p.Peers)
		b = append(b, '}')
	}
	b = append(b, "\n],\"outbound\":["...)
	for i, e := range v.Ephemeral {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendStrField(b, "proto", e.Proto.String())
		if e.NetNS != nil {
			b = append(b, ',')
			b = appendStrField(b, "netns", e.NetNS.Name)
		}
		b = append(b, ',')
		b = appendUintField(b, "sockets", uint64(e.Sockets))
		b = append(b, ',')
		b = appendUintField(b, "ports", uint64(e.Ports))
		b = append(b, `,"states":`...)
		b = appendCountsJSON(b, e.States)
		b = append(b, `,"remotes":`...)
		b = appendPeersJSON(b, e.Remotes)
		b = append(b, '}')
	}
	b = append(b, "],\"unix\":["...)
	first := true
	for _, u := range v.Unix {
		if len(u.Listeners) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, "\n  {"...)
		b = appendStrField(b, "path", u.Path)
		b = append(b, `,"listeners":[`...)
		for j, l := range u.Listeners {
			if j > 0 {
				b = append(b, ',')
			}
			b = AppendSocketJSON(b, l)
		}
		b = append(b, "],"...)
		b = appendUintField(b, "sockets", uint64(len(u.Sockets)))
		b = append(b, `,"states":`...)
		b = appendCountsJSON(b, u.States)
		b = append(b, '}')
	}
	b = append(b, "],\"other\":"...)
	b = appendCountsJSON(b, v.Other)
	b = append(b, `,"warnings":`...)
	b = AppendWarningsJSON(b, v.Warnings)
	b = append(b, "}\n"...)
	_, err := w.Write(b)
	return err
}

func appendCountsJSON(b []byte, cs []Count) []byte {
	b = append(b, '{')
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, c.Label)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(c.N), 10)
	}
	return append(b, '}')
}

// appendPeersJSON appends counts in order as [{"addr":..., "count":N}].
func appendPeersJSON(b []byte, cs []Count) []byte {
	b = append(b, '[')
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendStrField(b, "addr", c.Label)
		b = append(b, ',')
		b = appendUintField(b, "count", uint64(c.N))
		b = append(b, '}')
	}
	return append(b, ']')
}
