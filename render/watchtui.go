package render

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"

	"github.com/sockscope/sockscope"
)

// Marks of a row in sockscope watch's full-screen view.
const (
	MarkAdded   = '+' // new since a recent refresh
	MarkChanged = '~' // a new state, peer or queue length in a recent refresh
	MarkClosed  = '-' // gone: kept, dimmed and struck, for a few refreshes
)

// WatchRow is one row of the full-screen watch view.
type WatchRow struct {
	// Socket is the socket, as last seen.
	Socket *sockscope.Socket
	// Mark is MarkAdded, MarkChanged, MarkClosed or 0.
	Mark byte
	// Seen is when watch first saw the socket; Initial reports that it
	// was in the first snapshot, so that its real age is at least Now-Seen.
	Seen    time.Time
	Initial bool
}

// WatchScreen is one frame of sockscope watch's full-screen view: a
// header, the table's heading, as many rows as fit from Offset on, and a
// status line (or the filter prompt and its error).
type WatchScreen struct {
	// Taken is the last snapshot's time; Now the time ages are measured
	// to (the same, in practice).
	Taken, Now time.Time
	// Sockets is the number of sockets of the last snapshot, Added,
	// Removed and Changed the changes of the last refresh.
	Sockets                 int
	Added, Removed, Changed int
	// Interval is the time between snapshots; Lag, when not 0, the time
	// the last two refreshes actually took (see WatchFrame.Lag).
	Interval, Lag time.Duration
	// Rows are the rows to show, sorted and filtered, from the first one
	// on screen (those past the screen's height are left out); Offset is
	// that row's index among Total.
	Rows          []WatchRow
	Offset, Total int
	// Width and Height are the terminal's size; 0 means unknown (80x24).
	Width, Height int
	// Sort names the sort column, Desc its direction.
	Sort string
	Desc bool
	// Filter is the view's filter text, "" for none; Paused shows
	// "paused" in the header.
	Filter string
	Paused bool
	// Prompting shows the filter prompt with Input in the status line;
	// PromptErr, when not "", is the filter's error (query's caret
	// message), shown above the prompt.
	Prompting bool
	Input     string
	PromptErr string
	// Message, when not "", replaces the key help in the status line.
	Message string
}

// WatchKeysHelp is the status line's key help.
const WatchKeysHelp = "q quit · / filter · space pause · s/S sort · r reverse · ↑↓ jk PgUp PgDn Home End scroll"

// WatchPageRows returns how many socket rows a screen of height rows
// shows, with and without the prompt's error lines.
func WatchPageRows(height int, promptErr string) int {
	if height <= 0 {
		height = 24
	}
	reserved := 3 // the header, the table's heading, the status line
	if promptErr != "" {
		reserved += strings.Count(promptErr, "\n") + 1
	}
	return max(height-reserved, 1)
}

// Render draws the frame: exactly Height lines (fewer when the terminal
// is smaller than the frame's fixed lines), none wider than Width. Text
// from the system (paths, process names) is sanitized by SocketRow; the
// filter and the prompt's input are sanitized here.
func (sc WatchScreen) Render(st Style) string {
	w, h := sc.Width, sc.Height
	if w <= 0 {
		w = 80
	}
	if h <= 0 {
		h = 24
	}
	var lines []string
	lines = append(lines, fitLine(sc.header(st.Color), w))

	st.TTY = true
	// Only the rows on screen are formatted, and the columns fit them:
	// a frame costs the same with ten sockets or a hundred thousand.
	page := WatchPageRows(h, sc.PromptErr)
	shown := sc.Rows[:min(page, len(sc.Rows))]
	head := append([]string{" ", "AGE"}, SocketHeader(st)...)
	cells := make([][]Cell, 0, len(shown))
	widths := make([]int, len(head))
	for i, s := range head {
		widths[i] = textCells(s)
	}
	for _, r := range shown {
		row := append([]Cell{{Text: markText(r.Mark)}, {Text: ageText(r, sc.Now)}}, SocketRow(r.Socket, st)...)
		for j, c := range row {
			if j < len(widths) {
				widths[j] = max(widths[j], textCells(c.Text))
			}
		}
		cells = append(cells, row)
	}
	hc := make([]Cell, len(head))
	for i, s := range head {
		hc[i] = Cell{Text: s}
	}
	lines = append(lines, Paint(fitLine(alignCells(hc, widths, false), w), Bold, st.Color))

	for i, row := range cells {
		mark := shown[i].Mark
		closed := mark == MarkClosed
		line := fitLine(alignCells(row, widths, st.Color && !closed), w)
		switch {
		case closed && st.Color:
			line = "\x1b[2;9m" + line + reset
		case mark == MarkAdded && st.Color:
			line = sgr[Bold] + line + reset
		}
		lines = append(lines, line)
	}
	for len(lines) < h-1-len(sc.promptErrLines()) {
		lines = append(lines, "")
	}
	for _, l := range sc.promptErrLines() {
		lines = append(lines, Paint(fitLine(l, w), Red, st.Color))
	}
	lines = append(lines, sc.status(w, page, st.Color))
	if len(lines) > h {
		lines = lines[:h]
	}
	return strings.Join(lines, "\n")
}

// promptErrLines are the filter error's lines, sanitized.
func (sc WatchScreen) promptErrLines() []string {
	if sc.PromptErr == "" {
		return nil
	}
	ls := strings.Split(sc.PromptErr, "\n")
	for i, l := range ls {
		ls[i] = Sanitize(l)
	}
	return ls
}

// header is the first line: the time, the counts, the pace (with the lag),
// the sort, the filter and "paused".
func (sc WatchScreen) header(color bool) string {
	var b strings.Builder
	if sc.Taken.IsZero() {
		b.WriteString(Paint("taking the first snapshot…", Bold, color))
	} else {
		b.WriteString(Paint(sc.Taken.Format("15:04:05"), Bold, color))
		b.WriteString("  ")
		b.WriteString(countOf(sc.Sockets, "socket", "sockets"))
		b.WriteString("  +" + strconv.Itoa(sc.Added) + " -" + strconv.Itoa(sc.Removed) + " ~" + strconv.Itoa(sc.Changed))
	}
	b.WriteString("  (every " + sc.Interval.String())
	if sc.Lag > 0 {
		b.WriteString("; " + Paint("lagging: every "+roundLag(sc.Lag).String(), Yellow, color))
	}
	b.WriteString(")  sort: " + sc.Sort)
	if sc.Desc {
		b.WriteString(" ↓")
	} else {
		b.WriteString(" ↑")
	}
	if sc.Filter != "" {
		b.WriteString("  filter: " + Sanitize(sc.Filter))
	}
	if sc.Paused {
		b.WriteString("  " + Paint("[paused]", Yellow, color))
	}
	return b.String()
}

// status is the last line: the prompt, or the rows shown and the keys.
func (sc WatchScreen) status(w, page int, color bool) string {
	if sc.Prompting {
		return fitLine("/"+Sanitize(sc.Input)+"█", w)
	}
	var pos string
	if sc.Total == 0 {
		pos = "no rows"
	} else {
		first := min(sc.Offset+1, sc.Total)
		pos = "rows " + strconv.Itoa(first) + "-" + strconv.Itoa(min(sc.Offset+page, sc.Total)) + " of " + strconv.Itoa(sc.Total)
	}
	msg := WatchKeysHelp
	if sc.Message != "" {
		msg = Sanitize(sc.Message)
	}
	return Paint(fitLine(pos+"  "+msg, w), Dim, color)
}

func markText(m byte) string {
	if m == 0 {
		return " "
	}
	return string(rune(m))
}

// ageText is the time since watch first saw the row's socket, ">" before
// it for a socket that was there when watch started.
func ageText(r WatchRow, now time.Time) string {
	if r.Seen.IsZero() {
		return ""
	}
	d := max(now.Sub(r.Seen), 0).Truncate(time.Second)
	s := d.String()
	if r.Initial {
		return ">" + s
	}
	return s
}

// alignCells joins cells into a line, each padded to its column's width,
// with per-cell colors when color is set.
func alignCells(r []Cell, widths []int, color bool) string {
	var b strings.Builder
	for i, c := range r {
		if i > 0 {
			b.WriteString("  ")
		}
		text := c.Text
		if i < len(r)-1 && i < len(widths) {
			text += strings.Repeat(" ", max(widths[i]-textCells(c.Text), 0))
		}
		if color && c.Color != NoColor {
			// Color the text only, not its padding.
			pad := len(text) - len(c.Text)
			b.WriteString(sgr[c.Color] + c.Text + reset + text[len(text)-pad:])
			continue
		}
		b.WriteString(text)
	}
	return strings.TrimRight(b.String(), " ")
}

// fitLine cuts s to w terminal columns, ending in "…" when it was cut.
// SGR sequences in s (ESC [ ... m) take no columns and are kept.
func fitLine(s string, w int) string {
	if textCells(s) <= w {
		return s
	}
	var b strings.Builder
	cols := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b {
			j := strings.IndexByte(s[i:], 'm')
			if j < 0 {
				break
			}
			b.WriteString(s[i : i+j+1])
			i += j + 1
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		rw := runeCells(r)
		if cols+rw > w-1 {
			break
		}
		b.WriteString(s[i : i+size])
		cols += rw
		i += size
	}
	b.WriteString("…")
	if strings.Contains(s, "\x1b[") {
		b.WriteString(reset)
	}
	return b.String()
}

// textCells is the number of terminal columns s takes, SGR sequences
// excluded.
func textCells(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b {
			j := strings.IndexByte(s[i:], 'm')
			if j < 0 {
				return n
			}
			i += j + 1
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		n += runeCells(r)
		i += size
	}
	return n
}

// runeCells is the number of terminal columns r takes: 2 for East Asian
// wide and fullwidth characters, 0 for combining marks, else 1.
func runeCells(r rune) int {
	if unicode.In(r, unicode.Mn, unicode.Me) {
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}
