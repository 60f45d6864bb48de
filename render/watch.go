package render

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sockscope/sockscope"
)

// Kinds of watch events, as the "event" field of an NDJSON event names them.
const (
	EventAdded   = "added"   // a socket the previous snapshot did not have
	EventRemoved = "removed" // a socket gone since the previous snapshot
	EventChanged = "changed" // a new state, peer or queue length
)

// Sources of watch events, as the "source" field names them.
const (
	SourcePoll    = "poll"          // found by comparing two snapshots
	SourceDestroy = "destroy-event" // the kernel's socket destroy event
)

// WatchEvent is one change sockscope watch reports.
type WatchEvent struct {
	// Time is when the change was seen: the snapshot's time, or when the
	// destroy event arrived.
	Time time.Time
	// Kind is EventAdded, EventRemoved or EventChanged.
	Kind string
	// Source is SourcePoll or SourceDestroy.
	Source string
	// Socket is the socket: as last seen for a removal, else as now.
	Socket *sockscope.Socket
}

// AppendWatchEventJSON appends ev as one line of JSON, newline included:
// {"version","time","event","source","socket"}, the socket as in
// AppendSocketJSON (docs/json.md). It is written by hand, as sockets are:
// through encoding/json the envelope cost 2.2 µs an event, 20 times the
// socket itself, as it re-validated the socket's JSON. The error is
// always nil.
func AppendWatchEventJSON(b []byte, ev WatchEvent) ([]byte, error) {
	b = append(b, `{"version":`...)
	b = strconv.AppendInt(b, SchemaVersion, 10)
	b = append(b, `,"time":"`...)
	b = ev.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","event":`...)
	b = appendJSONString(b, ev.Kind)
	b = append(b, `,"source":`...)
	b = appendJSONString(b, ev.Source)
	b = append(b, `,"socket":`...)
	b = AppendSocketJSON(b, ev.Socket)
	return append(b, "}\n"...), nil
}

// WatchFrame is one refresh of sockscope watch's table.
type WatchFrame struct {
	// Taken is when the snapshot was taken.
	Taken time.Time
	// Sockets are the snapshot's sockets, in display order.
	Sockets []*sockscope.Socket
	// Marks flags the sockets added ('+') or changed ('~') since the
	// previous refresh.
	Marks map[*sockscope.Socket]byte
	// Added, Removed and Changed count the changes since the previous
	// refresh.
	Added, Removed, Changed int
	// Lag, when not 0, is the time actually taken between the last two
	// refreshes, longer than Interval because a refresh took longer: the
	// header then says "lagging: every LAG".
	Lag time.Duration
	// Interval is the time between snapshots; Count the number of
	// snapshots asked for, 0 for no limit.
	Interval time.Duration
	Count    int
	// Height is the terminal's height in rows, 0 when unknown or not a
	// terminal: then every row is printed.
	Height int
}

// ClearScreen moves a terminal's cursor home and clears the screen.
const ClearScreen = "\x1b[H\x1b[2J"

// watchReserved are the screen rows a frame uses besides its socket rows:
// the header line, the table's heading, the "more rows" line, and the
// line the cursor rests on after the last newline.
const watchReserved = 4

// WriteWatchFrame draws one refresh: on a terminal the screen is cleared,
// then a header line and the table, rows added marked '+', changed ones
// '~'. With a Height, rows that do not fit are left out, unmarked ones
// first, and a last line says how many; the header stays on the screen.
// In a pipe (st.TTY false) the header is a "# " comment and every row is
// printed.
func WriteWatchFrame(w io.Writer, f WatchFrame, st Style) error {
	var b strings.Builder
	if st.TTY {
		b.WriteString(ClearScreen)
	}
	header := fmt.Sprintf("%s  %s  +%d -%d ~%d  (every %s", f.Taken.Format("15:04:05"), countOf(len(f.Sockets), "socket", "sockets"), f.Added, f.Removed, f.Changed, f.Interval)
	if f.Count > 0 {
		header += ", " + countOf(f.Count, "snapshot", "snapshots")
	}
	if f.Lag > 0 {
		header += "; lagging: every " + roundLag(f.Lag).String()
	}
	header += ")"
	if !st.TTY {
		header = "# " + header
	}
	b.WriteString(Paint(header, Bold, st.Color))
	b.WriteString("\n")

	socks, hidden := fitRows(f.Sockets, f.Marks, f.Height, st.TTY)
	t := NewTable(&b, st.TTY, st.Color, append([]string{" "}, SocketHeader(st)...)...)
	for _, s := range socks {
		mark := Cell{Text: " "}
		switch f.Marks[s] {
		case '+':
			mark = Cell{Text: "+", Color: Green}
		case '~':
			mark = Cell{Text: "~", Color: Yellow}
		}
		t.Row(append([]Cell{mark}, SocketRow(s, st)...)...)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if hidden > 0 {
		b.WriteString(Paint("… "+countOf(hidden, "more row", "more rows")+" not shown", Bold, st.Color))
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fitRows returns the sockets that fit a terminal of height rows, in
// their order, and how many were left out. Marked rows (new, changed) are
// kept before unmarked ones: they are what a watcher looks for.
func fitRows(socks []*sockscope.Socket, marks map[*sockscope.Socket]byte, height int, tty bool) ([]*sockscope.Socket, int) {
	if !tty || height <= 0 || len(socks) <= max(height-watchReserved+1, 0) {
		return socks, 0
	}
	room := max(height-watchReserved, 0)
	keep := make(map[*sockscope.Socket]bool, room)
	for _, s := range socks {
		if len(keep) < room && marks[s] != 0 {
			keep[s] = true
		}
	}
	for _, s := range socks {
		if len(keep) < room && !keep[s] {
			keep[s] = true
		}
	}
	shown := make([]*sockscope.Socket, 0, room)
	for _, s := range socks {
		if keep[s] {
			shown = append(shown, s)
		}
	}
	return shown, len(socks) - len(shown)
}

// countOf returns "1 socket", "2 sockets", "0 sockets".
func countOf(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// roundLag rounds a lag for the header: to 0.1 s from a second up, to the
// millisecond below.
func roundLag(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
