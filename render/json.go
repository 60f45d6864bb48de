package render

import (
	"net/netip"
	"strconv"
	"strings"
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
	b = append(b, s[start:]...)
	return append(b, '"')
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

// appendAddrPortField appends "k":"FormatAddrPort(ap)" without building
// the string: an address without a zone is plain ASCII that needs no
// escaping.
func appendAddrPortField(b []byte, k string, ap netip.AddrPort) []byte {
	if ap.Addr().Zone() != "" {
		return appendStrField(b, k, sockscope.FormatAddrPort(ap))
	}
	b = appendKey(b, k)
	b = append(b, '"')
	b = Style{Numeric: true}.appendEndpoint(b, 0, ap)
	return append(b, '"')
}

// AppendSocketJSON appends one socket as a JSON object (docs/json.md).
func AppendSocketJSON(b []byte, s *sockscope.Socket) []byte {
	b = append(b, '{')
	b = appendStrField(b, "proto", s.Proto.String())
	b = append(b, ',')
	b = appendStrField(b, "family", s.Family.String())
	if s.Type != 0 {
		b = append(b, ',')
		b = appendStrField(b, "type", s.Type.String())
	}
	b = append(b, ',')
	b = appendStrField(b, "state", s.State.String())
	if s.Proto == sockscope.Unix {
		b = append(b, ',')
		b = appendStrField(b, "path", s.Path)
		if s.PeerInode != 0 {
			b = append(b, ',')
			b = appendUintField(b, "peer_inode", s.PeerInode)
		}
		if len(s.Pending) > 0 {
			b = append(b, ',')
			b = appendUintField(b, "pending", uint64(len(s.Pending)))
		}
	} else {
		b = append(b, ',')
		b = appendAddrPortField(b, "local", s.Local)
		b = append(b, ',')
		b = appendAddrPortField(b, "remote", s.Remote)
		b = append(b, ',')
		b = appendKey(b, "local_port")
		b = strconv.AppendUint(b, uint64(s.Local.Port()), 10)
		if s.Interface != 0 {
			b = append(b, ',')
			b = appendUintField(b, "ifindex", uint64(s.Interface))
		}
		if s.V6Only != sockscope.Unknown {
			b = append(b, ',')
			b = appendKey(b, "v6only")
			b = strconv.AppendBool(b, s.V6Only == sockscope.Yes)
		}
	}
	b = append(b, ',')
	b = appendUintField(b, "recv_q", uint64(s.RecvQ))
	b = append(b, ',')
	b = appendUintField(b, "send_q", uint64(s.SendQ))
	b = append(b, ',')
	b = appendUintField(b, "inode", s.Inode)
	b = append(b, ',')
	b = appendUintField(b, "cookie", s.Cookie)
	b = append(b, ',')
	b = appendUintField(b, "uid", uint64(s.UID))
	if s.Peer != nil {
		b = append(b, `,"peer":{`...)
		b = appendUintField(b, "cookie", s.Peer.Cookie)
		b = append(b, ',')
		b = appendUintField(b, "inode", s.Peer.Inode)
		b = append(b, '}')
	}
	if s.NetNS != nil {
		b = append(b, `,"netns":{`...)
		b = appendUintField(b, "inode", s.NetNS.Inode)
		b = append(b, ',')
		b = appendStrField(b, "name", s.NetNS.Name)
		b = append(b, '}')
		if s.NetNS.Container != "" {
			b = append(b, ',')
			b = appendStrField(b, "container", s.NetNS.Container)
		}
	}
	b = append(b, `,"holders":[`...)
	for i, h := range s.Holders {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendHolderJSON(b, h)
	}
	b = append(b, ']')
	if s.HoldersHidden {
		b = append(b, `,"holders_hidden":true`...)
	}
	return append(b, '}')
}

// AppendHolderJSON appends one holder: {pid, fd, comm, cmdline, argv, user, uid}.
func AppendHolderJSON(b []byte, h sockscope.Holder) []byte {
	b = append(b, '{')
	b = appendUintField(b, "pid", uint64(h.PID()))
	b = append(b, ',')
	b = appendUintField(b, "fd", uint64(h.FD))
	if p := h.Proc; p != nil {
		b = append(b, ',')
		b = appendStrField(b, "comm", p.Comm)
		b = append(b, ',')
		b = appendStrField(b, "cmdline", strings.Join(p.Cmdline, " "))
		b = append(b, `,"argv":[`...)
		for i, a := range p.Cmdline {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, a)
		}
		b = append(b, ']', ',')
		b = appendStrField(b, "user", p.User)
		b = append(b, ',')
		b = appendUintField(b, "uid", uint64(p.UID))
		if p.Cgroup != "" {
			b = append(b, ',')
			b = appendStrField(b, "cgroup", p.Cgroup)
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
		b = appendStrField(b, "kind", w.Kind)
		b = append(b, ',')
		b = appendUintField(b, "count", uint64(w.Count))
		b = append(b, ',')
		b = appendStrField(b, "message", w.Msg)
		b = append(b, '}')
	}
	return append(b, ']')
}
