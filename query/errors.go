package query

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// SyntaxError reports a filter that does not parse: where, what is wrong,
// and what would have been accepted there.
type SyntaxError struct {
	// Input is the whole filter text.
	Input string
	// Pos is the byte offset in Input of the offending token; len(Input)
	// when the filter ended too early.
	Pos int
	// Msg says what is wrong, e.g. `unknown keyword "stat"; did you mean "state"?`.
	Msg string
	// Valid lists what would work at Pos: keywords, state names, or forms
	// such as ":PORT".
	Valid []string
}

// Error returns one line: `filter: <msg> at position N (near "...")`.
func (e *SyntaxError) Error() string {
	return "filter: " + e.Msg + " at position " + strconv.Itoa(e.Pos) + " (near " + strconv.Quote(e.near()) + ")"
}

// near returns the token at Pos, or the last token when Pos is at the end.
func (e *SyntaxError) near() string {
	in := e.Input
	p := e.Pos
	if p < 0 {
		p = 0
	}
	if p > len(in) {
		p = len(in)
	}
	rest := strings.TrimLeft(in[p:], " \t\r\n")
	if rest == "" {
		// At the end: show the last word.
		t := strings.TrimRight(in[:p], " \t\r\n")
		if i := strings.LastIndexAny(t, " \t\r\n"); i >= 0 {
			t = t[i+1:]
		}
		return clip(t)
	}
	if i := strings.IndexAny(rest, " \t\r\n"); i >= 0 {
		rest = rest[:i]
	}
	return clip(rest)
}

// clip shortens s to at most 24 runes.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= 24 {
		return s
	}
	n := 0
	for i := range s {
		if n == 24 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// Caret returns the input with a caret under the error position, and a
// line listing what would be valid there:
//
//	state establised
//	      ^
//	valid here: all, connected, ...
//
// The caret is placed by display width: a wide (East Asian) character
// takes two columns, a combining mark none. Characters that do not print
// (control and format characters, invalid UTF-8) are shown as spaces so
// that the caret lines up and nothing reaches the terminal raw. A long
// input is cut to caretContext columns on each side of the position, the
// cuts marked "…".
func (e *SyntaxError) Caret() string {
	pos := min(max(e.Pos, 0), len(e.Input))
	before := caretText(e.Input[:pos])
	after := caretText(e.Input[pos:])
	if w := textWidth(before); w > caretContext {
		before = "…" + cutLeft(before, w-caretContext+1)
	}
	if textWidth(after) > caretContext {
		after = cutRight(after, caretContext-1) + "…"
	}
	var b strings.Builder
	b.WriteString(before)
	b.WriteString(after)
	b.WriteByte('\n')
	b.WriteString(strings.Repeat(" ", textWidth(before)))
	b.WriteString("^\n")
	if len(e.Valid) > 0 {
		b.WriteString("valid here: ")
		b.WriteString(strings.Join(e.Valid, ", "))
	} else {
		b.WriteString(e.Msg)
	}
	return b.String()
}

// caretContext is how many columns of the input Caret shows on each side
// of the error position.
const caretContext = 60

// caretText is s with every rune that does not print replaced by a space.
func caretText(s string) string {
	var b strings.Builder
	for _, r := range s {
		if !unicode.IsPrint(r) || r == utf8.RuneError {
			r = ' '
		}
		b.WriteRune(r)
	}
	return b.String()
}

// runeWidth is the number of terminal columns r takes: 2 for East Asian
// wide and fullwidth characters, 0 for combining marks, else 1.
func runeWidth(r rune) int {
	switch {
	case unicode.In(r, unicode.Mn, unicode.Me):
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// textWidth is the display width of s (see runeWidth).
func textWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

// cutLeft drops runes from the start of s until at least n columns are gone.
func cutLeft(s string, n int) string {
	for i, r := range s {
		if n <= 0 {
			return s[i:]
		}
		n -= runeWidth(r)
	}
	return ""
}

// cutRight keeps the longest prefix of s at most n columns wide.
func cutRight(s string, n int) string {
	for i, r := range s {
		if n -= runeWidth(r); n < 0 {
			return s[:i]
		}
	}
	return s
}

// closest returns the candidate nearest to w by edit distance, if it is
// close enough to be a plausible typo.
func closest(w string, candidates []string) (string, bool) {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(w), c); d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(w) <= 3 {
		limit = 1
	}
	if bestD == 0 || bestD > limit {
		// Also accept a prefix of a long keyword ("estab" -> "established").
		if len(w) >= 3 {
			for _, c := range candidates {
				if strings.HasPrefix(c, strings.ToLower(w)) && c != w {
					return c, true
				}
			}
		}
		return "", false
	}
	return best, true
}

// editDistance is the Levenshtein distance of two short strings; inputs
// longer than 64 bytes are not compared (they are no typo of a keyword).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
