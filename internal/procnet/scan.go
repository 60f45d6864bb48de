package procnet

import (
	"bufio"
	"errors"
	"io"
)

// maxLine bounds one line of a /proc/net table. Real lines are under 200
// bytes; a longer one is malformed input, not something to buffer.
const maxLine = 4096

// lineScanner wraps bufio.Scanner with a line counter and turns a too-long
// line into a ParseError that names the line.
type lineScanner struct {
	sc   *bufio.Scanner
	line int
}

func newLineScanner(r io.Reader) *lineScanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxLine), maxLine)
	return &lineScanner{sc: sc}
}

func (s *lineScanner) scan() bool {
	if s.sc.Scan() {
		s.line++
		return true
	}
	return false
}

func (s *lineScanner) bytes() []byte { return s.sc.Bytes() }

func (s *lineScanner) err() error {
	err := s.sc.Err()
	if errors.Is(err, bufio.ErrTooLong) {
		return &ParseError{Line: s.line + 1, Field: "line", Value: "", Err: err}
	}
	return err
}

// splitFields stores the fields of b (runs of bytes other than space and tab)
// into dst, at most len(dst) of them, and returns how many it stored and the
// offset just past the last one stored. It does not allocate.
func splitFields(b []byte, dst [][]byte) (n, end int) {
	i := 0
	for n < len(dst) {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		if i == len(b) {
			break
		}
		start := i
		for i < len(b) && b[i] != ' ' && b[i] != '\t' {
			i++
		}
		dst[n] = b[start:i]
		n++
		end = i
	}
	return n, end
}

// parseHex parses 1 to maxDigits hex digits (either case) with nothing else.
func parseHex(b []byte, maxDigits int) (uint64, bool) {
	if len(b) == 0 || len(b) > maxDigits || maxDigits > 16 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}

// parseDec parses an unsigned decimal number no larger than limit.
func parseDec(b []byte, limit uint64) (uint64, error) {
	if len(b) == 0 || len(b) > 20 {
		return 0, errSyntax
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errSyntax
		}
		d := uint64(c - '0')
		if d > limit || v > (limit-d)/10 {
			return 0, errRange
		}
		v = v*10 + d
	}
	return v, nil
}

// isDecSigned reports whether b is an optionally negative decimal number.
func isDecSigned(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 20 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
