package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/render"
)

// loopbackSockets makes pairs established TCP connections on loopback
// (2×pairs+1 sockets with the listener), closed when the test ends.
func loopbackSockets(t *testing.T, pairs int) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, 0, 2*pairs)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
		ln.Close()
	})
	for range pairs {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatalf("after %d connections: %v", len(conns)/2, err)
		}
		a, err := ln.Accept()
		if err != nil {
			c.Close()
			t.Fatalf("after %d connections: %v", len(conns)/2, err)
		}
		conns = append(conns, c, a)
	}
}

// serveLoopback serves s on 127.0.0.1:0 in-process until the test ends
// and returns its address.
func serveLoopback(t *testing.T, s http.Handler, o ServeOptions) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, s, o) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("Serve did not return within 15s of cancel")
		}
	})
	return ln.Addr().String()
}

// stalledClient sends one GET with a 4 KiB receive buffer and reads
// nothing: a client that stopped reading.
func stalledClient(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)
		}); err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
	return c
}

// statusOf reads a response's status line and headers from c.
func statusOf(c net.Conn) (code int, header http.Header, err error) {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, resp.Header, nil
}

// idle reports whether no request holds or waits for a reply slot.
func (s *Server) idle() bool { return len(s.replies) == 0 && len(s.queue) == 0 }

func heapInuse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestSlowReaders: clients that send GET /api/sockets and never read cost
// the server at most MaxReplies streamed replies, never one whole reply
// each, and every one of them gets a status line (200 or 503) within the
// configured timeouts.
func TestSlowReaders(t *testing.T) {
	const (
		pairs   = 2500 // 5001 sockets
		clients = 64
	)
	loopbackSockets(t, pairs)
	errLog, _ := testLog()
	cfg := Config{MaxReplies: 4, MaxQueue: 8, QueueTimeout: 3 * time.Second, WriteTimeout: 2 * time.Second, ErrorLog: errLog}
	s := New(cfg)
	addr := serveLoopback(t, s, ServeOptions{})

	// One reader that reads: the size of one whole reply.
	resp, err := http.Get("http://" + addr + "/api/sockets")
	if err != nil {
		t.Fatal(err)
	}
	replyBytes, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || replyBytes < 2*pairs*100 {
		t.Fatalf("GET /api/sockets = %d, %d bytes, %v", resp.StatusCode, replyBytes, err)
	}
	runtime.GC()
	base := heapInuse()

	conns := make([]net.Conn, clients)
	for i := range conns {
		conns[i] = stalledClient(t, addr, "/api/sockets")
	}
	peak := base
	deadline := time.Now().Add(30 * time.Second)
	for started := time.Now(); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		peak = max(peak, heapInuse())
		if time.Since(started) > 500*time.Millisecond && s.idle() {
			break
		}
	}
	if !s.idle() {
		t.Fatalf("requests still held or queued 30s after the stall began (%d replies, %d queued)", len(s.replies), len(s.queue))
	}
	growth := int64(peak) - int64(base)
	// What the limits allow: the snapshots of at most two collections
	// (one whose replies are being written, the next one), MaxReplies
	// encoding buffers of 264 KiB, and the garbage collector's slack
	// (GOGC=100 lets the heap reach twice the live data): about 6 whole
	// replies. Unbounded, every client held a whole reply:
	// clients × replyBytes.
	bound := 6*replyBytes + 4<<20
	t.Logf("%d sockets, reply %d KiB; heap in use %d KiB before, peak %d KiB with %d stalled clients (growth %d KiB, bound %d KiB; %d KiB if each held its reply)",
		2*pairs+1, replyBytes>>10, base>>10, peak>>10, clients, growth>>10, bound>>10, clients*replyBytes>>10)
	if growth > bound {
		t.Errorf("heap grew by %d KiB under %d stalled clients, more than the bound %d KiB", growth>>10, clients, bound>>10)
	}
	codes := map[int]int{}
	for i, c := range conns {
		code, h, err := statusOf(c)
		if err != nil {
			t.Errorf("client %d got no status line: %v", i, err)
			continue
		}
		codes[code]++
		switch code {
		case 200:
		case 503:
			if h.Get("Retry-After") == "" {
				t.Errorf("client %d: 503 without Retry-After", i)
			}
		default:
			t.Errorf("client %d: status %d, want 200 or 503", i, code)
		}
	}
	t.Logf("statuses: %v, collections %d", codes, s.Collections())
	if codes[200] < cfg.MaxReplies || codes[200] > cfg.MaxReplies+cfg.MaxQueue {
		t.Errorf("%d clients got 200, want between MaxReplies (%d) and MaxReplies+MaxQueue (%d)", codes[200], cfg.MaxReplies, cfg.MaxReplies+cfg.MaxQueue)
	}
}

// logBuf collects a server's log lines.
type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testLog returns a logger whose lines the test can read.
func testLog() (*log.Logger, *logBuf) {
	b := &logBuf{}
	return log.New(b, "", 0), b
}

// TestQueueOverflow: with every reply slot taken and the queue full, the
// rest are answered 503 with Retry-After at once; no connection closes
// without a status; the admitted requests share collections.
func TestQueueOverflow(t *testing.T) {
	const requests = 40
	release := make(chan struct{})
	var calls atomic.Int32
	collect := func(ctx context.Context, o sockscope.Options) (*sockscope.Snapshot, error) {
		calls.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return sockscope.Collect(ctx, o)
	}
	errLog, _ := testLog()
	s := New(Config{Collect: collect, MaxReplies: 2, MaxQueue: 3, QueueTimeout: 20 * time.Second, ErrorLog: errLog})
	addr := serveLoopback(t, s, ServeOptions{})
	type result struct {
		code       int
		retryAfter string
		err        error
	}
	results := make(chan result, requests)
	var busy atomic.Int32
	for i := range requests {
		go func() {
			path := []string{"/api/sockets", "/api/ports", "/metrics"}[i%3]
			c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
			resp, err := c.Get("http://" + addr + path)
			if err != nil {
				results <- result{err: err}
				return
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 503 {
				busy.Add(1)
			}
			results <- result{resp.StatusCode, resp.Header.Get("Retry-After"), err}
		}()
	}
	// Release the collections once every request is either admitted,
	// queued or answered busy.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if len(s.replies)+len(s.queue)+int(busy.Load()) == requests {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("requests not all placed after 20s: %d replying, %d queued, %d busy", len(s.replies), len(s.queue), busy.Load())
		}
	}
	close(release)
	codes := map[int]int{}
	for range requests {
		r := <-results
		if r.err != nil {
			t.Errorf("a request got no complete answer: %v", r.err)
			continue
		}
		codes[r.code]++
		if r.code == 503 && r.retryAfter != strconv.Itoa(RetryAfter) {
			t.Errorf("503 with Retry-After %q, want %d", r.retryAfter, RetryAfter)
		}
	}
	t.Logf("statuses %v, collections %d", codes, s.Collections())
	if codes[200] != 5 || codes[503] != requests-5 {
		t.Errorf("statuses %v, want 5 × 200 (2 replying + 3 queued) and %d × 503", codes, requests-5)
	}
	if n := s.Collections(); n < 1 || n > int64(codes[200]) {
		t.Errorf("%d collections for %d answered requests, want 1..%d", n, codes[200], codes[200])
	}
}

// TestSharedFreshCollection: requests that arrive while a collection runs
// get the next one, shared: many requests, two collections, and every
// reply comes from a collection that started after its request.
func TestSharedFreshCollection(t *testing.T) {
	first := make(chan struct{})
	release := make(chan struct{})
	var calls atomic.Int32
	var starts sync.Map // call number → start time
	collect := func(ctx context.Context, o sockscope.Options) (*sockscope.Snapshot, error) {
		n := calls.Add(1)
		starts.Store(n, time.Now())
		if n == 1 {
			close(first)
			<-release
		}
		return &sockscope.Snapshot{Warnings: []sockscope.Warning{{Kind: "source", Msg: strconv.Itoa(int(n))}}}, nil
	}
	s := New(Config{Collect: collect, MaxReplies: 16, MaxQueue: 16})
	srv := httptest.NewServer(s)
	defer srv.Close()
	get := func(out chan<- string) {
		resp, err := http.Get(srv.URL + "/api/sockets")
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		var v struct {
			Warnings []struct {
				Message string `json:"message"`
			} `json:"warnings"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || len(v.Warnings) != 1 {
			out <- fmt.Sprintf("status %d, %v", resp.StatusCode, err)
			return
		}
		out <- v.Warnings[0].Message
	}
	one := make(chan string, 1)
	go get(one)
	<-first
	arrived := time.Now()
	const later = 10
	rest := make(chan string, later)
	for range later {
		go get(rest)
	}
	// All ten wait for the pending collection before the first ends.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s.fl.mu.Lock()
		f := s.fl.pending[true]
		n := 0
		if f != nil {
			n = f.waiters
		}
		s.fl.mu.Unlock()
		if n == later {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests joined the pending collection, want %d", n, later)
		}
	}
	close(release)
	if got := <-one; got != "1" {
		t.Errorf("first request got collection %q, want 1", got)
	}
	for range later {
		if got := <-rest; got != "2" {
			t.Errorf("a later request got collection %q, want the shared second one", got)
		}
	}
	if v, ok := starts.Load(int32(2)); !ok || v.(time.Time).Before(arrived) {
		t.Errorf("the second collection started before the requests it served arrived")
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d collections for %d requests, want 2", n, later+1)
	}
}

// hostileNames are namespace names no label, page or log may pass raw.
var hostileNames = []string{"bad\xff", "x\x1b]0;T\a\x1b[2J", "rtl\u202eevil", "two\nlines", `back\slash"quote`}

// TestMetricsHostileNames: /metrics stays valid, 200, with namespace
// names that are not UTF-8 or hold control characters, from a fixture
// snapshot (any user).
func TestMetricsHostileNames(t *testing.T) {
	for _, name := range hostileNames {
		collect := func(ctx context.Context, o sockscope.Options) (*sockscope.Snapshot, error) {
			ns := &sockscope.NetNS{Inode: 4026531999, Name: name}
			sock := &sockscope.Socket{NetNS: ns, Proto: sockscope.TCP, State: sockscope.Listen}
			return &sockscope.Snapshot{NetNS: []*sockscope.NetNS{ns}, Sockets: []*sockscope.Socket{sock}}, nil
		}
		errLog, logged := testLog()
		srv := httptest.NewServer(New(Config{Collect: collect, ErrorLog: errLog}))
		resp, body := get(t, srv.URL+"/metrics")
		srv.Close()
		if resp.StatusCode != 200 {
			t.Errorf("netns %q: /metrics = %d: %.300s (log %q)", name, resp.StatusCode, body, logged.String())
			continue
		}
		if !utf8.Valid(body) {
			t.Errorf("netns %q: /metrics is not valid UTF-8", name)
		}
		mfs, err := parseExposition(bytes.NewReader(body))
		if err != nil {
			t.Errorf("netns %q: %v\n%s", name, err, body)
			continue
		}
		want := render.Sanitize(name)
		if v, n := value(mfs, "sockscope_sockets", map[string]string{"netns": want, "state": "listen"}); n != 1 || v != 1 {
			t.Errorf("netns %q: sockscope_sockets{netns=%q} = %v (%d series), want 1\n%s", name, want, v, n, body)
		}
	}
}

// TestMetricsBadNetnsName: a real namespace whose name is not UTF-8
// (root: made and removed by the test) scrapes as 200 with an escaped
// label.
func TestMetricsBadNetnsName(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a named network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8)")
	}
	name := fmt.Sprintf("sockscope-test-%d-bad\xff\x1b[2J", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete: %v: %s", err, out)
		}
	})
	errLog, logged := testLog()
	srv := httptest.NewServer(New(Config{Options: sockscope.Options{NetNS: []string{name}}, ErrorLog: errLog}))
	defer srv.Close()
	resp, body := get(t, srv.URL+"/metrics")
	if resp.StatusCode != 200 || !utf8.Valid(body) {
		t.Fatalf("/metrics = %d (valid UTF-8: %v): %.500s (log %q)", resp.StatusCode, utf8.Valid(body), body, logged.String())
	}
	mfs, err := parseExposition(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, n := value(mfs, "sockscope_ports_omitted", map[string]string{"netns": render.Sanitize(name)}); n != 1 {
		t.Errorf("no series with netns=%q:\n%s", render.Sanitize(name), body)
	}
	if v, _ := value(mfs, "sockscope_scrape_success", nil); v != 1 {
		t.Errorf("sockscope_scrape_success = %v", v)
	}
}

// TestNoStackTraces: a panic in a collection or in a handler is answered
// 500 with a plain message and logged in one line, never with a stack
// trace.
func TestNoStackTraces(t *testing.T) {
	boom := func(context.Context, sockscope.Options) (*sockscope.Snapshot, error) { panic("boom\x1b[2J") }
	services := func(uint16, string) string { panic("services boom") }
	_, port := listen(t)
	for _, tt := range []struct {
		cfg  Config
		path string
	}{
		{Config{Collect: boom}, "/api/sockets"},
		{Config{Collect: boom}, "/metrics"},
		{Config{Services: services, Collect: onlyPorts(port)}, "/api/ports"},
	} {
		errLog, logged := testLog()
		tt.cfg.ErrorLog = errLog
		srv := httptest.NewServer(New(tt.cfg))
		resp, body := get(t, srv.URL+tt.path)
		srv.Close()
		if tt.path == "/metrics" && resp.StatusCode == 200 {
			// A failed collection is a scrape that says so.
			mfs, err := parseExposition(bytes.NewReader(body))
			if v, n := value(mfs, "sockscope_scrape_success", nil); err != nil || n != 1 || v != 0 {
				t.Errorf("%s: success = %v (%d series, %v)", tt.path, v, n, err)
			}
		} else if resp.StatusCode != 500 {
			t.Errorf("%s: status %d, want 500", tt.path, resp.StatusCode)
		}
		for _, bad := range []string{"goroutine ", ".go:", "panic(", "\x1b"} {
			if strings.Contains(string(body), bad) {
				t.Errorf("%s: body holds %q: %s", tt.path, bad, body)
			}
			if strings.Contains(logged.String(), bad) {
				t.Errorf("%s: log holds %q: %s", tt.path, bad, logged.String())
			}
		}
		if lines := strings.Count(logged.String(), "\n"); lines != 1 {
			t.Errorf("%s: %d log lines, want 1: %q", tt.path, lines, logged.String())
		}
	}
}
