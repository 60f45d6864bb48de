package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
)

// bindExamples is how many members of a blocker group the table names.
const bindExamples = 3

// WriteBindCheck writes the answer of bind-check for people: the verdict
// line, the rule, the sockets in the way (one line per group of sockets
// that block for the same reason, with a count and a few examples), what
// the answer turns on, and what would help. Untrusted text is sanitized.
func WriteBindCheck(w io.Writer, st Style, req demux.BindRequest, res demux.BindResult) error {
	var b strings.Builder
	b.WriteString(Paint(bindHeadline(req, res), verdictColor(res.Verdict), st.Color) + "\n")
	if res.Rule != "" {
		b.WriteString("\n" + Sanitize(res.Rule) + "\n")
	}
	if groups := res.Groups(); len(groups) > 0 {
		b.WriteString("\nSockets in the way:\n")
		for _, g := range groups {
			writeBlockerGroup(&b, g)
		}
	}
	writeList(&b, "The answer turns on:", res.DependsOn)
	writeList(&b, "What would help:", res.Help)
	_, err := io.WriteString(w, b.String())
	return err
}

func verdictColor(v demux.Verdict) Color {
	switch v {
	case demux.OK:
		return Green
	case demux.Fail:
		return Red
	}
	return Yellow
}

// bindHeadline is the first line: the request and the verdict.
func bindHeadline(req demux.BindRequest, res demux.BindResult) string {
	head := describeBindRequest(req) + ": "
	switch res.Verdict {
	case demux.OK:
		head += "would succeed"
	case demux.Fail:
		head += "would fail"
	default:
		head += "depends on something sockscope cannot see"
	}
	if res.Errno != "" {
		if res.Verdict == demux.Depends {
			head += " (else " + res.Errno
		} else {
			head += " (" + res.Errno
		}
		if res.Phase != "" {
			head += " at " + res.Phase + "()"
		}
		head += ")"
	}
	return head
}

// describeBindRequest says in words what the request is, e.g. "tcp bind
// to 0.0.0.0:80 and listen with SO_REUSEPORT as uid 1000".
func describeBindRequest(req demux.BindRequest) string {
	var opts []string
	if req.ReuseAddr {
		opts = append(opts, "SO_REUSEADDR")
	}
	if req.ReusePort {
		opts = append(opts, "SO_REUSEPORT")
	}
	// Sanitized: an IPv6 zone the user typed is free text.
	s := fmt.Sprintf("%s bind to %s", req.Proto, Sanitize(requestAddr(req)))
	if req.Listen {
		s += " and listen"
	}
	if len(opts) > 0 {
		s += " with " + strings.Join(opts, "+")
	}
	return s + fmt.Sprintf(" as uid %d", req.UID)
}

// requestAddr formats the address to bind; the IPv4 wildcard is written
// 0.0.0.0, as the user typed it.
func requestAddr(req demux.BindRequest) string {
	if a := req.Addr.Addr(); a.Is4() && a.IsUnspecified() {
		return "0.0.0.0:" + strconv.Itoa(int(req.Addr.Port()))
	}
	return sockscope.FormatAddrPort(req.Addr)
}

// localText formats a blocker's local address. It may hold a device name
// (untrusted): the table sanitizes it.
func localText(s *sockscope.Socket) string { return s.LocalString() }

func writeBlockerGroup(b *strings.Builder, g demux.BlockerGroup) {
	mark := "blocks"
	if !g.Definite {
		mark = "may block"
	}
	first := g.Sockets[0]
	if len(g.Sockets) == 1 {
		fmt.Fprintf(b, "  %s  %s %s %s  %s\n", mark, first.Proto, first.State, Sanitize(localText(first)), HolderOrNone(first))
	} else {
		fmt.Fprintf(b, "  %s  %d sockets: %s %s %s\n", mark, len(g.Sockets), first.Proto, first.State, Sanitize(localText(first)))
		var ex []string
		for _, s := range g.Sockets[:min(bindExamples, len(g.Sockets))] {
			ex = append(ex, bindExample(s))
		}
		more := ""
		if n := len(g.Sockets) - bindExamples; n > 0 {
			more = fmt.Sprintf(", and %d more", n)
		}
		fmt.Fprintf(b, "    e.g. %s%s\n", strings.Join(ex, "; "), more)
	}
	b.WriteString("    " + Sanitize(g.Reason) + "\n")
}

// bindExample names one member of a group: its peer when connected, and
// its holder.
func bindExample(s *sockscope.Socket) string {
	h := HolderOrNone(s)
	if s.Connected() {
		return "peer " + s.RemoteString() + " " + h
	}
	return h
}

// HolderOrNone says who holds a socket: its holders (at most 3), or
// "(holder hidden)" or "(no holder)".
func HolderOrNone(s *sockscope.Socket) string {
	switch {
	case len(s.Holders) > 0:
		return HolderText(s.Holders, 3)
	case s.HoldersHidden:
		return "(holder hidden)"
	}
	return "(no holder)"
}

func writeList(b *strings.Builder, title string, items []string) {
	if len(items) == 0 {
		return
	}
	b.WriteString("\n" + title + "\n")
	for _, it := range items {
		b.WriteString("  - " + Sanitize(it) + "\n")
	}
}

// bindCheckJSON is the bind-check document (docs/json.md).
type bindCheckJSON struct {
	Version        int                `json:"version"`
	Request        bindRequestJSON    `json:"request"`
	Verdict        demux.Verdict      `json:"verdict"`
	Errno          *string            `json:"errno"`
	Phase          *string            `json:"phase"`
	Rule           string             `json:"rule"`
	BlockerGroups  []blockerGroupJSON `json:"blocker_groups"`
	DependsOn      []string           `json:"depends_on"`
	CacheDependent bool               `json:"cache_dependent"`
	Help           []string           `json:"help"`
}

type bindRequestJSON struct {
	Proto     string `json:"proto"`
	Local     string `json:"local"`
	ReuseAddr bool   `json:"reuseaddr"`
	ReusePort bool   `json:"reuseport"`
	// V6Only is null for the namespace default (net.ipv6.bindv6only).
	V6Only *bool  `json:"v6only"`
	Device uint32 `json:"device,omitempty"`
	UID    uint32 `json:"uid"`
	// CapNetBindService is null when decided from the uid.
	CapNetBindService *bool `json:"cap_net_bind_service"`
	Listen            bool  `json:"listen"`
	Freebind          bool  `json:"freebind"`
}

type blockerGroupJSON struct {
	Definite bool         `json:"definite"`
	State    string       `json:"state"`
	Local    string       `json:"local"`
	Reason   string       `json:"reason"`
	Count    int          `json:"count"`
	Sockets  []socketJSON `json:"sockets"`
}

// socketJSON encodes a socket with the measured fast path (AppendSocketJSON).
type socketJSON struct{ s *sockscope.Socket }

// MarshalJSON implements json.Marshaler.
func (s socketJSON) MarshalJSON() ([]byte, error) { return AppendSocketJSON(nil, s.s), nil }

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optBool(t sockscope.Tristate) *bool {
	if t == sockscope.Unknown {
		return nil
	}
	b := t == sockscope.Yes
	return &b
}

// nonNil makes an absent list print as [] (the list is known to be empty).
func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// WriteBindCheckJSON writes the bind-check document: the request, the
// verdict, and every blocker, in groups (docs/json.md).
func WriteBindCheckJSON(w io.Writer, req demux.BindRequest, res demux.BindResult) error {
	doc := bindCheckJSON{
		Version: SchemaVersion,
		Request: bindRequestJSON{
			Proto: req.Proto.String(), Local: requestAddr(req), ReuseAddr: req.ReuseAddr, ReusePort: req.ReusePort,
			V6Only: optBool(req.V6Only), Device: req.Device, UID: req.UID, CapNetBindService: optBool(req.CapNetBindService),
			Listen: req.Listen, Freebind: req.Freebind,
		},
		Verdict:        res.Verdict,
		Errno:          optString(res.Errno),
		Phase:          optString(res.Phase),
		Rule:           res.Rule,
		BlockerGroups:  []blockerGroupJSON{},
		DependsOn:      nonNil(res.DependsOn),
		CacheDependent: res.CacheDependent,
		Help:           nonNil(res.Help),
	}
	if req.Addr.Addr().Is4() {
		doc.Request.V6Only = nil // meaningless for an AF_INET socket
	}
	for _, g := range res.Groups() {
		jg := blockerGroupJSON{Definite: g.Definite, State: g.State.String(), Local: localText(g.Sockets[0]), Reason: g.Reason, Count: len(g.Sockets)}
		for _, s := range g.Sockets {
			jg.Sockets = append(jg.Sockets, socketJSON{s})
		}
		doc.BlockerGroups = append(doc.BlockerGroups, jg)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("render: encode bind-check: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
