package server

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sockscope/sockscope/query"
)

type filterErrorBody struct {
	Error  string `json:"error"`
	Filter struct {
		Input   string   `json:"input"`
		Pos     int      `json:"pos"`
		Index   int      `json:"index"`
		Message string   `json:"message"`
		Valid   []string `json:"valid"`
		Caret   string   `json:"caret"`
	} `json:"filter"`
}

// TestAPIFilterErrors: a filter that does not parse is answered 400 on
// every JSON endpoint, with the place of the mistake in bytes and in
// UTF-16 units, what would be valid there, and the CLI's caret drawing.
func TestAPIFilterErrors(t *testing.T) {
	srv := httptest.NewServer(New(Config{}))
	defer srv.Close()
	for _, tt := range []struct {
		filter     string
		pos, index int
		msg        string // a part of the message
		valid      string // one of the valid words, or ""
	}{
		{"stat established", 0, 0, `did you mean "state"`, "state"},
		{"sport = :80 and", 15, 15, "", ""},
		{"state bogus", 6, 6, "bogus", "established"},
		// A multi-byte name before the mistake: ☃ is 3 bytes and one
		// UTF-16 unit, 🦀 4 bytes and two.
		{"proc ☃ bogus", 9, 7, "bogus", ""},
		{"proc 🦀 bogus", 10, 8, "bogus", ""},
		{strings.Repeat("( ", 2100), maxFilterLen, maxFilterLen, "longer than", ""},
	} {
		for _, path := range []string{"/api/ports", "/api/sockets", "/api/page", "/api/port?port=1&"} {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = ""
			}
			u := srv.URL + path + sep + "filter=" + url.QueryEscape(tt.filter)
			resp, body := get(t, u)
			if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("GET %s filter %.30q = %d %q, want 400 JSON: %.200s", path, tt.filter, resp.StatusCode, resp.Header.Get("Content-Type"), body)
				continue
			}
			var e filterErrorBody
			if err := json.Unmarshal(body, &e); err != nil {
				t.Errorf("GET %s filter %.30q: %v: %.200s", path, tt.filter, err, body)
				continue
			}
			f := e.Filter
			if f.Input != tt.filter || f.Pos != tt.pos || f.Index != tt.index {
				t.Errorf("GET %s filter %.30q: input %.30q pos %d index %d, want pos %d index %d", path, tt.filter, f.Input, f.Pos, f.Index, tt.pos, tt.index)
			}
			if !strings.Contains(f.Message, tt.msg) || !strings.Contains(e.Error, f.Message) || !strings.HasPrefix(e.Error, "filter: ") {
				t.Errorf("GET %s filter %.30q: message %q, error %q; want the message to hold %q", path, tt.filter, f.Message, e.Error, tt.msg)
			}
			if tt.valid != "" && !slices.Contains(f.Valid, tt.valid) {
				t.Errorf("GET %s filter %.30q: valid %q lacks %q", path, tt.filter, f.Valid, tt.valid)
			}
			if f.Valid == nil {
				t.Errorf("GET %s filter %.30q: valid is null, want a list", path, tt.filter)
			}
			// The caret is that of the CLI: the same parser's drawing.
			if _, err := query.Parse(tt.filter); err != nil && len(tt.filter) <= maxFilterLen {
				var se *query.SyntaxError
				if !errors.As(err, &se) || se.Caret() != f.Caret {
					t.Errorf("GET %s filter %.30q: caret %q, want the CLI's %v", path, tt.filter, f.Caret, err)
				}
			}
		}
	}
}

// TestAPIFilterMatches: ?filter= keeps what the filter matches, as the
// CLI does, on live sockets the test made.
func TestAPIFilterMatches(t *testing.T) {
	ln1, port1 := listen(t)
	_, port2 := listen(t)
	client, accepted := connect(t, ln1)
	srv := httptest.NewServer(New(Config{}))
	defer srv.Close()

	// The ports view: only tcp/port1, with its listener and the accepted
	// connection; not tcp/port2.
	f := "sport = :" + strconv.Itoa(int(port1))
	resp, body := get(t, srv.URL+"/api/ports?filter="+url.QueryEscape(f))
	if resp.StatusCode != 200 {
		t.Fatalf("GET /api/ports?filter=%s = %d: %.300s", f, resp.StatusCode, body)
	}
	var v struct {
		Ports []struct {
			Proto     string       `json:"proto"`
			Port      uint16       `json:"port"`
			Listeners []jsonSocket `json:"listeners"`
			Sockets   int          `json:"sockets"`
		} `json:"ports"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range v.Ports {
		if p.Port != port1 {
			t.Errorf("filter %q kept port %s/%d", f, p.Proto, p.Port)
			continue
		}
		if p.Proto == "tcp" && len(p.Listeners) == 1 && heldBy(p.Listeners[0], os.Getpid()) && p.Sockets >= 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("filter %q: tcp/%d with its listener held by this process and the accepted socket missing: %.500s", f, port1, body)
	}

	// The socket list: the client end (local port ephemeral, remote
	// port1) goes; the listener and the accepted end stay; port2 goes.
	f = "sport = :" + strconv.Itoa(int(port1)) + " or sport = :" + strconv.Itoa(int(port2)) + " and state established"
	resp, body = get(t, srv.URL+"/api/sockets?filter="+url.QueryEscape(f))
	if resp.StatusCode != 200 {
		t.Fatalf("GET /api/sockets?filter=%s = %d: %.300s", f, resp.StatusCode, body)
	}
	var s struct {
		Sockets []jsonSocket `json:"sockets"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, so := range s.Sockets {
		if so.State != "ESTAB" || !strings.HasSuffix(so.Local, ":"+strconv.Itoa(int(port1))) && !strings.HasSuffix(so.Local, ":"+strconv.Itoa(int(port2))) {
			t.Errorf("filter %q kept %s %s %s", f, so.State, so.Local, so.Remote)
		}
		if so.Local == accepted.LocalAddr().String() && so.Remote == accepted.RemoteAddr().String() {
			seen++
		}
		if so.Local == client.LocalAddr().String() {
			t.Errorf("filter %q kept the client end %s", f, so.Local)
		}
	}
	if seen != 1 {
		t.Errorf("filter %q: the accepted socket %s appears %d times, want once", f, accepted.LocalAddr(), seen)
	}
}

type portDetailBody struct {
	Port        uint16 `json:"port"`
	Explanation []struct {
		Proto     string   `json:"proto"`
		Sentences []string `json:"sentences"`
	} `json:"explanation"`
	Sockets      []jsonSocket `json:"sockets"`
	SocketsTotal int          `json:"sockets_total"`
	Error        string       `json:"error"`
}

// TestAPIPortDetail: /api/port explains a live port as `sockscope port`
// does and lists the sockets on it.
func TestAPIPortDetail(t *testing.T) {
	ln, port := listen(t)
	_, accepted := connect(t, ln)
	srv := httptest.NewServer(New(Config{}))
	defer srv.Close()
	num := strconv.Itoa(int(port))
	detail := func(query string) portDetailBody {
		t.Helper()
		resp, body := get(t, srv.URL+"/api/port?"+query)
		if resp.StatusCode != 200 {
			t.Fatalf("GET /api/port?%s = %d: %.300s", query, resp.StatusCode, body)
		}
		var d portDetailBody
		if err := json.Unmarshal(body, &d); err != nil {
			t.Fatalf("GET /api/port?%s: %v", query, err)
		}
		return d
	}

	d := detail("proto=tcp&port=" + num)
	if d.Port != port || len(d.Explanation) != 1 || d.Explanation[0].Proto != "tcp" {
		t.Fatalf("port %d, explanation %+v; want one for tcp/%d", d.Port, d.Explanation, port)
	}
	text := strings.Join(d.Explanation[0].Sentences, "\n")
	reach := "A new connection to " + ln.Addr().String() + " reaches tcp " + ln.Addr().String() + " LISTEN"
	if !strings.Contains(text, reach) || !strings.Contains(text, "(pid "+strconv.Itoa(os.Getpid())+")") || !strings.Contains(text, "tcp/"+num) {
		t.Errorf("explanation of tcp/%d lacks %q held by this process:\n%s", port, reach, text)
	}
	var listener, conn bool
	for i, s := range d.Sockets {
		if !strings.HasSuffix(s.Local, ":"+num) {
			t.Errorf("socket %s %s is not on port %d", s.State, s.Local, port)
		}
		if s.State == "LISTEN" && s.Local == ln.Addr().String() && heldBy(s, os.Getpid()) {
			listener = true
			if i != 0 {
				t.Errorf("the listener is socket %d, want listeners first", i)
			}
		}
		if s.State == "ESTAB" && s.Remote == accepted.RemoteAddr().String() {
			conn = true
		}
	}
	if !listener || !conn || d.SocketsTotal != len(d.Sockets) {
		t.Errorf("sockets of tcp/%d: listener %v, accepted %v, total %d of %d listed: %+v", port, listener, conn, d.SocketsTotal, len(d.Sockets), d.Sockets)
	}

	// A filter narrows the list, not the explanation.
	f := detail("proto=tcp&port=" + num + "&filter=" + url.QueryEscape("state established"))
	if strings.Join(f.Explanation[0].Sentences, "\n") != text {
		t.Errorf("the filter changed the explanation:\n%s\nwant\n%s", strings.Join(f.Explanation[0].Sentences, "\n"), text)
	}
	for _, s := range f.Sockets {
		if s.State != "ESTAB" {
			t.Errorf("filter state established kept %s %s", s.State, s.Local)
		}
	}
	if len(f.Sockets) == 0 {
		t.Error("filter state established dropped the accepted socket")
	}

	// Without proto: the protocols that use the port.
	if a := detail("port=" + num); len(a.Explanation) == 0 || a.Explanation[0].Proto != "tcp" {
		t.Errorf("port=%d without proto: explanation %+v, want tcp first", port, a.Explanation)
	}
	// A protocol on which nothing uses the port says so (or, if another
	// process happens to use it, counts it).
	u := detail("proto=udp&port=" + num)
	if s := strings.Join(u.Explanation[0].Sentences, " "); u.SocketsTotal == 0 && !strings.HasPrefix(s, "No socket uses udp/"+num) {
		t.Errorf("udp/%d with no socket: %q", port, s)
	}
}

// TestAPIPortBadRequests: a wrong parameter is answered 400 with what
// was wrong and what would work.
func TestAPIPortBadRequests(t *testing.T) {
	srv := httptest.NewServer(New(Config{}))
	defer srv.Close()
	for _, tt := range []struct{ query, want string }{
		{"", "port missing"},
		{"port=0", "from 1 to 65535"},
		{"port=65536", "from 1 to 65535"},
		{"port=99999999999999999999", "from 1 to 65535"},
		{"port=no-such-service-here", "service name"},
		{"port=80&proto=sctp", "want tcp, udp or udplite"},
		{"port=80&proto=unix", "want tcp, udp or udplite"},
		{"port=80&netns=x", "namespace inode"},
		{"port=80&netns=0", "namespace inode"},
		{"port=%1b%5b2J", "service name"},
	} {
		resp, body := get(t, srv.URL+"/api/port?"+tt.query)
		var d portDetailBody
		_ = json.Unmarshal(body, &d)
		if resp.StatusCode != 400 || !strings.Contains(d.Error, tt.want) {
			t.Errorf("GET /api/port?%s = %d %s, want 400 saying %q", tt.query, resp.StatusCode, body, tt.want)
		}
		if strings.ContainsRune(string(body), 0x1b) {
			t.Errorf("GET /api/port?%s: the reply carries a raw escape: %q", tt.query, body)
		}
	}
	// A service name resolves as in the CLI, when /etc/services knows it.
	if n, ok := query.LookupService("ssh", "tcp"); ok {
		resp, body := get(t, srv.URL+"/api/port?proto=tcp&port=ssh")
		var d portDetailBody
		if err := json.Unmarshal(body, &d); err != nil || resp.StatusCode != 200 || d.Port != n {
			t.Errorf("GET /api/port?proto=tcp&port=ssh = %d %.200s, want port %d", resp.StatusCode, body, n)
		}
	}
}

// TestAPIPage: /api/page is /api/ports' view and, for each port's peers,
// the processes that hold the connections: here one held by this process
// and one passed to a child, which alone holds it.
func TestAPIPage(t *testing.T) {
	ln, port := listen(t)
	_, mine := connect(t, ln)
	_, passed := connect(t, ln)
	holder := startHolder(t, passed)
	srv := httptest.NewServer(New(Config{}))
	defer srv.Close()
	f := "sport = :" + strconv.Itoa(int(port))
	resp, body := get(t, srv.URL+"/api/page?filter="+url.QueryEscape(f))
	if resp.StatusCode != 200 {
		t.Fatalf("GET /api/page = %d: %.300s", resp.StatusCode, body)
	}
	var d struct {
		Version int `json:"version"`
		View    struct {
			Ports []struct {
				Port      uint16       `json:"port"`
				Listeners []jsonSocket `json:"listeners"`
				Peers     []struct {
					Addr  string `json:"addr"`
					Count int    `json:"count"`
				} `json:"peers"`
			} `json:"ports"`
		} `json:"view"`
		PeerHolders []map[string][]struct {
			PID  int    `json:"pid"`
			Comm string `json:"comm"`
		} `json:"peer_holders"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	if d.Version != 1 || len(d.View.Ports) != 1 || len(d.PeerHolders) != 1 {
		t.Fatalf("/api/page: version %d, %d ports, %d peer_holders; want 1, 1, 1: %.500s", d.Version, len(d.View.Ports), len(d.PeerHolders), body)
	}
	p := d.View.Ports[0]
	if p.Port != port || len(p.Listeners) != 1 || !heldBy(p.Listeners[0], os.Getpid()) {
		t.Errorf("view: %+v, want tcp/%d with its listener held by this process", p, port)
	}
	if len(p.Peers) != 1 || p.Peers[0].Addr != "127.0.0.1" || p.Peers[0].Count != 2 {
		t.Errorf("peers %+v, want 127.0.0.1 x2", p.Peers)
	}
	var pids []int
	for _, h := range d.PeerHolders[0]["127.0.0.1"] {
		pids = append(pids, h.PID)
	}
	want := []int{os.Getpid(), holder}
	slices.Sort(want)
	if !slices.Equal(pids, want) {
		t.Errorf("holders of the connections from 127.0.0.1 = %v, want %v (this process holds %s, the child the other)", pids, want, mine.LocalAddr())
	}
}
