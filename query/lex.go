package query

import (
	"strconv"
	"strings"
)

// token is one word of the filter with its byte offset in the input.
type token struct {
	text string // unescaped
	pos  int
	// quoted reports that the word contained a backslash escape, so it is
	// never an operator or keyword.
	quoted bool
}

// maxTokens bounds the work on absurd inputs.
const maxTokens = 4096

// lex splits the input as ss does: words separated by blanks, a backslash
// escaping the next byte. It is more lenient than ss in one way: "(" and "!"
// at the start of a word and ")" at its end are split off, so
// `(dport = :ssh)` works, and a word such as `dport>=1024` is split at its
// operator when it starts with a term keyword.
func lex(in string) ([]token, *SyntaxError) {
	var toks []token
	i := 0
	for i < len(in) {
		c := in[i]
		if isBlank(c) {
			i++
			continue
		}
		start := i
		var b strings.Builder
		quoted := false
		for i < len(in) && !isBlank(in[i]) {
			if in[i] == '\\' {
				quoted = true
				i++
				if i == len(in) {
					break
				}
			}
			b.WriteByte(in[i])
			i++
		}
		word := b.String()
		if quoted {
			toks = append(toks, token{text: word, pos: start, quoted: true})
		} else {
			toks = splitWord(toks, word, start)
		}
		if len(toks) > maxTokens {
			// Point at the first token past the limit, which may be
			// inside a long word such as "((((...".
			return nil, &SyntaxError{Input: in, Pos: toks[maxTokens].pos,
				Msg: "filter too long: more than " + strconv.Itoa(maxTokens) + " words, operators and parentheses"}
		}
	}
	return toks, nil
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// splitWord appends the tokens of one unescaped word.
func splitWord(toks []token, w string, pos int) []token {
	// Leading "(" and "!" (not "!=").
	for len(w) > 1 {
		if w[0] == '(' || (w[0] == '!' && w[1] != '=') {
			toks = append(toks, token{text: w[:1], pos: pos})
			w, pos = w[1:], pos+1
			continue
		}
		break
	}
	// Trailing ")".
	n := 0
	for len(w) > 1 && w[len(w)-1] == ')' {
		w = w[:len(w)-1]
		n++
	}
	toks = splitOperator(toks, w, pos)
	for k := 0; k < n; k++ {
		toks = append(toks, token{text: ")", pos: pos + len(w) + k})
	}
	return toks
}

// splitOperator splits "dport>=1024" into "dport", ">=", "1024" when the
// word starts with a term keyword directly followed by an operator.
func splitOperator(toks []token, w string, pos int) []token {
	i := strings.IndexAny(w, "=<>!")
	if i <= 0 || !termKeyword(w[:i]) {
		return append(toks, token{text: w, pos: pos})
	}
	op := w[i : i+1]
	if i+1 < len(w) && w[i+1] == '=' {
		op = w[i : i+2]
	}
	if op == "!" {
		return append(toks, token{text: w, pos: pos})
	}
	toks = append(toks, token{text: w[:i], pos: pos}, token{text: op, pos: pos + i})
	if rest := w[i+len(op):]; rest != "" {
		toks = append(toks, token{text: rest, pos: pos + i + len(op)})
	}
	return toks
}
