package demux

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/sockscope/sockscope"
)

// Tristate shorthands.
const (
	unknown = sockscope.Unknown
	yes     = sockscope.Yes
	no      = sockscope.No
)

func tri(b bool) sockscope.Tristate { return sockscope.TristateOf(b) }

// and3 is Kleene conjunction.
func and3(ts ...sockscope.Tristate) sockscope.Tristate {
	r := yes
	for _, t := range ts {
		switch t {
		case no:
			return no
		case unknown:
			r = unknown
		}
	}
	return r
}

// or3 is Kleene disjunction.
func or3(ts ...sockscope.Tristate) sockscope.Tristate {
	r := no
	for _, t := range ts {
		switch t {
		case yes:
			return yes
		case unknown:
			r = unknown
		}
	}
	return r
}

func not3(t sockscope.Tristate) sockscope.Tristate { return -t }

// v6Loopback4 is the IPv4 shadow address (LOOPBACK4_IPV6) of an AF_INET6
// socket bound or connected to a real IPv6 address (docs/kernel.md 0.2).
var v6Loopback4 = netip.AddrFrom4([4]byte{127, 0, 0, 6})

var v4Any = netip.AddrFrom4([4]byte{})

// addrType classifies an address as ipv6_addr_type does for bind purposes.
type addrType uint8

const (
	typeAny    addrType = iota // :: or 0.0.0.0 (for AF_INET)
	typeMapped                 // ::ffff:a.b.c.d, or any AF_INET address
	typeOther                  // a real IPv6 address
)

// view is one socket as the bind and lookup rules see it.
type view struct {
	s      *sockscope.Socket // nil for the socket being bound
	fam    sockscope.Family
	a6     netip.Addr // AF_INET6: the 16-byte rcv address (zone dropped)
	v4     netip.Addr // the IPv4 (shadow) rcv address
	typ    addrType   // of a6, or typeMapped for AF_INET
	v6only sockscope.Tristate
	dev    uint32
	uid    uint32
	state  sockscope.State
	ra, rp sockscope.Tristate
	// remote endpoint for connected sockets
	raddr    netip.Addr // unmapped
	rport    uint16
	conn     bool
	inferred string // why ra/rp were inferred, for explanations
}

// views builds the views of the sockets keep accepts, in one allocation.
func views(ss []*sockscope.Socket, flags FlagFunc, keep func(*sockscope.Socket) bool) []*view {
	n := 0
	for _, s := range ss {
		if s != nil && keep(s) {
			n++
		}
	}
	slab := make([]view, n)
	out := make([]*view, 0, n)
	for _, s := range ss {
		if s != nil && keep(s) {
			v := &slab[len(out)]
			fillView(v, s, flags)
			out = append(out, v)
		}
	}
	return out
}

func fillView(v *view, s *sockscope.Socket, flags FlagFunc) {
	*v = view{s: s, fam: s.Family, dev: s.Interface, uid: s.UID, state: s.State, v6only: s.V6Only}
	a := s.Local.Addr().WithZone("")
	if s.Family == sockscope.FamilyInet6 {
		if a.Is4() {
			a = netip.AddrFrom16(a.As16())
		}
		if !a.IsValid() {
			a = netip.IPv6Unspecified()
		}
		v.a6 = a
		switch {
		case a.IsUnspecified():
			v.typ, v.v4 = typeAny, v4Any
		case a.Is4In6():
			v.typ, v.v4 = typeMapped, a.Unmap()
		default:
			v.typ, v.v4 = typeOther, v6Loopback4
		}
	} else {
		v.fam = sockscope.FamilyInet
		if !a.IsValid() {
			a = v4Any
		}
		v.v4 = a.Unmap()
		v.typ = typeMapped
		v.v6only = no
	}
	if flags != nil {
		f := flags(s)
		v.ra, v.rp = f.ReuseAddr, f.ReusePort
		if v.fam == sockscope.FamilyInet6 && v.v6only == unknown {
			v.v6only = f.V6Only
		}
	}
	if s.Connected() {
		v.conn = true
		v.raddr = s.Remote.Addr().Unmap()
		v.rport = s.Remote.Port()
	}
}

// isWild reports whether the socket's IPv4 view is the wildcard.
func (v *view) isWild4() bool { return v.v4 == v4Any }

// ipv4Equal is the kernel's ipv4_rcv_saddr_equal with a possibly unknown
// sk2_ipv6only.
func ipv4Equal(a1, a2 netip.Addr, sk2v6only sockscope.Tristate, w1, w2 bool) sockscope.Tristate {
	r := tri(a1 == a2 || (w1 && a1 == v4Any) || (w2 && a2 == v4Any))
	return and3(not3(sk2v6only), r)
}

// ipv6Equal is the kernel's ipv6_rcv_saddr_equal for an AF_INET6 sk1.
func ipv6Equal(sk1, sk2 *view, w1, w2 bool) sockscope.Tristate {
	t1, t2 := sk1.typ, sk2.typ
	if t1 == typeMapped && t2 == typeMapped {
		return ipv4Equal(sk1.v4, sk2.v4, sk2.v6only, w1, w2)
	}
	if t1 == typeAny && t2 == typeAny && sk2.fam == sockscope.FamilyInet6 {
		return yes
	}
	var r1, r2 sockscope.Tristate = no, no
	if t2 == typeAny && sk2.fam == sockscope.FamilyInet6 && w2 {
		r1 = not3(and3(sk2.v6only, tri(t1 == typeMapped)))
	}
	if t1 == typeAny && w1 {
		r2 = not3(and3(sk1.v6only, tri(t2 == typeMapped)))
	}
	r3 := tri(sk2.fam == sockscope.FamilyInet6 && sk1.a6 == sk2.a6)
	return or3(r1, r2, r3)
}

// addrOverlap is the kernel's inet_rcv_saddr_equal(n, e, true): the B2
// table.
func addrOverlap(n, e *view) sockscope.Tristate { return rcvEqual(n, e, true, true) }

func rcvEqual(sk1, sk2 *view, w1, w2 bool) sockscope.Tristate {
	if sk1.fam == sockscope.FamilyInet6 {
		return ipv6Equal(sk1, sk2, w1, w2)
	}
	return ipv4Equal(sk1.v4, sk2.v4, sk2.v6only, w1, w2)
}

// devOverlap reports whether two bound devices overlap (B2).
func devOverlap(a, b uint32) bool { return a == 0 || b == 0 || a == b }

// describe names a socket for people: "tcp 127.0.0.1:8080 LISTEN (cookie 42)
// held by nginx (pid 812)".
func describe(s *sockscope.Socket) string {
	var b strings.Builder
	b.WriteString(s.Proto.String())
	if s.Family == sockscope.FamilyInet6 {
		b.WriteString("6")
	}
	b.WriteString(" ")
	b.WriteString(s.LocalString())
	if s.Connected() {
		b.WriteString(" -> ")
		b.WriteString(s.RemoteString())
	}
	b.WriteString(" ") // LocalString names a bound device: 0.0.0.0%eth0:68
	b.WriteString(s.State.String())
	if s.Cookie != 0 {
		b.WriteString(" (cookie " + strconv.FormatUint(s.Cookie, 10) + ")")
	} else if s.Inode != 0 {
		b.WriteString(" (inode " + strconv.FormatUint(s.Inode, 10) + ")")
	}
	b.WriteString(" ")
	b.WriteString(holderText(s))
	return b.String()
}

// holderText says who holds a socket.
func holderText(s *sockscope.Socket) string {
	if len(s.Holders) == 0 {
		switch {
		case s.State == sockscope.TimeWait:
			return "held by no process (TIME-WAIT)"
		case s.HoldersHidden:
			return "held by a process that could not be inspected"
		case s.Inode == 0:
			return "held by no process"
		}
		return "held by no process found"
	}
	var parts []string
	for i, h := range s.Holders {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(s.Holders)-3))
			break
		}
		name := "?"
		if h.Proc != nil && h.Proc.Comm != "" {
			name = h.Proc.Comm
		}
		parts = append(parts, fmt.Sprintf("%s (pid %d)", safeText(name), h.PID()))
	}
	return "held by " + strings.Join(parts, ", ")
}

// sockName is a short name for a socket in DependsOn lists.
func sockName(s *sockscope.Socket) string {
	if s.Cookie != 0 {
		return "socket cookie " + strconv.FormatUint(s.Cookie, 10)
	}
	if s.Inode != 0 {
		return "socket inode " + strconv.FormatUint(s.Inode, 10)
	}
	return "socket " + s.Connection().String() + " " + s.State.String()
}

// inNetNS reports whether s belongs to namespace ns (0 = any).
func inNetNS(s *sockscope.Socket, ns uint64) bool {
	if ns == 0 {
		return true
	}
	return s.NetNS != nil && s.NetNS.Inode == ns
}

// namespaces counts the distinct namespaces of the sockets.
func namespaces(ss []*sockscope.Socket) int {
	seen := map[uint64]bool{}
	for _, s := range ss {
		var ns uint64
		if s.NetNS != nil {
			ns = s.NetNS.Inode
		}
		seen[ns] = true
	}
	return len(seen)
}

// tail reports whether the kernel keeps the socket at the tail of its hash
// chain: AF_INET6 sockets with SO_REUSEPORT (sk_add_node_rcu, __inet_hash).
func (v *view) tail(rp sockscope.Tristate) bool {
	return v.fam == sockscope.FamilyInet6 && rp == yes
}

// newer reports whether a was inserted at the head of its chain after b, as
// far as the snapshot tells: dump order within a family, inode order
// otherwise. A dump lists a chain head first, so among head-inserted
// sockets a smaller Seq is newer.
func newer(a, b *view) bool {
	if a.fam == b.fam && a.s.Seq != 0 && b.s.Seq != 0 {
		return a.s.Seq < b.s.Seq
	}
	if a.s.Inode != b.s.Inode {
		return a.s.Inode > b.s.Inode
	}
	return a.s.Cookie > b.s.Cookie
}

// chainOrder returns vs in the order the kernel walks a hash chain: head
// part newest first, then the tail part (AF_INET6 with SO_REUSEPORT) oldest
// first. rp gives each view's assumed SO_REUSEPORT.
func chainOrder(vs []*view, rp func(*view) sockscope.Tristate) []*view {
	var head, tl []*view
	for _, v := range vs {
		if v.tail(rp(v)) {
			tl = append(tl, v)
		} else {
			head = append(head, v)
		}
	}
	sortNewestFirst(head)
	// The tail holds AF_INET6 sockets only, appended in order: oldest
	// first, which is also their dump order.
	slices.SortStableFunc(tl, func(a, b *view) int {
		if a.s.Seq != 0 && b.s.Seq != 0 {
			return cmp.Compare(a.s.Seq, b.s.Seq)
		}
		if c := cmp.Compare(a.s.Inode, b.s.Inode); c != 0 {
			return c
		}
		return cmp.Compare(a.s.Cookie, b.s.Cookie)
	})
	return append(head, tl...)
}

// sortNewestFirst sorts each family by newer, then merges the families by
// inode, so that the order is total even where Seq and inode disagree.
func sortNewestFirst(vs []*view) {
	var f4, f6 []*view
	for _, v := range vs {
		if v.fam == sockscope.FamilyInet6 {
			f6 = append(f6, v)
		} else {
			f4 = append(f4, v)
		}
	}
	by := func(a, b *view) int {
		if newer(a, b) {
			return -1
		}
		if newer(b, a) {
			return 1
		}
		return 0
	}
	slices.SortStableFunc(f4, by)
	slices.SortStableFunc(f6, by)
	out := vs[:0]
	i, j := 0, 0
	for i < len(f4) || j < len(f6) {
		switch {
		case j == len(f6):
			out = append(out, f4[i])
			i++
		case i == len(f4):
			out = append(out, f6[j])
			j++
		case cmp.Compare(f4[i].s.Inode, f6[j].s.Inode) >= 0:
			out = append(out, f4[i])
			i++
		default:
			out = append(out, f6[j])
			j++
		}
	}
}

// safeText returns untrusted text (a process name) as is when it is plain
// printable text, else quoted with escapes.
func safeText(s string) string {
	for _, r := range s {
		if !strconv.IsPrint(r) || r == '"' || r == '\\' {
			return strconv.Quote(s)
		}
	}
	return s
}
