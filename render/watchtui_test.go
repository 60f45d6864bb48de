package render

import (
	"strings"
	"testing"
	"time"

	"github.com/sockscope/sockscope"
)

// TestFitLine cuts lines by terminal columns: wide characters take two,
// SGR sequences none and are kept, a cut line ends in "…".
func TestFitLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		w    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"日本語abc", 9, "日本語abc"},
		{"日本語abc", 5, "日本…"},
		{"日本語abc", 4, "日…"},
		{"\x1b[1mabcdef\x1b[0m", 4, "\x1b[1mabc…\x1b[0m"},
		{"\x1b[1mab\x1b[0m", 2, "\x1b[1mab\x1b[0m"},
		{"abc", 1, "…"},
	} {
		if got := fitLine(c.in, c.w); got != c.want {
			t.Errorf("fitLine(%q, %d) = %q, want %q", c.in, c.w, got, c.want)
		}
		if n := textCells(fitLine(c.in, c.w)); n > c.w {
			t.Errorf("fitLine(%q, %d) takes %d columns", c.in, c.w, n)
		}
	}
}

// TestWatchScreenSizes draws a frame at many terminal sizes, tiny ones
// included: never more lines than the height, nor wider than the width.
func TestWatchScreenSizes(t *testing.T) {
	var rows []WatchRow
	for i := range 40 {
		s := &sockscope.Socket{Cookie: uint64(i + 1), Proto: sockscope.Unix, Type: sockscope.SockStream, State: sockscope.Listen,
			Path: "/run/日本/\x1b[31msock", Inode: uint64(i + 1)}
		rows = append(rows, WatchRow{Socket: s, Mark: MarkAdded})
	}
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, w := range []int{1, 2, 10, 40, 200} {
		for _, h := range []int{1, 2, 3, 4, 10, 60} {
			page := WatchPageRows(h, "")
			sc := WatchScreen{Taken: at, Now: at, Sockets: 40, Interval: time.Second, Rows: rows[:min(page, len(rows))], Total: len(rows),
				Width: w, Height: h, Sort: "local", Filter: "src /run/\x1b[2J", Prompting: h > 3, Input: "\x07x"}
			for _, color := range []bool{false, true} {
				out := sc.Render(Style{TTY: true, Color: color})
				lines := strings.Split(out, "\n")
				if len(lines) > h {
					t.Errorf("%dx%d: %d lines", w, h, len(lines))
				}
				for _, l := range lines {
					if n := textCells(l); n > w {
						t.Errorf("%dx%d: a line of %d columns: %q", w, h, n, l)
					}
					if strings.Contains(strings.ReplaceAll(l, "\x1b[", ""), "\x1b") || strings.Contains(l, "\x07") || strings.Contains(l, "\x1b[2J") || strings.Contains(l, "\x1b[31m") {
						t.Errorf("%dx%d: a raw control character: %q", w, h, l)
					}
				}
			}
		}
	}
}
