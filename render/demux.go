package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
)

// DemuxReport is what the demux command prints: the segment, the
// prediction, and the kernel's own lookup compared with it.
type DemuxReport struct {
	Segment demux.Segment
	Result  demux.LookupResult
	Kernel  demux.KernelCheck
}

// WriteDemux writes the lookup for people: every step, the verdict, and
// whether the kernel's own lookup agrees.
func WriteDemux(w io.Writer, st Style, rep DemuxReport) error {
	seg, res, k := rep.Segment, rep.Result, rep.Kernel
	var b strings.Builder
	// The segment is what the user typed: an IPv6 zone is free text.
	fmt.Fprintf(&b, "%s segment %s -> %s\n\n", seg.Proto, Sanitize(sockscope.FormatAddrPort(seg.Src)), Sanitize(sockscope.FormatAddrPort(seg.Dst)))
	for i, s := range res.Steps {
		fmt.Fprintf(&b, "%d. %s: %s\n", i+1, Sanitize(s.Name), Sanitize(s.Detail))
		for _, m := range s.Matched {
			fmt.Fprintf(&b, "     %s %s %s -> %s  %s\n", m.Proto, m.State, Sanitize(m.LocalString()), m.RemoteString(), demuxHolder(m))
		}
	}
	b.WriteString("\n")
	delivered := Paint("Delivered to", Bold, st.Color)
	switch res.Verdict {
	case demux.One:
		s := res.Socket
		fmt.Fprintf(&b, "%s the %s socket %s", delivered, s.State, Sanitize(s.LocalString()))
		if s.Connected() {
			fmt.Fprintf(&b, " -> %s", s.RemoteString())
		}
		fmt.Fprintf(&b, ", held by %s (%s).\n", demuxHolder(s), socketID(s.Cookie, s.Inode))
		if res.KernelPick {
			why := " (its reuseport selection for this 4-tuple); a reuseport BPF program attached to the group, which sockscope cannot see, would choose instead"
			if n := len(res.Steps); n > 0 && res.Steps[n-1].Name == "kernel" {
				why = ", which knows the socket options sockscope could not read"
			}
			fmt.Fprintf(&b, "Chosen among %d possible receivers by the kernel's own lookup%s:\n", len(res.Group), why)
			for _, g := range res.Group {
				fmt.Fprintf(&b, "  %s %s  %s (%s)\n", g.State, Sanitize(g.LocalString()), demuxHolder(g), socketID(g.Cookie, g.Inode))
			}
		}
	case demux.OneOf:
		fmt.Fprintf(&b, "%s one of these %d sockets, %s:\n", delivered, len(res.Candidates), oneOfReason(res.Ambiguity))
		for _, s := range res.Candidates {
			fmt.Fprintf(&b, "  %s %s  %s (%s)\n", s.State, Sanitize(s.LocalString()), demuxHolder(s), socketID(s.Cookie, s.Inode))
		}
	case demux.All:
		fmt.Fprintf(&b, "%s every one of these %d sockets (a copy each):\n", delivered, len(res.Candidates))
		for _, s := range res.Candidates {
			fmt.Fprintf(&b, "  %s %s  %s\n", s.State, Sanitize(s.LocalString()), demuxHolder(s))
		}
	case demux.NotLocal:
		fmt.Fprintf(&b, "Not delivered locally: %s is not an address of this network namespace, so no socket here receives it; the kernel forwards or drops the packet.\n", seg.Dst.Addr().WithZone(""))
	default:
		if seg.Proto == sockscope.TCP {
			b.WriteString("No socket: the kernel answers with a reset (RST); a connect() would get ECONNREFUSED.\n")
		} else {
			b.WriteString("No socket: the kernel answers with ICMP port unreachable; a connected sender gets ECONNREFUSED.\n")
		}
	}
	switch {
	case !k.Asked:
	case k.Err != nil:
		fmt.Fprintf(&b, "The kernel's own lookup could not be asked: %s\n", Sanitize(k.Err.Error()))
	case k.Agrees && k.Found:
		fmt.Fprintf(&b, "The kernel's own lookup agrees: %s.\n", socketID(k.Reply.Cookie, k.Reply.Inode))
	case k.Agrees:
		b.WriteString("The kernel's own lookup agrees: no socket.\n")
	case k.Found:
		fmt.Fprintf(&b, "%s: the kernel's own lookup chose %s, %s -> %s.\n", Paint("The kernel disagrees", Red, st.Color), socketID(k.Reply.Cookie, k.Reply.Inode), sockscope.FormatSocketAddrPort(k.Reply.Local, k.Reply.V6Only), sockscope.FormatSocketAddrPort(k.Reply.Remote, k.Reply.V6Only))
	default:
		fmt.Fprintf(&b, "%s: the kernel's own lookup found no socket.\n", Paint("The kernel disagrees", Red, st.Color))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// oneOfReason says what picks among the candidates of a one-of verdict.
func oneOfReason(a demux.Ambiguity) string {
	switch {
	case a.Has(demux.ReuseportHash | demux.HiddenInput):
		return "chosen by a keyed hash of the 4-tuple, or by inputs sockscope cannot see (socket options it could not read, or the CPU the packet is processed on)"
	case a.Has(demux.ReuseportHash):
		return "a SO_REUSEPORT group: chosen by a keyed hash of the 4-tuple"
	default:
		return "depending on inputs sockscope cannot see: socket options it could not read (run as root to read them), or the CPU the packet is processed on"
	}
}

func socketID(cookie, inode uint64) string {
	switch {
	case cookie != 0 && inode != 0:
		return fmt.Sprintf("cookie %d, inode %d", cookie, inode)
	case cookie != 0:
		return fmt.Sprintf("cookie %d", cookie)
	}
	return fmt.Sprintf("inode %d", inode)
}

func demuxHolder(s *sockscope.Socket) string {
	if len(s.Holders) > 0 {
		return HolderText(s.Holders, 3)
	}
	if s.HoldersHidden {
		return "(holder hidden)"
	}
	return "(no holder)"
}

// demuxJSON is the demux document (docs/json.md).
type demuxJSON struct {
	Version      int               `json:"version"`
	Proto        string            `json:"proto"`
	Src          string            `json:"src"`
	Dst          string            `json:"dst"`
	Ifindex      uint32            `json:"ifindex"`
	Verdict      string            `json:"verdict"`
	Ambiguity    []string          `json:"ambiguity"`
	Socket       json.RawMessage   `json:"socket"`
	Candidates   []json.RawMessage `json:"candidates"`
	KernelPick   bool              `json:"kernel_pick"`
	Group        []json.RawMessage `json:"group"`
	Steps        []demuxStepJSON   `json:"steps"`
	KernelAgrees *bool             `json:"kernel_agrees"`
	Kernel       *demuxKernelJSON  `json:"kernel"`
}

type demuxStepJSON struct {
	Name    string   `json:"name"`
	Detail  string   `json:"detail"`
	Matched []uint64 `json:"matched"`
}

type demuxKernelJSON struct {
	// Socket is null when the kernel's lookup found no socket (or failed:
	// Error).
	Socket *demuxKernelSocketJSON `json:"socket"`
	Error  *string                `json:"error"`
}

type demuxKernelSocketJSON struct {
	Cookie    uint64 `json:"cookie"`
	Inode     uint64 `json:"inode"`
	Local     string `json:"local"`
	Remote    string `json:"remote"`
	Interface uint32 `json:"interface"`
}

// WriteDemuxJSON writes the demux document: one JSON object and a newline.
func WriteDemuxJSON(w io.Writer, rep DemuxReport) error {
	res, k := rep.Result, rep.Kernel
	doc := demuxJSON{
		Version:    SchemaVersion,
		Proto:      rep.Segment.Proto.String(),
		Src:        sockscope.FormatAddrPort(rep.Segment.Src),
		Dst:        sockscope.FormatAddrPort(rep.Segment.Dst),
		Ifindex:    rep.Segment.Ifindex,
		Verdict:    string(res.Verdict),
		Ambiguity:  res.Ambiguity.Strings(),
		Candidates: []json.RawMessage{},
		KernelPick: res.KernelPick,
		Group:      []json.RawMessage{},
		Steps:      make([]demuxStepJSON, 0, len(res.Steps)),
	}
	if doc.Ambiguity == nil {
		doc.Ambiguity = []string{}
	}
	if res.Socket != nil {
		doc.Socket = AppendSocketJSON(nil, res.Socket)
	}
	for _, c := range res.Candidates {
		doc.Candidates = append(doc.Candidates, AppendSocketJSON(nil, c))
	}
	for _, g := range res.Group {
		doc.Group = append(doc.Group, AppendSocketJSON(nil, g))
	}
	for _, s := range res.Steps {
		st := demuxStepJSON{Name: s.Name, Detail: s.Detail, Matched: make([]uint64, 0, len(s.Matched))}
		for _, m := range s.Matched {
			st.Matched = append(st.Matched, m.Cookie)
		}
		doc.Steps = append(doc.Steps, st)
	}
	if k.Asked {
		kj := &demuxKernelJSON{}
		if k.Err != nil {
			msg := k.Err.Error()
			kj.Error = &msg
		} else {
			agrees := k.Agrees
			doc.KernelAgrees = &agrees
		}
		if k.Found {
			kj.Socket = &demuxKernelSocketJSON{
				Cookie: k.Reply.Cookie, Inode: k.Reply.Inode, Interface: k.Reply.Interface,
				Local:  sockscope.FormatSocketAddrPort(k.Reply.Local, k.Reply.V6Only),
				Remote: sockscope.FormatSocketAddrPort(k.Reply.Remote, k.Reply.V6Only),
			}
		}
		doc.Kernel = kj
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("render: demux JSON: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
