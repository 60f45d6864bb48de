package render

import (
	"net/netip"
	"strconv"
	"unicode/utf8"

	"github.com/sockscope/sockscope"
)

// SchemaVersion is the version of the JSON documents sockscope prints
// (docs/json.md). It changes only when a field changes meaning or goes away.
const SchemaVersion = 1

// The JSON encoder is hand-written: at 100k sockets encoding/json's
// reflection dominated the -o json run (see BenchmarkJSON), and the socket
// object is small and fixed.

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does; control characters are escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendJSONChars(b, s)
	return append(b, '"')
}

// appendJSONChars appends s escaped for the inside of a JSON string. Each
// invalid UTF-8 byte becomes one U+FFFD, so escaping two strings one after
// the other gives what escaping their concatenation gives when the second
// starts with an ASCII byte.
func appendJSONChars(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == 0x2028 || r == 0x2029 {
			b = append(b, s[start:i]...)
			b = appendRuneEscape(b, r)
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// AppendJSONString appends s as a JSON string (control characters escaped,
// invalid UTF-8 replaced by U+FFFD).
func AppendJSONString(b []byte, s string) []byte { return appendJSONString(b, s) }

func appendKey(b []byte, k string) []byte {
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

func appendUintField(b []byte, k string, v uint64) []byte {
	b = appendKey(b, k)
	return strconv.AppendUint(b, v, 10)
}

func appendStrField(b []byte, k, v string) []byte {
	b = appendKey(b, k)
	return appendJSONString(b, v)
}

// appendAddrPortField appends the member prefix (such as `,"local":`) and
// "FormatSocketAddrPort(ap, v6only)" without building the string: an
// address without a zone is plain ASCII that needs no escaping.
func appendAddrPortField(b []byte, prefix string, ap netip.AddrPort, v6only sockscope.Tristate) []byte {
	b = append(b, prefix...)
	if ap.Addr().Zone() != "" {
		return appendJSONString(b, sockscope.FormatSocketAddrPort(ap, v6only))
	}
	b = append(b, '"')
	b = sockscope.AppendAddrPort(b, ap, v6only)
	return append(b, '"')
}

// Constant fragments of the socket object, built once with the same
// escaping as every other string, so that appending them is a copy.
var (
	protoJSON  = fragments(int(sockscope.Unix)+1, func(i int) []byte { return appendStrField([]byte(`{`), "proto", sockscope.Proto(i).String()) })
	familyJSON = fragments(int(sockscope.FamilyInet6)+1, func(i int) []byte { return appendStrField([]byte(`,`), "family", sockscope.Family(i).String()) })
	typeJSON   = fragments(int(sockscope.SockSeqpacket)+1, func(i int) []byte { return appendStrField([]byte(`,`), "type", sockscope.SockType(i).String()) })
	stateJSON  = fragments(32, func(i int) []byte { return appendStrField([]byte(`,`), "state", sockscope.State(i).String()) })
)

func fragments(n int, f func(int) []byte) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = string(f(i))
	}
	return out
}

// socketEncoder appends socket objects. Consecutive sockets of one
// namespace (a sorted list) repeat the same "netns" object: the encoder
// keeps the bytes of the last one it encoded, by pointer, so it must not
// outlive a change to that NetNS (use one encoder per document).
type socketEncoder struct {
	ns     *sockscope.NetNS
	nsJSON []byte
}

// AppendSocketJSON appends one socket as a JSON object (docs/json.md).
func AppendSocketJSON(b []byte, s *sockscope.Socket) []byte {
	var e socketEncoder
	return e.appendSocket(b, s)
}

func (e *socketEncoder) appendSocket(b []byte, s *sockscope.Socket) []byte {
	if int(s.Proto) < len(protoJSON) {
		b = append(b, protoJSON[s.Proto]...)
	} else {
		b = appendStrField(append(b, '{'), "proto", s.Proto.String())
	}
	if int(s.Family) < len(familyJSON) {
		b = append(b, familyJSON[s.Family]...)
	} else {
		b = appendStrField(append(b, ','), "family", s.Family.String())
	}
	if s.Type != 0 {
		if int(s.Type) < len(typeJSON) {
			b = append(b, typeJSON[s.Type]...)
		} else {
			b = appendStrField(append(b, ','), "type", s.Type.String())
		}
	}
	if int(s.State) < len(stateJSON) {
		b = append(b, stateJSON[s.State]...)
	} else {
		b = appendStrField(append(b, ','), "state", s.State.String())
	}
	if s.Proto == sockscope.Unix {
		b = append(b, `,"path":`...)
		b = appendJSONString(b, s.Path)
		if s.PeerInode != 0 {
			b = append(b, `,"peer_inode":`...)
			b = strconv.AppendUint(b, s.PeerInode, 10)
		}
		if len(s.Pending) > 0 {
			b = append(b, `,"pending":`...)
			b = strconv.AppendUint(b, uint64(len(s.Pending)), 10)
		}
	} else {
		if s.Interface != 0 {
			// "0.0.0.0%eth0:68": the device name needs escaping.
			b = append(b, `,"local":`...)
			b = appendJSONString(b, s.LocalString())
		} else {
			b = appendAddrPortField(b, `,"local":`, s.Local, s.V6Only)
		}
		b = appendAddrPortField(b, `,"remote":`, s.Remote, s.V6Only)
		b = append(b, `,"local_port":`...)
		b = strconv.AppendUint(b, uint64(s.Local.Port()), 10)
		if s.Interface != 0 {
			b = append(b, `,"ifindex":`...)
			b = strconv.AppendUint(b, uint64(s.Interface), 10)
		}
		if s.V6Only != sockscope.Unknown {
			b = append(b, `,"v6only":`...)
			b = strconv.AppendBool(b, s.V6Only == sockscope.Yes)
		}
		b = appendReuseJSON(b, s)
	}
	b = append(b, `,"recv_q":`...)
	b = strconv.AppendUint(b, uint64(s.RecvQ), 10)
	b = append(b, `,"send_q":`...)
	b = strconv.AppendUint(b, uint64(s.SendQ), 10)
	b = append(b, `,"inode":`...)
	b = strconv.AppendUint(b, s.Inode, 10)
	b = append(b, `,"cookie":`...)
	b = strconv.AppendUint(b, s.Cookie, 10)
	b = append(b, `,"uid":`...)
	b = strconv.AppendUint(b, uint64(s.UID), 10)
	if s.ShutRead != sockscope.Unknown {
		b = append(b, `,"rcv_shutdown":`...)
		b = strconv.AppendBool(b, s.ShutRead == sockscope.Yes)
	}
	if s.ShutWrite != sockscope.Unknown {
		b = append(b, `,"snd_shutdown":`...)
		b = strconv.AppendBool(b, s.ShutWrite == sockscope.Yes)
	}
	if s.Peer != nil {
		b = append(b, `,"peer":{"cookie":`...)
		b = strconv.AppendUint(b, s.Peer.Cookie, 10)
		b = append(b, `,"inode":`...)
		b = strconv.AppendUint(b, s.Peer.Inode, 10)
		b = append(b, '}')
	}
	if s.NetNS != nil {
		if s.NetNS != e.ns || e.nsJSON == nil {
			e.ns = s.NetNS
			e.nsJSON = appendNetNSJSON(e.nsJSON[:0], s.NetNS)
		}
		b = append(b, e.nsJSON...)
	}
	b = appendDetailsJSON(b, s)
	// "holders" is present only when the holder scan ran: [] then means
	// no inspected process holds the socket, not "nobody looked".
	if s.HoldersScanned || len(s.Holders) > 0 {
		b = append(b, `,"holders":[`...)
		for i, h := range s.Holders {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendHolderJSON(b, h)
		}
		b = append(b, ']')
	}
	if s.HoldersHidden {
		b = append(b, `,"holders_hidden":true`...)
	}
	return append(b, '}')
}

// appendReuseJSON appends "reuseaddr", "reuseport", "reuseport_prog" and
// "bind_bucket" where they are known (read through BPF).
func appendReuseJSON(b []byte, s *sockscope.Socket) []byte {
	if s.ReuseAddr != sockscope.Unknown {
		b = append(b, `,"reuseaddr":`...)
		b = strconv.AppendBool(b, s.ReuseAddr == sockscope.Yes)
	}
	if s.ReusePort != sockscope.Unknown {
		b = append(b, `,"reuseport":`...)
		b = strconv.AppendBool(b, s.ReusePort == sockscope.Yes)
	}
	if s.ReuseportProg != sockscope.Unknown {
		b = append(b, `,"reuseport_prog":`...)
		b = strconv.AppendBool(b, s.ReuseportProg == sockscope.Yes)
	}
	if bb := s.BindBucket; bb != nil {
		b = append(b, `,"bind_bucket":{"port":`...)
		b = strconv.AppendUint(b, uint64(bb.Port), 10)
		b = append(b, `,"fastreuse":`...)
		b = strconv.AppendInt(b, int64(bb.FastReuse), 10)
		b = append(b, `,"fastreuseport":`...)
		b = strconv.AppendInt(b, int64(bb.FastReusePort), 10)
		if bb.FastReusePort > 0 {
			b = append(b, `,"fastuid":`...)
			b = strconv.AppendUint(b, uint64(bb.FastUID), 10)
			if bb.FastAddr.IsValid() {
				b = append(b, `,"fast_addr":"`...)
				b = bb.FastAddr.AppendTo(b)
				b = append(b, '"')
			}
			if bb.FastIPv6Only != sockscope.Unknown {
				b = append(b, `,"fast_ipv6_only":`...)
				b = strconv.AppendBool(b, bb.FastIPv6Only == sockscope.Yes)
			}
		}
		b = append(b, '}')
	}
	return b
}

// appendNetNSJSON appends the socket's "netns" member and, for a
// container's namespace, its "container" member.
func appendNetNSJSON(b []byte, ns *sockscope.NetNS) []byte {
	b = append(b, `,"netns":{"inode":`...)
	b = strconv.AppendUint(b, ns.Inode, 10)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, ns.Name)
	b = append(b, '}')
	if ns.Container != "" {
		b = append(b, `,"container":`...)
		b = appendJSONString(b, ns.Container)
	}
	return b
}

// AppendHolderJSON appends one holder: {pid, fd, comm, cmdline, argv, user, uid}.
func AppendHolderJSON(b []byte, h sockscope.Holder) []byte {
	b = append(b, `{"pid":`...)
	b = strconv.AppendUint(b, uint64(h.PID()), 10)
	b = append(b, `,"fd":`...)
	b = strconv.AppendUint(b, uint64(h.FD), 10)
	if p := h.Proc; p != nil {
		b = append(b, `,"comm":`...)
		b = appendJSONString(b, p.Comm)
		// "cmdline" is the arguments joined by spaces, escaped one by one:
		// a space is ASCII, so this equals escaping the joined string.
		b = append(b, `,"cmdline":"`...)
		for i, a := range p.Cmdline {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendJSONChars(b, a)
		}
		b = append(b, `","argv":[`...)
		for i, a := range p.Cmdline {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, a)
		}
		b = append(b, `],"user":`...)
		b = appendJSONString(b, p.User)
		b = append(b, `,"uid":`...)
		b = strconv.AppendUint(b, uint64(p.UID), 10)
		if p.Cgroup != "" {
			b = append(b, `,"cgroup":`...)
			b = appendJSONString(b, p.Cgroup)
		}
	}
	return append(b, '}')
}

// AppendWarningsJSON appends the warnings as a JSON array.
func AppendWarningsJSON(b []byte, ws []sockscope.Warning) []byte {
	b = append(b, '[')
	for i, w := range ws {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendStrField(b, "kind", w.Kind.String())
		b = append(b, ',')
		b = appendUintField(b, "count", uint64(w.Count))
		b = append(b, ',')
		b = appendStrField(b, "message", w.Msg)
		b = append(b, '}')
	}
	return append(b, ']')
}
