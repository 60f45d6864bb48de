package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
	"github.com/sockscope/sockscope/internal/sysenv"
	"github.com/sockscope/sockscope/query"
	"github.com/sockscope/sockscope/render"
	"github.com/sockscope/sockscope/views"
)

// maxFilterLen bounds the ?filter= parameter, in bytes: a filter is typed
// by a person, and parsing is linear, but a URL is not a place for more.
const maxFilterLen = 4096

// maxDetailSockets bounds the sockets listed by /api/port; the count of
// all of them is given beside.
const maxDetailSockets = 500

// filterErrorJSON is the body of a request whose filter does not parse:
// errorJSON's message, and where the mistake is.
type filterErrorJSON struct {
	Error  string          `json:"error"`
	Filter filterErrorInfo `json:"filter"`
}

// filterErrorInfo places a query.SyntaxError in the filter text.
type filterErrorInfo struct {
	// Input is the filter as received.
	Input string `json:"input"`
	// Pos is the byte offset of the mistake in Input (UTF-8), Index the
	// same place in UTF-16 code units, as a browser's text field counts.
	Pos   int `json:"pos"`
	Index int `json:"index"`
	// Message says what is wrong; Valid what would work at Pos.
	Message string   `json:"message"`
	Valid   []string `json:"valid"`
	// Caret is query.SyntaxError.Caret: the input, a caret under the
	// mistake, and what is valid there, for a fixed-width font.
	Caret string `json:"caret"`
}

// filterParam parses the request's ?filter= parameter with the CLI's
// filter language. It returns nil for no (or a blank) filter. A filter
// that does not parse is answered 400 with a filterErrorJSON, and ok is
// false.
func (s *Server) filterParam(w http.ResponseWriter, r *http.Request) (flt *query.Filter, ok bool) {
	text := r.URL.Query().Get("filter")
	if strings.TrimSpace(text) == "" {
		return nil, true
	}
	var se *query.SyntaxError
	if len(text) > maxFilterLen {
		se = &query.SyntaxError{Input: text, Pos: maxFilterLen, Msg: fmt.Sprintf("filter longer than %d bytes", maxFilterLen)}
	} else {
		f, err := query.Parse(text)
		if err == nil {
			return f, true
		}
		if !errors.As(err, &se) {
			s.writeJSON(w, http.StatusBadRequest, errorJSON{Error: err.Error()})
			return nil, false
		}
	}
	pos := min(max(se.Pos, 0), len(se.Input))
	valid := se.Valid
	if valid == nil {
		valid = []string{}
	}
	s.writeJSON(w, http.StatusBadRequest, filterErrorJSON{
		Error: se.Error(),
		Filter: filterErrorInfo{
			Input: se.Input, Pos: pos, Index: utf16Len(se.Input[:pos]),
			Message: se.Msg, Valid: valid, Caret: se.Caret(),
		},
	})
	return nil, false
}

// utf16Len is the length of s in UTF-16 code units; an invalid byte
// counts as one (a browser shows it as U+FFFD).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r == utf8.RuneError {
			n++
			continue
		}
		n += len(utf16.Encode([]rune{r}))
	}
	return n
}

// filtered returns snap with only the sockets flt matches; snap itself,
// which other requests may share, is left as it is.
func filtered(snap *sockscope.Snapshot, flt *query.Filter) *sockscope.Snapshot {
	if flt == nil {
		return snap
	}
	out := *snap
	out.Sockets = make([]*sockscope.Socket, 0, len(snap.Sockets)/4)
	for _, s := range snap.Sockets {
		if flt.Match(s) {
			out.Sockets = append(out.Sockets, s)
		}
	}
	return &out
}

// writeJSON answers code with v encoded as JSON (< and > left as they
// are, as everywhere in sockscope's JSON), within WriteTimeout from now:
// the request may have waited for its turn past the deadline set on its
// arrival.
func (s *Server) writeJSON(w http.ResponseWriter, code int, v any) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "sockscope: internal error: encoding the reply", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(b.String()))
}

// serveNoIcon answers a browser's request for /favicon.ico with 204: the
// page has no icon, and a 404 would be a console error on every load.
func serveNoIcon(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "max-age=86400")
	w.WriteHeader(http.StatusNoContent)
}

// portDetailJSON is the body of /api/port: what `sockscope port` says
// about one port.
type portDetailJSON struct {
	Version int    `json:"version"`
	Port    uint16 `json:"port"`
	// Explanation has one entry per protocol: the sentences of
	// `sockscope port` on a terminal (demux.AnalyzePort).
	Explanation []portExplanationJSON `json:"explanation"`
	// Sockets are the sockets on the port that the filter keeps, at most
	// maxDetailSockets of them (listeners first); SocketsTotal counts
	// them all.
	Sockets      []json.RawMessage `json:"sockets"`
	SocketsTotal int               `json:"sockets_total"`
	Warnings     json.RawMessage   `json:"warnings"`
}

type portExplanationJSON struct {
	Proto     string   `json:"proto"`
	Sentences []string `json:"sentences"`
}

// portQuery is a parsed /api/port request.
type portQuery struct {
	protos []sockscope.Proto // the protocols asked for, or nil for any
	num    uint16
	netns  uint64 // a namespace inode, or 0 for all
}

// parsePortQuery reads proto (tcp, udp, udplite or empty), port (a number
// or a service name) and netns (an inode, optional).
func parsePortQuery(r *http.Request) (portQuery, error) {
	q := r.URL.Query()
	var pq portQuery
	switch p := q.Get("proto"); p {
	case "":
	case "tcp", "udp", "udplite":
		proto, _ := sockscope.ParseProto(p)
		pq.protos = []sockscope.Proto{proto}
	default:
		return pq, fmt.Errorf("proto %q: want tcp, udp or udplite (or none for all three)", p)
	}
	port := q.Get("port")
	if port == "" {
		return pq, errors.New("port missing: want port=NUMBER (1-65535) or a service name, e.g. /api/port?proto=tcp&port=443")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err == nil && n > 0 {
		pq.num = uint16(n)
	} else if allDigits(port) {
		return pq, fmt.Errorf("port %q: want a number from 1 to 65535", port)
	} else {
		proto := "tcp"
		if len(pq.protos) == 1 {
			proto = pq.protos[0].String()
		}
		n, ok := query.LookupService(port, proto)
		if !ok || len(port) > 64 {
			return pq, fmt.Errorf("port %q: not a number from 1 to 65535 nor a %s service name known to /etc/services", render.Sanitize(port), proto)
		}
		pq.num = n
	}
	if ns := q.Get("netns"); ns != "" {
		n, err := strconv.ParseUint(ns, 10, 64)
		if err != nil || n == 0 {
			return pq, fmt.Errorf("netns %q: want a namespace inode number, as in the netns.inode of /api/ports", render.Sanitize(ns))
		}
		pq.netns = n
	}
	return pq, nil
}

// servePortDetail answers /api/port: the explanation of `sockscope port`
// for one port, and the sockets on it.
func (s *Server) servePortDetail(w http.ResponseWriter, r *http.Request) {
	pq, err := parsePortQuery(r)
	if err != nil {
		s.writeJSON(w, http.StatusBadRequest, errorJSON{Error: "sockscope: /api/port: " + err.Error()})
		return
	}
	flt, ok := s.filterParam(w, r)
	if !ok {
		return
	}
	snap, err := s.snapshot(r.Context(), s.apiOptions())
	if err != nil {
		jsonError(w, err)
		return
	}
	// Every socket on the port, for the explanation; the filter only
	// narrows the list, as in `sockscope port N FILTER`.
	on := *snap
	on.Sockets = nil
	for _, so := range snap.Sockets {
		if so.Proto.HasPorts() && so.Local.Port() == pq.num && (pq.protos == nil || slices.Contains(pq.protos, so.Proto)) &&
			(pq.netns == 0 || (so.NetNS != nil && so.NetNS.Inode == pq.netns)) {
			on.Sockets = append(on.Sockets, so)
		}
	}
	protos := pq.protos
	if protos == nil {
		for _, so := range on.Sockets {
			if !slices.Contains(protos, so.Proto) {
				protos = append(protos, so.Proto)
			}
		}
		slices.Sort(protos)
		if protos == nil {
			protos = []sockscope.Proto{sockscope.TCP, sockscope.UDP}
		}
	}
	doc := portDetailJSON{Version: render.SchemaVersion, Port: pq.num, Explanation: []portExplanationJSON{}, Sockets: []json.RawMessage{}}
	for _, p := range protos {
		// The explanation reads hidden socket options where it may, as
		// the CLI's does.
		sentences := demux.AnalyzePort(&on, sockscope.Port{Proto: p, Num: pq.num}, sysenv.ReadFlags).Sentences()
		doc.Explanation = append(doc.Explanation, portExplanationJSON{Proto: p.String(), Sentences: sentences})
	}
	list := filtered(&on, flt).Sockets
	// Listeners first, then in snapshot order.
	list = slices.Clone(list)
	slices.SortStableFunc(list, func(a, b *sockscope.Socket) int {
		return boolRank(!a.IsListener()) - boolRank(!b.IsListener())
	})
	doc.SocketsTotal = len(list)
	for _, so := range list[:min(len(list), maxDetailSockets)] {
		doc.Sockets = append(doc.Sockets, render.AppendSocketJSON(nil, so))
	}
	doc.Warnings = render.AppendWarningsJSON(nil, snap.Warnings)
	s.writeJSON(w, http.StatusOK, doc)
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// maxPagePeers is how many of a port's peers (the most frequent, as the
// view orders them) get their holders in /api/page.
const maxPagePeers = 5

// pageDoc is the body of /api/page: the ports view, and for the graph,
// who holds the connections to each port's top peers.
type pageDoc struct {
	Version int             `json:"version"`
	View    json.RawMessage `json:"view"`
	// PeerHolders is parallel to view.ports: for each port, its first
	// maxPagePeers peers (by address, as in view.ports[i].peers) and the
	// processes that hold its connected sockets to that address; a peer
	// whose connections no process holds (an accept queue, TIME-WAIT)
	// has an empty list.
	PeerHolders []map[string][]peerHolderJSON `json:"peer_holders"`
}

type peerHolderJSON struct {
	PID  int    `json:"pid"`
	Comm string `json:"comm"`
	User string `json:"user,omitempty"`
}

// servePageData answers /api/page, what the page draws: the view of
// /api/ports and the holders of each port's connections, which the ports
// view counts but does not name, so that the graph links each peer to
// the processes that really hold its connections (a pre-forked server's
// workers, not its master).
func (s *Server) servePageData(w http.ResponseWriter, r *http.Request) {
	flt, ok := s.filterParam(w, r)
	if !ok {
		return
	}
	snap, err := s.snapshot(r.Context(), s.apiOptions())
	if err != nil {
		jsonError(w, err)
		return
	}
	v := views.BuildPorts(filtered(snap, flt), s.cfg.Services)
	var view bytes.Buffer
	if err := render.WritePortsJSON(&view, v); err != nil {
		jsonError(w, err)
		return
	}
	doc := pageDoc{Version: render.SchemaVersion, View: bytes.TrimSpace(view.Bytes()), PeerHolders: make([]map[string][]peerHolderJSON, len(v.Blocks))}
	for i, b := range v.Blocks {
		m := map[string][]peerHolderJSON{}
		for _, p := range b.Peers[:min(len(b.Peers), maxPagePeers)] {
			m[p.Label] = []peerHolderJSON{}
		}
		for _, so := range b.Sockets {
			if !so.Connected() {
				continue
			}
			hs, ok := m[so.Remote.Addr().String()]
			if !ok {
				continue
			}
			for _, h := range so.Holders {
				if h.Proc == nil || slices.ContainsFunc(hs, func(x peerHolderJSON) bool { return x.PID == h.Proc.PID }) {
					continue
				}
				hs = append(hs, peerHolderJSON{PID: h.Proc.PID, Comm: h.Proc.Comm, User: h.Proc.User})
			}
			m[so.Remote.Addr().String()] = hs
		}
		for _, hs := range m {
			slices.SortFunc(hs, func(a, b peerHolderJSON) int { return a.PID - b.PID })
		}
		doc.PeerHolders[i] = m
	}
	s.writeJSON(w, http.StatusOK, doc)
}
