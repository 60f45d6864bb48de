package query

import (
	"math/bits"
	"net/netip"
	"strconv"
	"strings"

	"github.com/sockscope/sockscope"
)

// Filter is a parsed filter: a state constraint and a boolean expression
// over sockets. A nil *Filter matches every socket. A Filter is immutable
// and safe for concurrent use.
type Filter struct {
	// states is the state constraint; 0 means none.
	states sockscope.StateSet
	expr   node // nil means true
}

// Match reports whether the socket satisfies the filter: its state is in
// [Filter.States] and the expression holds. A nil Filter matches every
// socket; a nil socket matches only a nil Filter.
func (f *Filter) Match(s *sockscope.Socket) bool {
	if f == nil {
		return true
	}
	if s == nil {
		return false
	}
	if f.states != 0 && !f.states.Has(s.State) {
		return false
	}
	return f.expr == nil || f.expr.match(s)
}

// States returns the state constraint, so a collector can ask the kernel
// only for those states: the union of the `state` clauses minus the
// `exclude` clauses, or [sockscope.AllStates] when the filter has none.
func (f *Filter) States() sockscope.StateSet {
	if f == nil || f.states == 0 {
		return sockscope.AllStates
	}
	return f.states
}

// NeedsHolders reports whether the filter has terms that look at a
// socket's holders (proc, pid, user), so the collector must scan them.
func (f *Filter) NeedsHolders() bool {
	return f != nil && f.expr != nil && f.expr.needsHolders()
}

// String returns the filter in canonical form: state clauses first, then
// the expression with every port as a number, operators spelt "and", "or",
// "not", "=", "<", "<=", ">", ">=", and parentheses (as separate words)
// wherever "and" and "or" meet, so the text means the same whether it is
// read left to right (as ss does) or with "and" binding tighter (as ss's
// manual says). Parse(f.String()) is equivalent to f. Without sockscope's
// own terms, the text is also a valid ss filter. A nil or empty Filter
// returns "".
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	var b strings.Builder
	writeStates(&b, f.states)
	if f.expr != nil {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		f.expr.write(&b, opNone)
	}
	return b.String()
}

// writeStates writes the shortest clauses that produce set.
func writeStates(b *strings.Builder, set sockscope.StateSet) {
	if set == 0 || set == sockscope.AllStates {
		return
	}
	for _, g := range stateGroups {
		if g.set == set {
			b.WriteString("state " + g.name)
			return
		}
	}
	// NEW-SYN-RECV has no keyword: only exclude clauses (which start from
	// every state) can keep it in the set.
	useExclude := set.Has(sockscope.NewSynRecv) ||
		bits.OnesCount32(uint32(set)) > bits.OnesCount32(uint32(sockscope.AllStates&^set))
	word := "state "
	list := set
	if useExclude {
		word = "exclude "
		list = sockscope.AllStates &^ set
	}
	first := true
	for st := sockscope.State(1); st < 32; st++ {
		if !list.Has(st) || stateKeyword(st) == "" {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		b.WriteString(word + stateKeyword(st))
	}
}

// binop is the kind of the enclosing boolean operator, for parenthesising.
type binop int

const (
	opNone binop = iota
	opAnd
	opOr
	opNot
)

// node is one term or operator of the expression.
type node interface {
	match(s *sockscope.Socket) bool
	write(b *strings.Builder, parent binop)
	needsHolders() bool
}

type andNode struct{ l, r node }

func (n *andNode) match(s *sockscope.Socket) bool { return n.l.match(s) && n.r.match(s) }
func (n *andNode) needsHolders() bool             { return n.l.needsHolders() || n.r.needsHolders() }
func (n *andNode) write(b *strings.Builder, parent binop) {
	writeBinary(b, parent, opAnd, " and ", n.l, n.r)
}

type orNode struct{ l, r node }

func (n *orNode) match(s *sockscope.Socket) bool { return n.l.match(s) || n.r.match(s) }
func (n *orNode) needsHolders() bool             { return n.l.needsHolders() || n.r.needsHolders() }
func (n *orNode) write(b *strings.Builder, parent binop) {
	writeBinary(b, parent, opOr, " or ", n.l, n.r)
}

// writeBinary writes "l op r". The parser builds left-deep trees, so the
// left operand needs parentheses only when its operator differs; the right
// operand of a binary operator is always a single term, a "not", or a
// parenthesised group, which is written in parentheses if it is binary.
func writeBinary(b *strings.Builder, parent, self binop, word string, l, r node) {
	paren := parent != opNone && parent != self
	if paren {
		b.WriteString("( ")
	}
	l.write(b, self)
	b.WriteString(word)
	if isBinary(r) {
		b.WriteString("( ")
		r.write(b, opNone)
		b.WriteString(" )")
	} else {
		r.write(b, self)
	}
	if paren {
		b.WriteString(" )")
	}
}

func isBinary(n node) bool {
	switch n.(type) {
	case *andNode, *orNode:
		return true
	}
	return false
}

type notNode struct{ x node }

func (n *notNode) match(s *sockscope.Socket) bool { return !n.x.match(s) }
func (n *notNode) needsHolders() bool             { return n.x.needsHolders() }
func (n *notNode) write(b *strings.Builder, _ binop) {
	b.WriteString("not ")
	if isBinary(n.x) {
		b.WriteString("( ")
		n.x.write(b, opNone)
		b.WriteString(" )")
		return
	}
	n.x.write(b, opNot)
}

// cmpOp is a port comparison.
type cmpOp int

const (
	cmpEq cmpOp = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

var cmpWords = [...]string{cmpEq: "=", cmpLt: "<", cmpLe: "<=", cmpGt: ">", cmpGe: ">="}

// portNode is `sport OP PORT` or `dport OP PORT`. It never matches a socket
// without ports (Unix, raw).
type portNode struct {
	remote bool
	op     cmpOp
	port   uint16
	any    bool // "*": any port (only with "=")
}

func (n *portNode) needsHolders() bool { return false }
func (n *portNode) match(s *sockscope.Socket) bool {
	if !s.Proto.HasPorts() {
		return false
	}
	if n.any {
		return true
	}
	p := s.Local.Port()
	if n.remote {
		p = s.Remote.Port()
	}
	switch n.op {
	case cmpLt:
		return p < n.port
	case cmpLe:
		return p <= n.port
	case cmpGt:
		return p > n.port
	case cmpGe:
		return p >= n.port
	}
	return p == n.port
}
func (n *portNode) write(b *strings.Builder, _ binop) {
	if n.remote {
		b.WriteString("dport ")
	} else {
		b.WriteString("sport ")
	}
	b.WriteString(cmpWords[n.op])
	if n.any {
		b.WriteString(" *")
		return
	}
	b.WriteString(" :" + strconv.Itoa(int(n.port)))
}

// hostNode is `src HOST` or `dst HOST`.
type hostNode struct {
	remote bool
	// unix selects a Unix name pattern, matched case-insensitively as ss
	// does (fnmatch with FNM_CASEFOLD).
	unix    bool
	pattern string
	// family restricts the term to inet or inet6 sockets ("inet:" and
	// "inet6:" prefixes); 0 means either.
	family sockscope.Family
	// prefix is the address prefix; invalid means any address.
	prefix netip.Prefix
	// port is the port; -1 means any.
	port int
}

func (n *hostNode) needsHolders() bool { return false }
func (n *hostNode) match(s *sockscope.Socket) bool {
	if n.unix {
		if s.Proto != sockscope.Unix {
			return false
		}
		name := s.Path
		if n.remote {
			name = ""
			if s.Peer != nil {
				name = s.Peer.Path
			}
		}
		return globMatch(n.pattern, name, true)
	}
	if !n.prefix.IsValid() && n.port < 0 && n.family == 0 {
		return true // "*"
	}
	if s.Family != sockscope.FamilyInet && s.Family != sockscope.FamilyInet6 {
		return false
	}
	if n.family != 0 && s.Family != n.family {
		return false
	}
	ap := s.Local
	if n.remote {
		ap = s.Remote
	}
	if n.port >= 0 && (!s.Proto.HasPorts() || int(ap.Port()) != n.port) {
		return false
	}
	if !n.prefix.IsValid() {
		return true
	}
	a := ap.Addr().WithZone("")
	if !a.IsValid() {
		// Not connected: the kernel reports the unspecified address.
		a = netip.IPv4Unspecified()
		if s.Family == sockscope.FamilyInet6 {
			a = netip.IPv6Unspecified()
		}
	}
	if n.prefix.Addr().Is4() && a.Is4In6() {
		// An IPv4 prefix also matches v4-mapped addresses; an IPv6 prefix
		// (even ::ffff:a.b.c.d) matches only IPv6 addresses.
		a = a.Unmap()
	}
	return n.prefix.Contains(a)
}
func (n *hostNode) write(b *strings.Builder, _ binop) {
	if n.remote {
		b.WriteString("dst ")
	} else {
		b.WriteString("src ")
	}
	b.WriteString(n.operand())
}

// operand formats the host as ss parses it.
func (n *hostNode) operand() string {
	if n.unix {
		return "unix:" + escapeWord(n.pattern)
	}
	var s string
	switch n.family {
	case sockscope.FamilyInet:
		s = "inet:"
	case sockscope.FamilyInet6:
		s = "inet6:"
	}
	switch {
	case !n.prefix.IsValid():
		s += "*"
	case n.prefix.Addr().Is4():
		if n.prefix.IsSingleIP() {
			s += n.prefix.Addr().String()
		} else {
			s += n.prefix.String()
		}
	default:
		if n.prefix.IsSingleIP() {
			s += "[" + n.prefix.Addr().String() + "]"
		} else {
			// ss finds the port after the "/", so a v6 prefix needs no brackets.
			s += n.prefix.String()
		}
	}
	if n.port >= 0 {
		s += ":" + strconv.Itoa(n.port)
	}
	return s
}

// maxComm is the length at which the kernel truncates a command name
// (TASK_COMM_LEN - 1).
const maxComm = 15

// procNode is `proc NAME`: some holder's command name equals NAME or
// matches it as a glob. A longer NAME also matches its first 15 bytes,
// since the kernel truncates command names there.
type procNode struct{ pattern string }

func (n *procNode) needsHolders() bool { return true }
func (n *procNode) match(s *sockscope.Socket) bool {
	glob := hasMeta(n.pattern)
	for _, h := range s.Holders {
		if h.Proc == nil {
			continue
		}
		c := h.Proc.Comm
		if c == n.pattern || (glob && globMatch(n.pattern, c, false)) ||
			(!glob && len(c) == maxComm && strings.HasPrefix(n.pattern, c)) {
			return true
		}
	}
	return false
}
func (n *procNode) write(b *strings.Builder, _ binop) {
	b.WriteString("proc " + escapeWord(n.pattern))
}

// pidNode is `pid N`: some holder is process N.
type pidNode struct{ pid int }

func (n *pidNode) needsHolders() bool { return true }
func (n *pidNode) match(s *sockscope.Socket) bool {
	for _, h := range s.Holders {
		if h.PID() == n.pid {
			return true
		}
	}
	return false
}
func (n *pidNode) write(b *strings.Builder, _ binop) {
	b.WriteString("pid " + strconv.Itoa(n.pid))
}

// userNode is `user NAME|UID`: the socket's owner (sk_uid) is the uid, or
// some holder runs as that uid (or, for a name, as that user name).
type userNode struct {
	word   string // as written, for String
	uid    uint32
	hasUID bool
	name   string // set when the word is a name
}

func (n *userNode) needsHolders() bool { return true }
func (n *userNode) match(s *sockscope.Socket) bool {
	if n.hasUID && s.UID == n.uid {
		return true
	}
	for _, h := range s.Holders {
		if h.Proc == nil {
			continue
		}
		if (n.hasUID && h.Proc.UID == n.uid) || (n.name != "" && h.Proc.User == n.name) {
			return true
		}
	}
	return false
}
func (n *userNode) write(b *strings.Builder, _ binop) {
	b.WriteString("user " + escapeWord(n.word))
}

// nsField selects what a namespace term compares.
type nsField int

const (
	nsNetNS nsField = iota
	nsContainer
	nsUnit
)

var nsWords = [...]string{nsNetNS: "netns", nsContainer: "container", nsUnit: "unit"}

// nsNode is `netns X`, `container X` or `unit X`, matched against the
// socket's network namespace.
type nsNode struct {
	field nsField
	value string
	inode uint64 // netns given as an inode number
}

// needsHolders: container and unit also match the holders' own container
// and unit (a host namespace holds many units).
func (n *nsNode) needsHolders() bool { return n.field != nsNetNS }
func (n *nsNode) match(s *sockscope.Socket) bool {
	ns := s.NetNS
	switch n.field {
	case nsNetNS:
		return ns != nil && ((n.inode != 0 && ns.Inode == n.inode) || ns.Name == n.value)
	case nsContainer:
		if ns != nil && ns.Container != "" && (strings.HasPrefix(ns.Container, n.value) || ns.Name == n.value) {
			return true
		}
		for _, h := range s.Holders {
			if h.Proc != nil && h.Proc.Container != "" && strings.HasPrefix(h.Proc.Container, n.value) {
				return true
			}
		}
		return false
	default:
		if ns != nil && n.unitMatch(ns.Unit) {
			return true
		}
		for _, h := range s.Holders {
			if h.Proc != nil && n.unitMatch(h.Proc.Unit) {
				return true
			}
		}
		return false
	}
}

func (n *nsNode) unitMatch(unit string) bool {
	if unit == "" {
		return false
	}
	if unit == n.value || unit == n.value+".service" {
		return true
	}
	return hasMeta(n.value) && globMatch(n.value, unit, false)
}
func (n *nsNode) write(b *strings.Builder, _ binop) {
	b.WriteString(nsWords[n.field] + " " + escapeWord(n.value))
}

// escapeWord backslash-escapes what the lexer would otherwise split or
// read as an operator, so that the word parses back as itself.
func escapeWord(w string) string {
	if w == "" {
		return "" // only a Unix pattern can be empty, after "unix:"
	}
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		c := w[i]
		if isBlank(c) || c == '\\' || c == '(' || c == ')' || (i == 0 && c == '!') {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	s := b.String()
	if s == w && (isReserved(w) || isOpWord(w) || strings.ContainsAny(w, "=<>!")) {
		// Any escape makes the lexer take the word as a plain value.
		return `\` + w
	}
	return s
}
