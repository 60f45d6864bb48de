package render

import (
	"strconv"
	"unicode/utf8"
)

// Sanitize makes untrusted text (process names, command lines, Unix socket
// paths) safe for a terminal: control characters, escape sequences, invalid
// UTF-8 and Unicode format characters are shown as Go-style escapes (\x1b,
// \n, \u202e), and a backslash is doubled. Printable text is unchanged.
func Sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c == '\\' || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return string(AppendSanitized(nil, s))
}

// AppendSanitized appends Sanitize(s) to b.
func AppendSanitized(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\\':
				b = append(b, '\\', '\\')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			i++
			continue
		}
		if !strconv.IsPrint(r) || isBidiOrFormat(r) {
			b = appendRuneEscape(b, r)
			i += size
			continue
		}
		b = append(b, s[i:i+size]...)
		i += size
	}
	return b
}

// appendRuneEscape appends \uXXXX, or \UXXXXXXXX above the BMP.
func appendRuneEscape(b []byte, r rune) []byte {
	n, prefix := 4, byte('u')
	if r > 0xffff {
		n, prefix = 8, 'U'
	}
	b = append(b, '\\', prefix)
	for shift := (n - 1) * 4; shift >= 0; shift -= 4 {
		b = append(b, hexDigits[(r>>uint(shift))&0xf])
	}
	return b
}

const hexDigits = "0123456789abcdef"

// isBidiOrFormat reports the invisible characters that reorder or hide text
// in a terminal (bidirectional overrides, zero-width joiners).
func isBidiOrFormat(r rune) bool {
	switch {
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f,
		r >= 0x200b && r <= 0x200d, r == 0xfeff, r == 0x061c:
		return true
	}
	return false
}
