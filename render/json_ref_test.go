package render

// The encoder before it appended constant fragments and cached the netns
// object, kept as the reference that the fast encoder must match byte for
// byte.

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/sockscope/sockscope"
)

func refAppendKey(b []byte, k string) []byte {
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

func refAppendUintField(b []byte, k string, v uint64) []byte {
	b = refAppendKey(b, k)
	return strconv.AppendUint(b, v, 10)
}

func refAppendStrField(b []byte, k, v string) []byte {
	b = refAppendKey(b, k)
	return appendJSONString(b, v)
}

// refAppendAddrPortField appends "k":"FormatSocketAddrPort(ap, v6only)",
// building the string.
func refAppendAddrPortField(b []byte, k string, ap netip.AddrPort, v6only sockscope.Tristate) []byte {
	return refAppendStrField(b, k, sockscope.FormatSocketAddrPort(ap, v6only))
}

// AppendSocketJSON appends one socket as a JSON object (docs/json.md).
func refAppendSocketJSON(b []byte, s *sockscope.Socket) []byte {
	b = append(b, '{')
	b = refAppendStrField(b, "proto", s.Proto.String())
	b = append(b, ',')
	b = refAppendStrField(b, "family", s.Family.String())
	if s.Type != 0 {
		b = append(b, ',')
		b = refAppendStrField(b, "type", s.Type.String())
	}
	b = append(b, ',')
	b = refAppendStrField(b, "state", s.State.String())
	if s.Proto == sockscope.Unix {
		b = append(b, ',')
		b = refAppendStrField(b, "path", s.Path)
		if s.PeerInode != 0 {
			b = append(b, ',')
			b = refAppendUintField(b, "peer_inode", s.PeerInode)
		}
		if len(s.Pending) > 0 {
			b = append(b, ',')
			b = refAppendUintField(b, "pending", uint64(len(s.Pending)))
		}
	} else {
		b = append(b, ',')
		b = refAppendStrField(b, "local", s.LocalString())
		b = append(b, ',')
		b = refAppendAddrPortField(b, "remote", s.Remote, s.V6Only)
		b = append(b, ',')
		b = refAppendKey(b, "local_port")
		b = strconv.AppendUint(b, uint64(s.Local.Port()), 10)
		if s.Interface != 0 {
			b = append(b, ',')
			b = refAppendUintField(b, "ifindex", uint64(s.Interface))
		}
		if s.V6Only != sockscope.Unknown {
			b = append(b, ',')
			b = refAppendKey(b, "v6only")
			b = strconv.AppendBool(b, s.V6Only == sockscope.Yes)
		}
	}
	b = append(b, ',')
	b = refAppendUintField(b, "recv_q", uint64(s.RecvQ))
	b = append(b, ',')
	b = refAppendUintField(b, "send_q", uint64(s.SendQ))
	b = append(b, ',')
	b = refAppendUintField(b, "inode", s.Inode)
	b = append(b, ',')
	b = refAppendUintField(b, "cookie", s.Cookie)
	b = append(b, ',')
	b = refAppendUintField(b, "uid", uint64(s.UID))
	if s.Peer != nil {
		b = append(b, `,"peer":{`...)
		b = refAppendUintField(b, "cookie", s.Peer.Cookie)
		b = append(b, ',')
		b = refAppendUintField(b, "inode", s.Peer.Inode)
		b = append(b, '}')
	}
	if s.NetNS != nil {
		b = append(b, `,"netns":{`...)
		b = refAppendUintField(b, "inode", s.NetNS.Inode)
		b = append(b, ',')
		b = refAppendStrField(b, "name", s.NetNS.Name)
		b = append(b, '}')
		if s.NetNS.Container != "" {
			b = append(b, ',')
			b = refAppendStrField(b, "container", s.NetNS.Container)
		}
	}
	if s.HoldersScanned || len(s.Holders) > 0 {
		b = append(b, `,"holders":[`...)
		for i, h := range s.Holders {
			if i > 0 {
				b = append(b, ',')
			}
			b = refAppendHolderJSON(b, h)
		}
		b = append(b, ']')
	}
	if s.HoldersHidden {
		b = append(b, `,"holders_hidden":true`...)
	}
	return append(b, '}')
}

// AppendHolderJSON appends one holder: {pid, fd, comm, cmdline, argv, user, uid}.
func refAppendHolderJSON(b []byte, h sockscope.Holder) []byte {
	b = append(b, '{')
	b = refAppendUintField(b, "pid", uint64(h.PID()))
	b = append(b, ',')
	b = refAppendUintField(b, "fd", uint64(h.FD))
	if p := h.Proc; p != nil {
		b = append(b, ',')
		b = refAppendStrField(b, "comm", p.Comm)
		b = append(b, ',')
		b = refAppendStrField(b, "cmdline", strings.Join(p.Cmdline, " "))
		b = append(b, `,"argv":[`...)
		for i, a := range p.Cmdline {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, a)
		}
		b = append(b, ']', ',')
		b = refAppendStrField(b, "user", p.User)
		b = append(b, ',')
		b = refAppendUintField(b, "uid", uint64(p.UID))
		if p.Cgroup != "" {
			b = append(b, ',')
			b = refAppendStrField(b, "cgroup", p.Cgroup)
		}
	}
	return append(b, '}')
}
