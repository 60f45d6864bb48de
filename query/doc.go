// Package query parses and evaluates socket filters: the ss(8) filter
// language, so that what people already type works, plus terms ss lacks
// (process, pid, user, network namespace, container, systemd unit).
//
//	f, err := query.Parse("state established ( dport = :ssh or sport = :ssh )")
//	if err != nil { ... }              // a *SyntaxError: see Caret
//	opts.States = f.States()           // ask the kernel only for these
//	opts.Holders = f.NeedsHolders()
//	for _, s := range snap.Sockets {
//		if f.Match(s) { ... }
//	}
//
// The package is pure: it reads no kernel state. It reads /etc/services
// (once, lazily) to resolve port names, and the password database to
// resolve `user NAME`; both can be replaced with [WithServices] and
// [WithUsers].
//
// # Grammar
//
// The input is split into words at blanks, as ss splits its arguments; a
// backslash escapes the next character. A command line's arguments are
// joined with spaces, so `'(' dport = :ssh ')'` and `'( dport = :ssh )'`
// read the same.
//
//	filter := { state-clause | list-item }
//	state-clause := ("state" | "exclude" | "excl") STATE
//	list := expr { ["and" | "or"] expr }        (no operator means "and")
//	expr := "(" list ")" | ("not" | "!") expr | term
//	term := ("sport" | "dport") [OP] PORT
//	      | ("src" | "dst") ["=" | "!="] HOST
//	      | ("proc" | "pid" | "user" | "netns" | "container" | "unit") ["=" | "!="] VALUE
//
// Operators and their spellings: "and" "&" "&&"; "or" "|" "||"; "not" "!";
// "=" "==" "eq"; "!=" "ne" "neq"; "<" "lt"; "<=" "le" "leq"; ">" "gt";
// ">=" "ge" "geq" — the words ss accepts.
//
// "and" and "or" have EQUAL precedence and group LEFT TO RIGHT, which is
// what ss's grammar (misc/ssfilter.y) does, whatever its manual says:
// `a or b and c` means `( a or b ) and c`. Use parentheses when mixing
// them. [Filter.String] always writes those parentheses.
//
// # States
//
// As in ss, states are not part of the boolean expression: they are a
// separate set that a socket's state must be in, ANDed with the whole
// expression. The first `state S` clause starts from no state and the first
// `exclude S` from every state; later clauses add or remove. STATE is a
// state keyword (established, syn-sent,
// syn-recv, fin-wait-1, fin-wait-2, time-wait, closed, close-wait, last-ack,
// listening, closing, bound-inactive) or a group (all, connected,
// synchronized, bucket, big), in any case; ss's spellings close,
// unconnected and syn-rcv, and ss's printed estab, listen and unconn, are
// accepted too. ss takes state clauses only before the expression; here
// they may also come later at the top level (`dport = :443 state
// established`), but never inside parentheses, after "not", or after "or".
// UDP sockets are established (connected) or closed (unconnected).
//
// # Ports
//
// PORT is `:80`, `80`, `:http` or `http` (a service name, resolved for tcp
// and then udp; an error if the two differ, as in ss), or `*` for any port
// (with = and != only). Numbers are decimal, 0 to 65535 (ss also reads hex
// and octal, and silently accepts out-of-range numbers). Port terms never
// match sockets without ports (Unix, raw), so `not sport = :80` does.
//
// # Hosts
//
// HOST is ss's [FAMILY:]ADDRESS[:PORT]:
//
//	10.0.0.1  10.0.0.0/8  10.0.0.0/255.0.0.0  193.233.7/24  10.0.0.1:80  10.0.0.0/8:80
//	[::1]  [::1]:443  ::1  2001:db8::/32  2001:db8::/32:443  [2001:db8::]/32:443
//	*  *:80  :80  inet:*:80  inet6:[::1]
//	unix:/run/*.sock  /tmp/.X11-unix/*  @abstract*
//
// An IPv4 address may be shortened only with a prefix length
// (`193.233.7/24`, as ss's manual shows); ss reads a bare `193.233.7` as
// 193.233.7.0, which is rejected here with a suggestion. A bare IPv6
// address is taken whole (ss would read its last group as a port); use
// brackets to give a port. Host names are not resolved. An IPv4 prefix
// also matches v4-mapped IPv6 addresses (::ffff:a.b.c.d), as in ss and the
// kernel's filter; an IPv6 prefix matches only IPv6 sockets. A socket that
// is not connected has the unspecified remote address (0.0.0.0 or ::) and
// remote port 0, as the kernel reports it. Unix names are matched as
// fnmatch(3) patterns, case-insensitively (as ss does); `src` matches the
// socket's own name, `dst` its peer's name ("" when unknown).
//
// # Terms ss lacks
//
//   - proc NAME: some holder's command name (Comm) is NAME, or matches it
//     as a glob (`proc 'nginx*'`). Comm is truncated by the kernel at 15
//     bytes, so a longer NAME also matches its first 15 bytes.
//   - pid N: some holder is process N.
//   - user NAME|UID: the socket's owner uid (sk_uid) is the user's uid, OR
//     some holder runs as that uid (or, given a name, as that user name).
//     Both count because they differ when a socket is passed between
//     processes or a process changes uid; sockets without holders
//     (TIME-WAIT) are matched by owner alone.
//   - netns X: the socket's namespace has name X, or inode X (also as
//     `net:[X]`).
//   - container X: the namespace belongs to a container whose id starts
//     with X or whose name is X.
//   - unit X: the namespace belongs to systemd unit X (or X.service), or
//     one matching the glob X.
//
// proc, pid and user need holders: see [Filter.NeedsHolders]. A socket
// with no holders, or no known namespace, fails these terms.
//
// ss's dev, fwmark, cgroup and autobound terms, and the link, netlink and
// vsock families, are not supported; using them is a [SyntaxError].
//
// # Errors
//
// Every mistake is a [*SyntaxError] with the byte offset of the offending
// word, a message (with a "did you mean" for a misspelt keyword or state)
// and the list of what would be valid there; [SyntaxError.Caret] draws it.
package query
