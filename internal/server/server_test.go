package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/render"
)

// TestPageSelfContained: the page loads nothing from outside and never
// puts data in as markup.
func TestPageSelfContained(t *testing.T) {
	srv := httptest.NewServer(New(Config{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want text/html", ct)
	}
	html := body.String()
	if !strings.Contains(html, "<html") || !strings.Contains(html, "api/ports") {
		t.Fatalf("GET / does not look like the page: %.200q", html)
	}
	for _, re := range []string{`://`, `(?i)\bsrc\s*=`, `(?i)\bhref\s*=`, `(?i)url\(`, `(?i)@import`, `(?i)innerHTML`, `(?i)outerHTML`, `(?i)insertAdjacentHTML`, `(?i)document\.write`, `(?i)\beval\(`} {
		if loc := regexp.MustCompile(re).FindStringIndex(html); loc != nil {
			t.Errorf("page contains %s at %d: %q", re, loc[0], html[max(0, loc[0]-30):min(len(html), loc[1]+30)])
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q lacks default-src 'none'", csp)
	}
	// The CSP allows exactly the inline script and style, by hash.
	for _, tag := range []string{"script", "style"} {
		_, after, ok := strings.Cut(html, "<"+tag+">")
		if !ok {
			t.Fatalf("page has no <%s>", tag)
		}
		inner, _, _ := strings.Cut(after, "</"+tag+">")
		sum := sha256.Sum256([]byte(inner))
		want := tag + "-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
}

func TestRoutes(t *testing.T) {
	h := New(Config{AllowedHosts: []string{"localhost"}})
	for _, tt := range []struct {
		method, path, host string
		want               int
	}{
		{"GET", "/", "127.0.0.1:9464", 200},
		{"HEAD", "/", "localhost:9464", 200},
		{"GET", "/", "[::1]:9464", 200},
		{"GET", "/", "LocalHost", 200},
		{"GET", "/", "evil.example:9464", http.StatusMisdirectedRequest},
		{"GET", "/", "127.0.0.1.evil.example", http.StatusMisdirectedRequest},
		{"GET", "/nope", "127.0.0.1", 404},
		{"GET", "/index.html", "127.0.0.1", 404},
		{"POST", "/metrics", "127.0.0.1", 405},
		{"DELETE", "/api/ports", "127.0.0.1", 405},
		{"GET", "/debug/pprof/", "127.0.0.1", 404},
	} {
		req := httptest.NewRequest(tt.method, tt.path, nil)
		req.Host = tt.host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s %s Host %q = %d, want %d", tt.method, tt.path, tt.host, rec.Code, tt.want)
		}
	}
}

func TestHostAllowed(t *testing.T) {
	s := New(Config{AllowedHosts: []string{"localhost"}})
	localHost := s.hostAllowed
	for _, tt := range []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true}, {"127.0.0.1:80", true}, {"[::1]:80", true}, {"::1", true},
		{"localhost", true}, {"LOCALHOST:1", true}, {"10.1.2.3:9464", true},
		{"", false}, {"example.com", false}, {"localhost.example.com", false},
		{"[::1", false}, {"127.0.0.1.nip.io:80", false}, {"attacker.example", false},
		{"localhost.:9464", true}, {"localhost:80x", false},
	} {
		if got := localHost(tt.host); got != tt.want {
			t.Errorf("localHost(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

// TestAllowedHostsList: names are allowed only when listed; "*" allows any.
func TestAllowedHostsList(t *testing.T) {
	s := New(Config{AllowedHosts: []string{"MyHost.example", "box"}})
	for _, tt := range []struct {
		host string
		want bool
	}{
		{"myhost.example:9464", true}, {"BOX", true}, {"box.", true}, {"10.0.0.7:9464", true},
		{"localhost", false}, {"attacker.example:9464", false}, {"myhost.example.attacker.example", false},
	} {
		if got := s.hostAllowed(tt.host); got != tt.want {
			t.Errorf("hostAllowed(%q) with %v = %v, want %v", tt.host, s.cfg.AllowedHosts, got, tt.want)
		}
	}
	if any := New(Config{AllowedHosts: []string{"*"}}); !any.hostAllowed("attacker.example") {
		t.Errorf(`AllowedHosts ["*"] refused attacker.example`)
	}
}

func FuzzLocalHost(f *testing.F) {
	localHost := New(Config{AllowedHosts: []string{"localhost"}}).hostAllowed
	for _, s := range []string{"127.0.0.1:1", "[::1]:2", "localhost", "a.b", "[", ":", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if localHost(host) && strings.ContainsAny(host, "/ ") {
			t.Errorf("localHost(%q) accepted a host with / or space", host)
		}
	})
}

func TestNSLabelsUnique(t *testing.T) {
	a := &sockscope.NetNS{Inode: 1, Name: "web"}
	b := &sockscope.NetNS{Inode: 2, Name: "web"}
	c := &sockscope.NetNS{Inode: 3, Name: "host"}
	d := &sockscope.NetNS{Inode: 4}
	snap := &sockscope.Snapshot{NetNS: []*sockscope.NetNS{a, b, c}, Sockets: []*sockscope.Socket{{NetNS: d}, {}}}
	label := nsLabels(snap)
	seen := map[string]*sockscope.NetNS{}
	for _, ns := range []*sockscope.NetNS{a, b, c, d, nil} {
		l := label(ns)
		if o, ok := seen[l]; ok {
			t.Errorf("namespaces %+v and %+v share the label %q", o, ns, l)
		}
		seen[l] = ns
	}
	if got := label(c); got != "host" {
		t.Errorf("label(host) = %q, want host", got)
	}
}

// TestJSONError: the error body is one JSON object whose "error" is the
// message exactly, whatever bytes it holds; a request that gave up
// waiting is 503, any other failure 500.
func TestJSONError(t *testing.T) {
	for _, tt := range []struct {
		err  error
		code int
	}{
		{errors.New("collect: \"quoted\"\n\x1b[31m <html> \xff"), http.StatusInternalServerError},
		{fmt.Errorf("wait: %w", context.Canceled), http.StatusServiceUnavailable},
		{fmt.Errorf("wait: %w", context.DeadlineExceeded), http.StatusServiceUnavailable},
	} {
		rec := httptest.NewRecorder()
		jsonError(rec, tt.err)
		var body struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%v: body %q: %v", tt.err, rec.Body.Bytes(), err)
		}
		want := strings.ToValidUTF8(tt.err.Error(), "\ufffd")
		if rec.Code != tt.code || body.Error != want || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%q: %d %q (%s), want %d %q", tt.err, rec.Code, body.Error, rec.Header().Get("Content-Type"), tt.code, want)
		}
	}
}

// TestPageNeutralizesText runs the page's neutral() (every text the page
// shows goes through it, see el()) under node and compares it with the
// terminal's escaping, render.Sanitize: bidirectional overrides such as
// U+202E must not reorder the page.
func TestPageNeutralizesText(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("needs node to run the page's script")
	}
	src := regexp.MustCompile(`(?s)function neutral\(s\) \{.*?\n\}\n`).Find(page)
	if src == nil {
		t.Fatal("page has no function neutral(s)")
	}
	if !bytes.Contains(page, []byte("e.textContent = neutral(text)")) {
		t.Error("el() does not pass its text through neutral()")
	}
	inputs := []string{
		"plain ascii", "ünïcödé 端口", "rtl\u202eevil.exe", "iso\u2066late\u2069", "lrm\u200e rlm\u200f zw\u200b\u200d bom\ufeff alm\u061c",
		"esc\x1b]0;T\a\x1b[2J", "two\nlines\tand\rcr", "del\x7f c1\u0085\u009b", "ls\u2028ps\u2029", "tag\U000e0041", "pua\ue000",
	}
	js, err := json.Marshal(inputs)
	if err != nil {
		t.Fatal(err)
	}
	script := string(src) + "process.stdout.write(JSON.stringify(" + string(js) + ".map(neutral)));"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, "-e", script).Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(inputs) {
		t.Fatalf("node printed %q: %v", out, err)
	}
	for i, in := range inputs {
		if want := render.Sanitize(in); got[i] != want {
			t.Errorf("neutral(%q) = %q, want %q as on a terminal", in, got[i], want)
		}
	}
}
