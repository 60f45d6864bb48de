package render

import (
	"bufio"
	"io"
	"unicode/utf8"
)

// Color is an ANSI SGR color for a table cell; 0 means none.
type Color uint8

// Colors used by the views.
const (
	NoColor Color = iota
	Green
	Blue
	Yellow
	Red
	Cyan
	Magenta
	Dim
	Bold
)

var sgr = [...]string{
	Green:   "\x1b[32m",
	Blue:    "\x1b[34m",
	Yellow:  "\x1b[33m",
	Red:     "\x1b[31m",
	Cyan:    "\x1b[36m",
	Magenta: "\x1b[35m",
	Dim:     "\x1b[2m",
	Bold:    "\x1b[1m",
}

const reset = "\x1b[0m"

// Cell is one table cell. Text must already be sanitized.
type Cell struct {
	Text  string
	Color Color
}

// Table writes rows either aligned for a terminal (buffered until Flush, so
// column widths fit every row) or as stable tab-separated lines for a pipe
// (streamed, no header).
type Table struct {
	w      *bufio.Writer
	tty    bool
	color  bool
	header []string
	rows   [][]Cell
	below  map[int]string // row index -> the line printed under it
	err    error
}

// NewTable starts a table. On a terminal the header is printed; in a pipe
// it is not, so the output is plain records.
func NewTable(w io.Writer, tty, color bool, header ...string) *Table {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriterSize(w, 64<<10)
	}
	return &Table{w: bw, tty: tty, color: color && tty, header: header}
}

// Row adds a row.
func (t *Table) Row(cells ...Cell) {
	if t.err != nil {
		return
	}
	if t.tty {
		t.rows = append(t.rows, cells)
		return
	}
	for i, c := range cells {
		if i > 0 {
			t.w.WriteByte('\t')
		}
		if c.Text == "" {
			t.w.WriteByte('-')
		} else {
			t.w.WriteString(c.Text)
		}
	}
	if err := t.w.WriteByte('\n'); err != nil {
		t.err = err
	}
}

// Below prints line, indented and outside the columns, under the last row
// added (ss -i's line under a socket). Text must already be sanitized. In
// a pipe the line follows the row's record.
func (t *Table) Below(line string) {
	if t.err != nil {
		return
	}
	if !t.tty {
		t.w.WriteByte('\t')
		t.w.WriteString(line)
		if err := t.w.WriteByte('\n'); err != nil {
			t.err = err
		}
		return
	}
	if len(t.rows) == 0 {
		return
	}
	if t.below == nil {
		t.below = map[int]string{}
	}
	t.below[len(t.rows)-1] = line
}

// Err returns the first write error (for example a closed pipe).
func (t *Table) Err() error { return t.err }

// Flush writes buffered rows and returns the first write error.
func (t *Table) Flush() error {
	if t.tty && t.err == nil {
		widths := make([]int, len(t.header))
		for i, h := range t.header {
			widths[i] = utf8.RuneCountInString(h)
		}
		for _, r := range t.rows {
			for i, c := range r {
				if i >= len(widths) {
					widths = append(widths, 0)
				}
				if n := utf8.RuneCountInString(c.Text); n > widths[i] {
					widths[i] = n
				}
			}
		}
		if len(t.header) > 0 {
			hc := make([]Cell, len(t.header))
			for i, h := range t.header {
				hc[i] = Cell{Text: h, Color: Bold}
			}
			t.writeAligned(hc, widths)
		}
		for i, r := range t.rows {
			t.writeAligned(r, widths)
			if line, ok := t.below[i]; ok && t.err == nil {
				t.w.WriteString("\t ")
				t.w.WriteString(line)
				if err := t.w.WriteByte('\n'); err != nil {
					t.err = err
				}
			}
			if t.err != nil {
				break
			}
		}
		t.rows, t.below = nil, nil
	}
	if err := t.w.Flush(); err != nil && t.err == nil {
		t.err = err
	}
	return t.err
}

func (t *Table) writeAligned(r []Cell, widths []int) {
	for i, c := range r {
		if i > 0 {
			t.w.WriteString("  ")
		}
		if t.color && c.Color != NoColor {
			t.w.WriteString(sgr[c.Color])
			t.w.WriteString(c.Text)
			t.w.WriteString(reset)
		} else {
			t.w.WriteString(c.Text)
		}
		if i < len(r)-1 {
			for n := utf8.RuneCountInString(c.Text); n < widths[i]; n++ {
				t.w.WriteByte(' ')
			}
		}
	}
	if err := t.w.WriteByte('\n'); err != nil {
		t.err = err
	}
}

// Paint wraps s in a color when enabled.
func Paint(s string, c Color, enabled bool) string {
	if !enabled || c == NoColor {
		return s
	}
	return sgr[c] + s + reset
}

// StateColor is the color a state is shown in.
func StateColor(name string) Color {
	switch name {
	case "LISTEN":
		return Green
	case "ESTAB":
		return Blue
	case "TIME-WAIT", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "LAST-ACK", "CLOSING":
		return Yellow
	case "SYN-SENT", "SYN-RECV":
		return Cyan
	case "UNCONN":
		return Magenta
	}
	return NoColor
}
