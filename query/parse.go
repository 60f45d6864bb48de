package query

import (
	"net/netip"
	"os/user"
	"strconv"
	"strings"

	"github.com/sockscope/sockscope"
)

// Option configures Parse.
type Option func(*config)

type config struct {
	services func(name, proto string) (uint16, bool)
	users    func(name string) (uint32, bool)
}

// WithServices sets how port names (":ssh") are resolved. The function is
// asked for "tcp" and then "udp"; a name that resolves to different ports
// for the two is an error, as in ss. The default is [LookupService].
func WithServices(lookup func(name, proto string) (uint16, bool)) Option {
	return func(c *config) { c.services = lookup }
}

// WithUsers sets how user names in `user NAME` are resolved to uids. The
// default looks the name up with os/user (the password database).
func WithUsers(lookup func(name string) (uint32, bool)) Option {
	return func(c *config) { c.users = lookup }
}

func lookupUser(name string) (uint32, bool) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, false
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(uid), true
}

// termKeywords are the words that start a term, for error messages.
var termKeywords = []string{
	"state", "exclude", "sport", "dport", "src", "dst",
	"proc", "pid", "user", "netns", "container", "unit", "not", "(",
}

// termKeyword reports whether w (any case) starts a term with an operand.
func termKeyword(w string) bool {
	switch strings.ToLower(w) {
	case "state", "exclude", "excl", "sport", "dport", "src", "dst",
		"proc", "pid", "user", "netns", "container", "unit":
		return true
	}
	return false
}

// isReserved reports whether an unescaped word is an operator or a
// parenthesis, which can never be an operand.
func isReserved(w string) bool {
	switch strings.ToLower(w) {
	case "and", "&", "&&", "or", "|", "||", "not", "!", "(", ")":
		return true
	}
	return false
}

var (
	portForms = []string{":PORT (0-65535)", ":SERVICE (e.g. :ssh)", "PORT", "*"}
	hostForms = []string{"ADDR", "ADDR/LEN", "ADDR:PORT", "[IPV6]:PORT", "*:PORT", ":PORT", "*", "unix:GLOB", "/PATH"}
	portOps   = []string{"=", "!=", "<", "<=", ">", ">=", "eq", "ne", "lt", "le", "gt", "ge"}
)

// Parse parses a filter in the ss filter language, extended with terms ss
// lacks. The grammar, its differences from ss, and the meaning of every
// term are in the package documentation. An empty filter matches every
// socket. Every error is a *SyntaxError.
func Parse(s string, opts ...Option) (*Filter, error) {
	cfg := config{services: LookupService, users: lookupUser}
	for _, o := range opts {
		o(&cfg)
	}
	toks, serr := lex(s)
	if serr != nil {
		return nil, serr
	}
	p := &parser{in: s, toks: toks, cfg: cfg}
	expr, serr := p.parseList(true)
	if serr != nil {
		return nil, serr
	}
	if p.i < len(p.toks) {
		// parseList stops only at the end or at ")".
		t := p.toks[p.i]
		return nil, p.errAt(t.pos, `unbalanced ")": no "(" before it`, "and", "or")
	}
	if p.sawStates && p.states == 0 {
		return nil, p.errAt(p.lastStatePos, "the state and exclude clauses leave no state to match", stateWords()...)
	}
	return &Filter{states: p.states, expr: expr}, nil
}

type parser struct {
	in   string
	toks []token
	i    int
	cfg  config

	states       sockscope.StateSet
	sawStates    bool
	lastStatePos int
}

func (p *parser) errAt(pos int, msg string, valid ...string) *SyntaxError {
	return &SyntaxError{Input: p.in, Pos: pos, Msg: msg, Valid: valid}
}

// endPos is the position of the next token, or the end of the input.
func (p *parser) endPos() int {
	if p.i < len(p.toks) {
		return p.toks[p.i].pos
	}
	return len(p.in)
}

// is reports whether t is the unescaped operator word w (any of ws).
func is(t token, ws ...string) bool {
	if t.quoted {
		return false
	}
	l := strings.ToLower(t.text)
	for _, w := range ws {
		if l == w {
			return true
		}
	}
	return false
}

func isAnd(t token) bool { return is(t, "and", "&", "&&") }
func isOr(t token) bool  { return is(t, "or", "|", "||") }

// parseList parses terms joined by "and", "or" or nothing (and), strictly
// left to right with equal precedence, as ss's grammar does. At the top
// level it also takes state clauses. It stops at ")" or the end.
func (p *parser) parseList(top bool) (node, *SyntaxError) {
	var left node
	var pending token // the and/or waiting for its right operand
	havePending := false
	prevState := false
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		if is(t, ")") {
			break
		}
		if isAnd(t) || isOr(t) {
			if havePending {
				return nil, p.errAt(t.pos, "missing operand between "+strconv.Quote(pending.text)+" and "+strconv.Quote(t.text), termKeywords...)
			}
			if left == nil {
				if prevState && isAnd(t) {
					// "state established and dport = :443": the state clause
					// is a separate constraint, "and" is what it means. The
					// "and" still needs a right operand.
					pending, havePending = t, true
					prevState = false
					p.i++
					continue
				}
				return nil, p.errAt(t.pos, "missing operand before "+strconv.Quote(t.text), termKeywords...)
			}
			pending, havePending = t, true
			p.i++
			continue
		}
		if is(t, "state", "exclude", "excl") {
			if !top {
				return nil, p.errAt(t.pos, strconv.Quote(t.text)+" inside parentheses: state clauses apply to the whole filter, put it outside")
			}
			if havePending && isOr(pending) {
				return nil, p.errAt(t.pos, strconv.Quote(t.text)+" after \"or\": state clauses apply to the whole filter and cannot be or-ed", termKeywords[2:]...)
			}
			if err := p.parseState(); err != nil {
				return nil, err
			}
			havePending = false
			prevState = true
			continue
		}
		prevState = false
		e, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		switch {
		case left == nil:
			left = e
		case havePending && isOr(pending):
			left = &orNode{left, e}
		default:
			left = &andNode{left, e}
		}
		havePending = false
	}
	if havePending {
		valid := termKeywords
		if !top || isOr(pending) {
			valid = termKeywords[2:] // no state clause here
		}
		return nil, p.errAt(p.endPos(), "missing operand after "+strconv.Quote(pending.text), valid...)
	}
	return left, nil
}

// parseState parses `state WORD` or `exclude WORD`, as ss does: the first
// clause starts from nothing (state) or everything (exclude); later ones
// add or remove.
func (p *parser) parseState() *SyntaxError {
	kw := p.toks[p.i]
	p.i++
	v, err := p.value(kw, "state", stateWords())
	if err != nil {
		return err
	}
	set, serr := p.stateWord(v)
	if serr != nil {
		return serr
	}
	exclude := !is(kw, "state")
	if !p.sawStates {
		if exclude {
			p.states = sockscope.AllStates
		} else {
			p.states = 0
		}
	}
	if exclude {
		p.states &^= set
	} else {
		p.states |= set
	}
	p.sawStates = true
	p.lastStatePos = kw.pos
	return nil
}

// stateAliases are spellings ss accepts, or prints, for a state keyword.
var stateAliases = map[string]string{
	"close":       "closed",
	"unconnected": "closed",
	"unconn":      "closed",
	"syn-rcv":     "syn-recv",
	"listen":      "listening",
	"estab":       "established",
}

func (p *parser) stateWord(v token) (sockscope.StateSet, *SyntaxError) {
	w := strings.ToLower(v.text)
	if a, ok := stateAliases[w]; ok {
		w = a
	}
	if set, ok := parseStateKeyword(w); ok {
		return set, nil
	}
	msg := "unknown state " + strconv.Quote(v.text)
	if w == "new-syn-recv" {
		msg = "new-syn-recv is a kernel detail; use syn-recv"
	} else if c, ok := closest(w, stateWords()); ok {
		msg += "; did you mean " + strconv.Quote(c) + "?"
	}
	return 0, p.errAt(v.pos, msg, stateWords()...)
}

// value takes the operand after keyword kw, which must not be an operator.
func (p *parser) value(kw token, what string, valid []string) (token, *SyntaxError) {
	if p.i >= len(p.toks) {
		return token{}, p.errAt(len(p.in), "missing "+what+" after "+strconv.Quote(kw.text), valid...)
	}
	t := p.toks[p.i]
	if !t.quoted && isReserved(t.text) {
		return token{}, p.errAt(t.pos, "missing "+what+" after "+strconv.Quote(kw.text), valid...)
	}
	p.i++
	return t, nil
}

// parseUnary parses "(" list ")", "not" term, or a single term.
func (p *parser) parseUnary() (node, *SyntaxError) {
	if p.i >= len(p.toks) {
		return nil, p.errAt(len(p.in), "missing term", termKeywords...)
	}
	t := p.toks[p.i]
	p.i++
	switch {
	case is(t, "("):
		e, err := p.parseList(false)
		if err != nil {
			return nil, err
		}
		if p.i >= len(p.toks) {
			return nil, p.errAt(t.pos, `unbalanced "(": no ")" closes it`, ")")
		}
		if e == nil {
			return nil, p.errAt(p.toks[p.i].pos, `empty parentheses`, termKeywords...)
		}
		p.i++ // ")"
		return e, nil
	case is(t, "not", "!"):
		if p.i < len(p.toks) && is(p.toks[p.i], "state", "exclude", "excl") {
			return nil, p.errAt(p.toks[p.i].pos, "a state clause cannot be negated; use exclude", "exclude")
		}
		if p.i >= len(p.toks) || is(p.toks[p.i], ")") || isAnd(p.toks[p.i]) || isOr(p.toks[p.i]) {
			return nil, p.errAt(p.endPos(), "missing operand after "+strconv.Quote(t.text), termKeywords[2:]...)
		}
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &notNode{x}, nil
	}
	kw := strings.ToLower(t.text)
	if t.quoted {
		kw = ""
	}
	switch kw {
	case "sport", "dport":
		return p.parsePort(t, kw == "dport")
	case "src", "dst":
		return p.parseHost(t, kw == "dst")
	case "proc", "pid", "user", "netns", "container", "unit":
		return p.parseExtra(t, kw)
	case "dev", "fwmark", "cgroup", "autobound":
		return nil, p.errAt(t.pos, "ss's "+strconv.Quote(kw)+" term is not supported", termKeywords...)
	}
	return nil, p.unknownTerm(t)
}

func (p *parser) unknownTerm(t token) *SyntaxError {
	w := strings.ToLower(t.text)
	if _, ok := parseStateKeyword(w); ok && !t.quoted {
		return p.errAt(t.pos, strconv.Quote(t.text)+" is a state: write \"state "+t.text+"\"", termKeywords...)
	}
	if t.text != "" && (t.text[0] == ':' || (t.text[0] >= '0' && t.text[0] <= '9') || t.text[0] == '*' || t.text[0] == '[' || t.text[0] == '/') {
		return p.errAt(t.pos, "expected a term, not the value "+strconv.Quote(t.text)+"; a value needs a keyword such as sport, dport, src or dst", termKeywords...)
	}
	msg := "unknown keyword " + strconv.Quote(t.text)
	if c, ok := closest(w, append(termKeywords[:len(termKeywords)-1:len(termKeywords)-1], "and", "or")); ok {
		msg += "; did you mean " + strconv.Quote(c) + "?"
	}
	return p.errAt(t.pos, msg, termKeywords...)
}

// opWords are the comparison operators, in every spelling ss accepts.
var opWords = []string{"=", "==", "eq", "!=", "ne", "neq", "<", "lt", "<=", "le", "leq", ">", "gt", ">=", "ge", "geq"}

// isOpWord reports whether an unescaped word would be read as a
// comparison operator after a keyword.
func isOpWord(w string) bool { return is(token{text: w}, opWords...) }

// optOp consumes an optional comparison operator and returns it.
func (p *parser) optOp() (token, bool) {
	if p.i >= len(p.toks) {
		return token{}, false
	}
	t := p.toks[p.i]
	if is(t, opWords...) {
		p.i++
		return t, true
	}
	return token{}, false
}

func opOf(t token) (op cmpOp, neg bool) {
	switch strings.ToLower(t.text) {
	case "!=", "ne", "neq":
		return cmpEq, true
	case "<", "lt":
		return cmpLt, false
	case "<=", "le", "leq":
		return cmpLe, false
	case ">", "gt":
		return cmpGt, false
	case ">=", "ge", "geq":
		return cmpGe, false
	}
	return cmpEq, false
}

// parsePort parses `sport|dport [OP] PORT`.
func (p *parser) parsePort(kw token, remote bool) (node, *SyntaxError) {
	op, neg := cmpEq, false
	if t, ok := p.optOp(); ok {
		op, neg = opOf(t)
	}
	v, err := p.value(kw, "port", append(portOps[:len(portOps):len(portOps)], portForms...))
	if err != nil {
		return nil, err
	}
	s := v.text
	off := 0
	if strings.HasPrefix(s, ":") {
		s, off = s[1:], 1
	}
	n := &portNode{remote: remote, op: op}
	if s == "*" {
		if op != cmpEq {
			return nil, p.errAt(v.pos, "the wildcard port \"*\" only works with = and !=", portForms[:3]...)
		}
		n.any = true
	} else {
		if strings.ContainsAny(s, ".:[]/") {
			hint := "src"
			if remote {
				hint = "dst"
			}
			return nil, p.errAt(v.pos, strconv.Quote(kw.text)+" takes a port, not an address; use "+hint+" ADDR:PORT", portForms...)
		}
		port, perr := p.port(s, v.pos+off)
		if perr != nil {
			return nil, perr
		}
		n.port = port
	}
	if neg {
		return &notNode{n}, nil
	}
	return n, nil
}

// port parses a port number or service name at pos.
func (p *parser) port(s string, pos int) (uint16, *SyntaxError) {
	if s == "" {
		return 0, p.errAt(pos, "missing port number", portForms...)
	}
	digits := strings.TrimPrefix(s, "-")
	if allDigits(digits) {
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil || strings.HasPrefix(s, "-") {
			return 0, p.errAt(pos, "port "+s+" out of range 0-65535", portForms...)
		}
		return uint16(n), nil
	}
	if !isServiceName(s) {
		return 0, p.errAt(pos, "port "+strconv.Quote(s)+" is not a number or a service name", portForms...)
	}
	tp, tok := p.cfg.services(s, "tcp")
	up, uok := p.cfg.services(s, "udp")
	switch {
	case tok && uok && tp != up:
		return 0, p.errAt(pos, "ambiguous service "+strconv.Quote(s)+": tcp "+strconv.Itoa(int(tp))+", udp "+strconv.Itoa(int(up))+"; use the number", portForms...)
	case tok:
		return tp, nil
	case uok:
		return up, nil
	}
	return 0, p.errAt(pos, "unknown service "+strconv.Quote(s), portForms...)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isServiceName reports whether s looks like a services(5) name.
func isServiceName(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '+') {
			return false
		}
	}
	return true
}

// parseHost parses `src|dst [=|!=] HOST`.
func (p *parser) parseHost(kw token, remote bool) (node, *SyntaxError) {
	neg := false
	if t, ok := p.optOp(); ok {
		op, n := opOf(t)
		if op != cmpEq {
			return nil, p.errAt(t.pos, strconv.Quote(kw.text)+" takes = or != (use sport/dport to compare ports)", "=", "!=")
		}
		neg = n
	}
	v, err := p.value(kw, "address", hostForms)
	if err != nil {
		return nil, err
	}
	n, serr := p.host(v)
	if serr != nil {
		return nil, serr
	}
	n.remote = remote
	if neg {
		return &notNode{n}, nil
	}
	return n, nil
}

// host parses the HOST syntax of ss: [FAMILY:]ADDRESS[:PORT].
func (p *parser) host(v token) (*hostNode, *SyntaxError) {
	s, pos := v.text, v.pos
	n := &hostNode{port: -1}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "unix:"):
		n.unix, n.pattern = true, s[5:]
		return n, nil
	case strings.HasPrefix(s, "/") || strings.HasPrefix(s, "@"):
		n.unix, n.pattern = true, s
		return n, nil
	case strings.HasPrefix(lower, "link:"), strings.HasPrefix(lower, "netlink:"), strings.HasPrefix(lower, "vsock:"):
		fam, _, _ := strings.Cut(lower, ":")
		return nil, p.errAt(pos, "the "+fam+" family is not supported", hostForms...)
	case strings.HasPrefix(lower, "inet6:"):
		n.family = sockscope.FamilyInet6
		s, pos = s[6:], pos+6
	case strings.HasPrefix(lower, "inet:"):
		n.family = sockscope.FamilyInet
		s, pos = s[5:], pos+5
	}
	if s == "" {
		return nil, p.errAt(pos, "missing address", hostForms...)
	}
	// Split off the port as ss does.
	addr, port, hasPort := s, "", false
	switch {
	case s == "*":
		addr = ""
	case s[0] == '*':
		addr, port, hasPort = "", s[1:], true
		if !strings.HasPrefix(port, ":") {
			return nil, p.errAt(pos+1, "expected \":PORT\" after \"*\"", hostForms...)
		}
		port = port[1:]
	case s[0] == ':' && !strings.HasPrefix(s, "::"):
		addr, port, hasPort = "", s[1:], true
	case s[0] == '[':
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return nil, p.errAt(pos, "missing \"]\" after an IPv6 address", hostForms...)
		}
		addr = s[1:end]
		rest := s[end+1:]
		if strings.HasPrefix(rest, "/") {
			// "[2001:db8::]/32:80"
			l, pt, ok := strings.Cut(rest, ":")
			addr += l
			port, hasPort = pt, ok
		} else if rest != "" {
			if rest[0] != ':' {
				return nil, p.errAt(pos+end+1, "expected \":PORT\" after \"]\"", hostForms...)
			}
			port, hasPort = rest[1:], true
		}
		if strings.Contains(addr, ".") && !strings.Contains(addr, ":") {
			return nil, p.errAt(pos, "brackets are for IPv6 addresses; write an IPv4 address without them", hostForms...)
		}
	default:
		if a, err := netip.ParseAddr(s); err == nil && a.Is6() {
			// A bare IPv6 address; ss would take its last group as a port.
			addr = s
			break
		}
		from := 0
		if i := strings.IndexByte(s, '/'); i >= 0 {
			from = i
		}
		if i := strings.LastIndexByte(s[from:], ':'); i >= 0 {
			addr, port, hasPort = s[:from+i], s[from+i+1:], true
		}
	}
	if hasPort {
		portPos := pos + len(s) - len(port)
		switch port {
		case "*":
		default:
			pn, err := p.port(port, portPos)
			if err != nil {
				return nil, err
			}
			n.port = int(pn)
		}
	}
	if addr != "" && addr != "*" {
		pre, err := p.prefix(addr, pos, n.family)
		if err != nil {
			return nil, err
		}
		n.prefix = pre
	}
	return n, nil
}

// prefix parses ADDR or ADDR/LEN. IPv4 addresses may be shortened when a
// length is given ("193.233.7/24"), as in ss.
func (p *parser) prefix(s string, pos int, fam sockscope.Family) (netip.Prefix, *SyntaxError) {
	a, l, hasLen := strings.Cut(s, "/")
	var addr netip.Addr
	short := 0 // missing IPv4 octets
	switch {
	case strings.Contains(a, ":"):
		if strings.Contains(a, "%") {
			return netip.Prefix{}, p.errAt(pos, "IPv6 zones are not supported in filters", hostForms...)
		}
		x, err := netip.ParseAddr(a)
		if err != nil {
			return netip.Prefix{}, p.errAt(pos, "malformed IPv6 address "+strconv.Quote(a), hostForms...)
		}
		addr = x
	case a != "" && (a[0] >= '0' && a[0] <= '9'):
		x, missing, ok := parseShortIPv4(a)
		if !ok {
			return netip.Prefix{}, p.errAt(pos, "malformed IPv4 address "+strconv.Quote(a), hostForms...)
		}
		addr, short = x, missing
	default:
		return netip.Prefix{}, p.errAt(pos, "expected an address, not "+strconv.Quote(a)+" (host names are not resolved)", hostForms...)
	}
	if fam == sockscope.FamilyInet && !addr.Is4() || fam == sockscope.FamilyInet6 && !addr.Is6() {
		return netip.Prefix{}, p.errAt(pos, "address "+strconv.Quote(a)+" does not belong to the family it is prefixed with", hostForms...)
	}
	bitsLen := addr.BitLen()
	if hasLen {
		lpos := pos + len(a) + 1
		switch {
		case allDigits(l) && len(l) <= 3:
			n, _ := strconv.Atoi(l)
			if n > addr.BitLen() {
				return netip.Prefix{}, p.errAt(lpos, "prefix length "+l+" out of range 0-"+strconv.Itoa(addr.BitLen()), "LEN")
			}
			bitsLen = n
		case addr.Is4() && strings.Contains(l, "."):
			n, ok := maskLen(l)
			if !ok {
				return netip.Prefix{}, p.errAt(lpos, "malformed netmask "+strconv.Quote(l), "LEN", "A.B.C.D")
			}
			bitsLen = n
		default:
			return netip.Prefix{}, p.errAt(lpos, "malformed prefix length "+strconv.Quote(l), "LEN")
		}
	} else if short > 0 {
		full := a + strings.Repeat(".0", short)
		return netip.Prefix{}, p.errAt(pos, "incomplete IPv4 address "+strconv.Quote(a)+"; did you mean "+strconv.Quote(full+"/"+strconv.Itoa(32-8*short))+"?", "A.B.C.D", "A.B.C/24")
	}
	return netip.PrefixFrom(addr, bitsLen).Masked(), nil
}

// parseShortIPv4 parses 1 to 4 dotted decimal octets; missing octets are 0.
func parseShortIPv4(s string) (netip.Addr, int, bool) {
	var b [4]byte
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, 0, false
	}
	for i, x := range parts {
		if !allDigits(x) || len(x) > 3 || (len(x) > 1 && x[0] == '0') {
			return netip.Addr{}, 0, false
		}
		n, _ := strconv.Atoi(x)
		if n > 255 {
			return netip.Addr{}, 0, false
		}
		b[i] = byte(n)
	}
	return netip.AddrFrom4(b), 4 - len(parts), true
}

// maskLen converts a contiguous dotted netmask to a prefix length.
func maskLen(s string) (int, bool) {
	m, err := netip.ParseAddr(s)
	if err != nil || !m.Is4() {
		return 0, false
	}
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for n < 32 && v&(1<<(31-n)) != 0 {
		n++
	}
	if n < 32 && v<<n != 0 {
		return 0, false
	}
	return n, true
}

// parseExtra parses sockscope's own terms: proc, pid, user, netns,
// container and unit, each with an optional = or !=.
func (p *parser) parseExtra(kw token, word string) (node, *SyntaxError) {
	neg := false
	if t, ok := p.optOp(); ok {
		op, n := opOf(t)
		if op != cmpEq {
			return nil, p.errAt(t.pos, strconv.Quote(kw.text)+" takes = or !=", "=", "!=")
		}
		neg = n
	}
	what := map[string]string{
		"proc": "process name", "pid": "process id", "user": "user name or uid",
		"netns": "namespace name or inode", "container": "container id or name", "unit": "systemd unit",
	}[word]
	v, err := p.value(kw, what, []string{strings.ToUpper(strings.ReplaceAll(what, " ", "_"))})
	if err != nil {
		return nil, err
	}
	if v.text == "" {
		return nil, p.errAt(v.pos, "empty "+what)
	}
	var n node
	switch word {
	case "proc":
		n = &procNode{pattern: v.text}
	case "pid":
		pid, err := strconv.ParseUint(v.text, 10, 31)
		if err != nil || pid == 0 {
			return nil, p.errAt(v.pos, "pid "+strconv.Quote(v.text)+" is not a process id (1-2147483647)", "PID")
		}
		n = &pidNode{pid: int(pid)}
	case "user":
		u := &userNode{word: v.text}
		if allDigits(v.text) {
			uid, err := strconv.ParseUint(v.text, 10, 32)
			if err != nil {
				return nil, p.errAt(v.pos, "uid "+v.text+" out of range", "UID")
			}
			u.uid, u.hasUID = uint32(uid), true
		} else {
			uid, ok := p.cfg.users(v.text)
			if !ok {
				return nil, p.errAt(v.pos, "unknown user "+strconv.Quote(v.text), "USER", "UID")
			}
			u.uid, u.hasUID, u.name = uid, true, v.text
		}
		n = u
	case "netns":
		ns := &nsNode{field: nsNetNS, value: v.text}
		num := v.text
		if strings.HasPrefix(num, "net:[") && strings.HasSuffix(num, "]") {
			num = num[5 : len(num)-1]
		}
		if allDigits(num) {
			ino, err := strconv.ParseUint(num, 10, 64)
			if err != nil {
				return nil, p.errAt(v.pos, "namespace inode "+num+" out of range", "NAME", "INODE")
			}
			ns.inode = ino
		}
		n = ns
	case "container":
		n = &nsNode{field: nsContainer, value: v.text}
	default:
		n = &nsNode{field: nsUnit, value: v.text}
	}
	if neg {
		return &notNode{n}, nil
	}
	return n, nil
}
