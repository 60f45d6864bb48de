package query

import "unicode/utf8"

// hasMeta reports whether a pattern contains glob metacharacters.
func hasMeta(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '*', '?', '[', '\\':
			return true
		}
	}
	return false
}

// globMatch reports whether name matches the fnmatch(3) pattern without
// FNM_PATHNAME (so "*" also matches "/"): "*", "?", "[...]" with ranges and
// "!"/"^" negation, and backslash escapes. With fold, ASCII letters match
// regardless of case (FNM_CASEFOLD, as ss matches Unix paths). A malformed
// bracket matches itself literally. The matcher backtracks only to the
// last "*", so it runs in O(len(pattern)*len(name)).
func globMatch(pattern, name string, fold bool) bool {
	px, nx := 0, 0
	starPx, starNx := -1, -1
	for px < len(pattern) || nx < len(name) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				starPx, starNx = px, nx
				px++
				continue
			case '?':
				if nx < len(name) {
					_, w := utf8.DecodeRuneInString(name[nx:])
					px++
					nx += w
					continue
				}
			case '[':
				if nx < len(name) {
					r, w := utf8.DecodeRuneInString(name[nx:])
					if ok, width, valid := matchClass(pattern[px:], r, fold); valid {
						if ok {
							px += width
							nx += w
							continue
						}
					} else if name[nx] == '[' {
						px++
						nx++
						continue
					}
				}
			default:
				if c == '\\' && px+1 < len(pattern) {
					if nx < len(name) && eqByte(pattern[px+1], name[nx], fold) {
						px += 2
						nx++
						continue
					}
				} else if nx < len(name) && eqByte(c, name[nx], fold) {
					px++
					nx++
					continue
				}
			}
		}
		if starPx >= 0 && starNx < len(name) {
			starNx++
			px, nx = starPx+1, starNx
			continue
		}
		return false
	}
	return true
}

func eqByte(a, b byte, fold bool) bool {
	if a == b {
		return true
	}
	return fold && lower(a) == lower(b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func lowerRune(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// matchClass matches r against the bracket expression at the start of p.
// It returns whether r matched, the expression's length, and whether the
// expression was well formed (closed by "]").
func matchClass(p string, r rune, fold bool) (matched bool, width int, valid bool) {
	i := 1
	negate := false
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		negate = true
		i++
	}
	if fold {
		r = lowerRune(r)
	}
	first := true
	for i < len(p) {
		if p[i] == ']' && !first {
			return matched != negate, i + 1, true
		}
		first = false
		lo, w := classChar(p, i)
		if w == 0 {
			return false, 0, false
		}
		i += w
		hi := lo
		if i+1 < len(p) && p[i] == '-' && p[i+1] != ']' {
			h, w2 := classChar(p, i+1)
			if w2 == 0 {
				return false, 0, false
			}
			hi = h
			i += 1 + w2
		}
		if fold {
			lo, hi = lowerRune(lo), lowerRune(hi)
		}
		if lo <= r && r <= hi {
			matched = true
		}
	}
	return false, 0, false
}

// classChar decodes one (possibly escaped) character of a bracket
// expression at p[i:].
func classChar(p string, i int) (rune, int) {
	if p[i] == '\\' {
		if i+1 >= len(p) {
			return 0, 0
		}
		r, w := utf8.DecodeRuneInString(p[i+1:])
		return r, w + 1
	}
	r, w := utf8.DecodeRuneInString(p[i:])
	return r, w
}
