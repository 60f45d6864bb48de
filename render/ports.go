package render

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/views"
)

// WritePorts prints the ports view (views.BuildPorts): on a terminal, one
// block per port, then the outbound summary, the Unix paths and the other
// sockets; in a pipe, one record per listener (see writePortsRecords).
func WritePorts(w io.Writer, v *views.PortsView, st Style) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if !st.TTY {
		writePortsRecords(bw, v, st)
		return bw.Flush()
	}
	p := portsPrinter{w: bw, v: v, st: st}
	p.blocks()
	p.outbound()
	p.unix()
	if len(v.Other) > 0 {
		fmt.Fprintf(bw, "Also: %s (see `sockscope ls`).\n", otherText(v.Other))
	}
	return bw.Flush()
}

// WritePort prints the view of one port: the explanation sentences
// (sanitized here), the port's blocks, then every socket on it. Inside the
// view of a port, the port is the subject: endpoints print its number,
// never a service name. In a pipe it prints only the socket records, with
// holders.
func WritePort(w io.Writer, explain []string, v *views.PortsView, socks []*sockscope.Socket, st Style) error {
	list := st
	list.Numeric, list.Processes = true, true
	list.Flags = AnyFlagsKnown(socks)
	if !st.TTY {
		return WriteSockets(w, socks, list)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	for _, line := range explain {
		fmt.Fprintln(bw, Sanitize(line))
	}
	if len(explain) > 0 {
		fmt.Fprintln(bw)
	}
	if err := WritePorts(bw, v, st); err != nil {
		return err
	}
	fmt.Fprintln(bw, "Every socket on the port:")
	return WriteSockets(bw, socks, list)
}

// portsPrinter writes the terminal form of a ports view.
type portsPrinter struct {
	w     *bufio.Writer
	v     *views.PortsView
	st    Style
	curNS *sockscope.NetNS
}

// nsHeader starts a namespace's section when the view spans several.
func (p *portsPrinter) nsHeader(ns *sockscope.NetNS) {
	if p.v.MultiNS && ns != p.curNS {
		p.curNS = ns
		fmt.Fprintf(p.w, "%s\n\n", Paint("── network namespace "+nsName(ns)+" ──", Bold, p.st.Color))
	}
}

func (p *portsPrinter) blocks() {
	if len(p.v.Blocks) == 0 {
		fmt.Fprintln(p.w, "No ports have a listener.")
	}
	for _, b := range p.v.Blocks {
		p.nsHeader(b.NetNS)
		p.block(b)
	}
}

// block prints one port: a title, a row per listener (state, address, IP
// versions, holders, queue), and the sockets that share the port.
func (p *portsPrinter) block(b *views.PortBlock) {
	paint := p.st.Color
	title := b.Port.String()
	if b.Service != "" && !p.st.Numeric {
		title += " (" + Sanitize(b.Service) + ")"
	}
	fmt.Fprintln(p.w, Paint(title, Bold, paint))
	t := NewTable(p.w, true, paint)
	for _, l := range b.Listeners {
		t.Row(Cell{Text: "  " + listenerLabel(l), Color: StateColor(l.State.String())},
			Cell{Text: listenAddr(l)},
			Cell{Text: stackText(l)},
			Cell{Text: holdersOrWhy(l, 4)},
			Cell{Text: queueText(l)})
	}
	t.Flush()
	if n := len(b.Sockets); n > 0 {
		verb := "share"
		if n == 1 {
			verb = "shares"
		}
		fmt.Fprintf(p.w, "  + %s %s this port: %s\n", plural(n, "socket", "sockets"), verb, countsText(b.States, 0, paint))
		if len(b.Peers) > 0 {
			fmt.Fprintf(p.w, "    peers: %s\n", peersText(b.Peers, 5))
		}
		if tw := timeWaitFlags(b.Sockets); tw != "" {
			fmt.Fprintf(p.w, "    TIME-WAIT flags: %s\n", tw)
		}
	}
	fmt.Fprintln(p.w)
}

// timeWaitFlags counts the TIME-WAIT sockets whose bind flags are known by
// flags: "2 reuseport, 1 none"; "" when no TIME-WAIT socket's flags are
// known. A TIME-WAIT socket keeps the flags of the socket it was, and they
// decide whether a new bind() may share its port.
func timeWaitFlags(socks []*sockscope.Socket) string {
	var counts []views.Count
	for _, s := range socks {
		if s.State != sockscope.TimeWait || !FlagsKnown(s) {
			continue
		}
		label := FlagsText(s)
		if label == "" {
			if s.ReuseAddr == sockscope.Unknown || s.ReusePort == sockscope.Unknown {
				continue // one flag unknown, the other unset: nothing to say
			}
			label = "none"
		}
		i := 0
		for i < len(counts) && counts[i].Label != label {
			i++
		}
		if i == len(counts) {
			counts = append(counts, views.Count{Label: label})
		}
		counts[i].N++
	}
	return countsText(counts, 0, false)
}

func (p *portsPrinter) outbound() {
	if len(p.v.Ephemeral) == 0 {
		return
	}
	fmt.Fprintln(p.w, Paint("Outbound (local ports without a listener: the client side of connections)", Bold, p.st.Color))
	for _, e := range p.v.Ephemeral {
		prefix := "  " + e.Proto.String()
		if p.v.MultiNS {
			prefix += " [" + nsName(e.NetNS) + "]"
		}
		fmt.Fprintf(p.w, "%s: %s on %s: %s\n", prefix, plural(e.Sockets, "socket", "sockets"),
			plural(e.Ports, "local port", "local ports"), countsText(e.States, 0, p.st.Color))
		if len(e.Remotes) > 0 {
			fmt.Fprintf(p.w, "    to: %s\n", peersText(e.Remotes, 5))
		}
	}
	fmt.Fprintln(p.w)
}

// unix prints the Unix paths that have a listener.
func (p *portsPrinter) unix() {
	if len(p.v.Unix) == 0 {
		return
	}
	fmt.Fprintln(p.w, Paint("Unix sockets by path (no ports: named by a path or an @abstract name)", Bold, p.st.Color))
	t := NewTable(p.w, true, p.st.Color)
	for _, b := range p.v.Unix {
		if len(b.Listeners) == 0 {
			continue
		}
		l := b.Listeners[0]
		shared := ""
		if n := len(b.Sockets); n > 0 {
			shared = "+ " + plural(n, "socket", "sockets") + ": " + countsText(b.States, 0, false)
		}
		path := Sanitize(b.Path)
		if p.v.MultiNS {
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
	fmt.Fprintln(p.w)
}

// listenAddr is a listener's local endpoint as the ports view prints it:
// numeric, as ss prints it ("0.0.0.0%eth0:68" for a device-bound socket),
// sanitized.
func listenAddr(s *sockscope.Socket) string {
	if s.Interface != 0 {
		return Sanitize(s.LocalString())
	}
	return s.LocalString()
}

// stackText is a listener's IP versions and, where known to be set, its
// bind flags: "dual-stack (reuseport)".
func stackText(s *sockscope.Socket) string {
	k := views.StackOf(s).String()
	if f := FlagsText(s); f != "" {
		return k + " (" + f + ")"
	}
	return k
}

// listenerLabel is a port owner's state: BOUND for a TCP socket that is
// bound but inactive.
func listenerLabel(s *sockscope.Socket) string {
	if s.BoundInactive() {
		return "BOUND"
	}
	return s.State.String()
}

func queueText(s *sockscope.Socket) string {
	if s.State == sockscope.Listen {
		return fmt.Sprintf("accept queue %d/%d", s.RecvQ, s.SendQ)
	}
	return ""
}

func countsText(cs []views.Count, max int, paint bool) string {
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

func peersText(cs []views.Count, max int) string {
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

// otherText is "1 raw socket, 2 unnamed unix sockets".
func otherText(cs []views.Count) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = plural(c.N, c.Label+" socket", c.Label+" sockets")
	}
	return strings.Join(parts, ", ")
}

// plural returns "1 one" or "N many".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// writePortsRecords prints the ports view for a pipe: one tab-separated
// record per listener:
//
//	netns proto port service state local holders shared-sockets states stack
//
// and one per Unix listener (port "-", the socket type as the service, the
// path as local, stack "-"). An empty field is "-".
func writePortsRecords(w *bufio.Writer, v *views.PortsView, st Style) {
	for _, b := range v.Blocks {
		svc := Sanitize(b.Service)
		if svc == "" || st.Numeric {
			svc = "-"
		}
		states := make([]string, len(b.States))
		for i, c := range b.States {
			states[i] = c.Label + "=" + strconv.Itoa(c.N)
		}
		counts := strings.Join(states, ",")
		if counts == "" {
			counts = "-"
		}
		for _, l := range b.Listeners {
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", nsName(b.NetNS), b.Port.Proto, b.Port.Num, svc,
				listenerLabel(l), listenAddr(l), holdersField(l), len(b.Sockets), counts, orDash(views.StackOf(l).String()))
		}
	}
	for _, b := range v.Unix {
		for _, l := range b.Listeners {
			fmt.Fprintf(w, "%s\tunix\t-\t%s\t%s\t%s\t%s\t%d\t-\t-\n", nsName(b.NetNS), l.Type, l.State, Sanitize(b.Path), holdersField(l), len(b.Sockets))
		}
	}
}

func holdersField(s *sockscope.Socket) string { return orDash(HolderText(s.Holders, 0)) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// The ports document (docs/json.md), built with encoding/json. Sockets are
// embedded as json.RawMessage from AppendSocketJSON, the measured fast path.
type (
	portsDoc struct {
		Version  int             `json:"version"`
		Ports    []portJSON      `json:"ports"`
		Outbound []outboundJSON  `json:"outbound"`
		Unix     []unixJSON      `json:"unix"`
		Other    countsJSON      `json:"other"`
		Warnings json.RawMessage `json:"warnings"`
	}
	portJSON struct {
		Proto     string            `json:"proto"`
		Port      uint16            `json:"port"`
		Service   string            `json:"service"`
		NetNS     *netnsJSON        `json:"netns,omitempty"`
		Listeners []json.RawMessage `json:"listeners"`
		Sockets   int               `json:"sockets"`
		States    countsJSON        `json:"states"`
		Peers     []peerJSON        `json:"peers"`
	}
	outboundJSON struct {
		Proto   string     `json:"proto"`
		NetNS   *netnsJSON `json:"netns,omitempty"`
		Sockets int        `json:"sockets"`
		Ports   int        `json:"ports"`
		States  countsJSON `json:"states"`
		Remotes []peerJSON `json:"remotes"`
	}
	unixJSON struct {
		Path      string            `json:"path"`
		Listeners []json.RawMessage `json:"listeners"`
		Sockets   int               `json:"sockets"`
		States    countsJSON        `json:"states"`
	}
	netnsJSON struct {
		Inode uint64 `json:"inode"`
		Name  string `json:"name"`
	}
	peerJSON struct {
		Addr  string `json:"addr"`
		Count int    `json:"count"`
	}
)

// countsJSON is an object of counts, {"ESTAB":3,"TIME-WAIT":1}, in the
// view's order (most frequent first), which a Go map would lose.
type countsJSON []views.Count

// MarshalJSON implements json.Marshaler.
func (cs countsJSON) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, c.Label)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(c.N), 10)
	}
	return append(b, '}'), nil
}

func netnsOf(ns *sockscope.NetNS) *netnsJSON {
	if ns == nil {
		return nil
	}
	return &netnsJSON{Inode: ns.Inode, Name: ns.Name}
}

func peersJSON(cs []views.Count) []peerJSON {
	out := make([]peerJSON, len(cs))
	for i, c := range cs {
		out[i] = peerJSON{Addr: c.Label, Count: c.N}
	}
	return out
}

// listenersJSON embeds listeners as socket objects; an IP listener's object
// gains "stack" (views.StackOf): "IPv4", "IPv6 only", "dual-stack" or
// "IPv6 (v6only unknown)".
func listenersJSON(ls []*sockscope.Socket) []json.RawMessage {
	out := make([]json.RawMessage, len(ls))
	for i, l := range ls {
		b := AppendSocketJSON(nil, l)
		if k := views.StackOf(l); k != views.NotIP {
			b = append(b[:len(b)-1], `,"stack":`...) // AppendSocketJSON ends with '}'
			b = appendJSONString(b, k.String())
			b = append(b, '}')
		}
		out[i] = b
	}
	return out
}

// portsDocument converts a view into its JSON document.
func portsDocument(v *views.PortsView) portsDoc {
	doc := portsDoc{
		Version:  SchemaVersion,
		Ports:    make([]portJSON, 0, len(v.Blocks)),
		Outbound: make([]outboundJSON, 0, len(v.Ephemeral)),
		Unix:     []unixJSON{},
		Other:    v.Other,
		Warnings: AppendWarningsJSON(nil, v.Warnings),
	}
	for _, p := range v.Blocks {
		doc.Ports = append(doc.Ports, portJSON{
			Proto: p.Port.Proto.String(), Port: p.Port.Num, Service: p.Service, NetNS: netnsOf(p.NetNS),
			Listeners: listenersJSON(p.Listeners), Sockets: len(p.Sockets), States: p.States, Peers: peersJSON(p.Peers),
		})
	}
	for _, e := range v.Ephemeral {
		doc.Outbound = append(doc.Outbound, outboundJSON{
			Proto: e.Proto.String(), NetNS: netnsOf(e.NetNS), Sockets: e.Sockets, Ports: e.Ports,
			States: e.States, Remotes: peersJSON(e.Remotes),
		})
	}
	for _, u := range v.Unix {
		if len(u.Listeners) == 0 {
			continue
		}
		doc.Unix = append(doc.Unix, unixJSON{Path: u.Path, Listeners: listenersJSON(u.Listeners), Sockets: len(u.Sockets), States: u.States})
	}
	return doc
}

// WritePortsJSON prints the ports view as JSON (docs/json.md).
func WritePortsJSON(w io.Writer, v *views.PortsView) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as the socket objects: "<" stays "<"
	if err := enc.Encode(portsDocument(v)); err != nil {
		return fmt.Errorf("encoding the ports view: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
