package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sockscope/sockscope"
)

// listen opens a TCP listener on loopback that the test closes.
func listen(t *testing.T) (net.Listener, uint16) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, uint16(ln.Addr().(*net.TCPAddr).Port)
}

// connect makes one established connection to ln and returns its two ends.
func connect(t *testing.T, ln net.Listener) (client, server net.Conn) {
	t.Helper()
	client, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

type jsonHolder struct {
	PID  int    `json:"pid"`
	FD   int    `json:"fd"`
	Comm string `json:"comm"`
}

type jsonSocket struct {
	Proto   string       `json:"proto"`
	State   string       `json:"state"`
	Local   string       `json:"local"`
	Remote  string       `json:"remote"`
	Inode   uint64       `json:"inode"`
	Holders []jsonHolder `json:"holders"`
}

func heldBy(s jsonSocket, pid int) bool {
	for _, h := range s.Holders {
		if h.PID == pid {
			return true
		}
	}
	return false
}

func TestAPIPorts(t *testing.T) {
	ln, port := listen(t)
	connect(t, ln)
	srv := httptest.NewServer(New(Config{}))
	defer srv.Close()
	resp, body := get(t, srv.URL+"/api/ports")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/ports = %d %q: %.300s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var v struct {
		Version int `json:"version"`
		Ports   []struct {
			Proto     string         `json:"proto"`
			Port      uint16         `json:"port"`
			Listeners []jsonSocket   `json:"listeners"`
			Sockets   int            `json:"sockets"`
			States    map[string]int `json:"states"`
			Peers     []struct {
				Addr  string `json:"addr"`
				Count int    `json:"count"`
			} `json:"peers"`
		} `json:"ports"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET /api/ports: %v\n%.500s", err, body)
	}
	found := 0
	for _, p := range v.Ports {
		if p.Proto != "tcp" || p.Port != port {
			continue
		}
		found++
		if len(p.Listeners) != 1 {
			t.Fatalf("tcp/%d has %d listeners, want 1: %+v", port, len(p.Listeners), p.Listeners)
		}
		l := p.Listeners[0]
		if l.State != "LISTEN" || l.Local != ln.Addr().String() {
			t.Errorf("listener = %s %s, want LISTEN %s", l.State, l.Local, ln.Addr())
		}
		if !heldBy(l, os.Getpid()) {
			t.Errorf("listener holders %+v lack this process (pid %d)", l.Holders, os.Getpid())
		}
		// The accepted socket shares the port; its peer is loopback.
		if p.Sockets != 1 || p.States["ESTAB"] != 1 {
			t.Errorf("tcp/%d: %d other sockets, states %v; want 1 ESTAB", port, p.Sockets, p.States)
		}
		if len(p.Peers) != 1 || p.Peers[0].Addr != "127.0.0.1" || p.Peers[0].Count != 1 {
			t.Errorf("tcp/%d peers = %+v, want 127.0.0.1 x1", port, p.Peers)
		}
	}
	if found != 1 {
		t.Fatalf("tcp/%d appears %d times in /api/ports, want once", port, found)
	}
}

func TestAPISockets(t *testing.T) {
	ln, _ := listen(t)
	client, accepted := connect(t, ln)
	srv := httptest.NewServer(New(Config{}))
	defer srv.Close()
	resp, body := get(t, srv.URL+"/api/sockets")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /api/sockets = %d: %.300s", resp.StatusCode, body)
	}
	var v struct {
		Sockets []jsonSocket `json:"sockets"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET /api/sockets: %v", err)
	}
	type key struct{ local, remote, state string }
	expect := []key{
		{ln.Addr().String(), "0.0.0.0:*", "LISTEN"}, // as ss prints an IPv4 listener's peer
		{client.LocalAddr().String(), client.RemoteAddr().String(), "ESTAB"},
		{accepted.LocalAddr().String(), accepted.RemoteAddr().String(), "ESTAB"},
	}
	for _, k := range expect {
		n := 0
		for _, s := range v.Sockets {
			if s.Proto == "tcp" && s.Local == k.local && s.Remote == k.remote && s.State == k.state {
				n++
				if !heldBy(s, os.Getpid()) {
					t.Errorf("%+v: holders %+v lack this process", k, s.Holders)
				}
			}
		}
		if n != 1 {
			t.Errorf("%+v appears %d times in /api/sockets, want once", k, n)
		}
	}
}

// scrapeMetrics GETs /metrics and parses it strictly.
func scrapeMetrics(t *testing.T, url string) map[string]*family {
	t.Helper()
	resp, body := get(t, url+"/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics = %d: %.300s", resp.StatusCode, body)
	}
	mfs, err := parseExposition(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%.1000s", err, body)
	}
	return mfs
}

// value returns the gauge of name whose labels include want, and how many
// series matched.
func value(mfs map[string]*family, name string, want map[string]string) (float64, int) {
	mf := mfs[name]
	if mf == nil {
		return 0, 0
	}
	var v float64
	n := 0
next:
	for _, m := range mf.Metrics {
		for k, w := range want {
			if m.Labels[k] != w {
				continue next
			}
		}
		n++
		v = m.Value
	}
	return v, n
}

func TestMetrics(t *testing.T) {
	ln, port := listen(t)
	connect(t, ln)
	// No port cap: other tests on this host may listen on hundreds of lower ports.
	srv := httptest.NewServer(New(Config{MaxPorts: 1 << 20}))
	defer srv.Close()
	mfs := scrapeMetrics(t, srv.URL)
	p := strconv.Itoa(int(port))
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"sockscope_scrape_success", nil, 1},
		{"sockscope_port_listeners", map[string]string{"proto": "tcp", "port": p}, 1},
		{"sockscope_port_sockets", map[string]string{"proto": "tcp", "port": p, "state": "listen"}, 1},
		{"sockscope_port_sockets", map[string]string{"proto": "tcp", "port": p, "state": "established"}, 1},
		{"sockscope_listen_queue_length", map[string]string{"proto": "tcp", "port": p, "address": "127.0.0.1"}, 0},
	} {
		got, n := value(mfs, tt.name, tt.labels)
		if n != 1 || got != tt.want {
			t.Errorf("%s%v = %v (%d series), want %v in one series", tt.name, tt.labels, got, n, tt.want)
		}
	}
	if d, n := value(mfs, "sockscope_scrape_duration_seconds", nil); n != 1 || d <= 0 || d > 60 {
		t.Errorf("sockscope_scrape_duration_seconds = %v (%d series)", d, n)
	}
	// The client end's port has no listener: it must not become a label.
	if _, n := value(mfs, "sockscope_sockets", map[string]string{"proto": "tcp", "state": "listen"}); n < 1 {
		t.Errorf("no sockscope_sockets{proto=tcp,state=listen}")
	}
	if est, _ := value(mfs, "sockscope_sockets", map[string]string{"proto": "tcp", "state": "established"}); est < 2 {
		t.Errorf("sockscope_sockets{tcp,established} = %v, want at least this test's 2", est)
	}
	if _, n := value(mfs, "sockscope_hidden_holders", nil); n != 0 {
		t.Errorf("sockscope_hidden_holders present without MetricsHolders")
	}
	// Label values are node_exporter's style: no upper case, no dashes.
	for _, l := range []string{"state"} {
		for name, mf := range mfs {
			for _, m := range mf.Metrics {
				if v := m.Labels[l]; v != "" && (strings.ToLower(v) != v || strings.Contains(v, "-")) {
					t.Errorf("%s{%s=%q} is not in node_exporter's style", name, l, v)
				}
			}
		}
	}
	// sockscope's own families are gauges but for the _total counters
	// (the Go and process collectors' types are theirs).
	for name, mf := range mfs {
		want := "gauge"
		if strings.HasSuffix(name, "_total") {
			want = "counter"
		}
		if strings.HasPrefix(name, "sockscope_") && mf.Type != want {
			t.Errorf("%s is %v, want %s", name, mf.Type, want)
		}
	}
	// The standard collectors, the build info and the listen counters.
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "process_open_fds",
		"sockscope_build_info", "sockscope_listen_overflows_total", "sockscope_listen_drops_total", "sockscope_tcp_orphans", "sockscope_netns_info"} {
		if _, n := value(mfs, name, nil); n < 1 {
			t.Errorf("%s missing", name)
		}
	}
	if v, n := value(mfs, "sockscope_build_info", map[string]string{"goversion": runtime.Version()}); n != 1 || v != 1 {
		t.Errorf("sockscope_build_info{goversion=%q} = %v (%d series), want 1", runtime.Version(), v, n)
	}

	// With holders the scrape reports hidden holders per namespace.
	srvH := httptest.NewServer(New(Config{MetricsHolders: true}))
	defer srvH.Close()
	if _, n := value(scrapeMetrics(t, srvH.URL), "sockscope_hidden_holders", nil); n < 1 {
		t.Errorf("sockscope_hidden_holders missing with MetricsHolders")
	}
}

// TestMetricsLint runs promlint over one live scrape's metrics.
func TestMetricsLint(t *testing.T) {
	s := New(Config{})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(scrape{col: s.col, ctx: context.Background()})
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
}

// onlyPorts collects for real and keeps the sockets on the given ports.
func onlyPorts(ports ...uint16) CollectFunc {
	return func(ctx context.Context, o sockscope.Options) (*sockscope.Snapshot, error) {
		snap, err := sockscope.Collect(ctx, o)
		if err != nil {
			return nil, err
		}
		kept := snap.Sockets[:0:0]
		for _, s := range snap.Sockets {
			for _, p := range ports {
				if s.Proto == sockscope.TCP && s.Local.Port() == p {
					kept = append(kept, s)
				}
			}
		}
		snap.Sockets = kept
		return snap, nil
	}
}

func TestMetricsPortCap(t *testing.T) {
	var ports []uint16
	for range 3 {
		_, p := listen(t)
		ports = append(ports, p)
	}
	srv := httptest.NewServer(New(Config{Collect: onlyPorts(ports...), MaxPorts: 2}))
	defer srv.Close()
	mfs := scrapeMetrics(t, srv.URL)
	if _, n := value(mfs, "sockscope_port_listeners", nil); n != 2 {
		t.Errorf("%d sockscope_port_listeners series, want the cap, 2", n)
	}
	if _, n := value(mfs, "sockscope_port_sockets", nil); n != 2 {
		t.Errorf("%d sockscope_port_sockets series, want 2", n)
	}
	if v, n := value(mfs, "sockscope_ports_omitted", nil); n != 1 || v != 1 {
		t.Errorf("sockscope_ports_omitted = %v (%d series), want 1", v, n)
	}
	if v, _ := value(mfs, "sockscope_sockets", map[string]string{"proto": "tcp", "state": "listen"}); v != 3 {
		t.Errorf("sockscope_sockets{tcp,listen} = %v, want 3 (the cap is for per-port series only)", v)
	}
}

// TestConcurrentScrapesBounded: parallel scrapes and API calls all succeed
// while no more than MaxCollections collections ever run at once.
func TestConcurrentScrapesBounded(t *testing.T) {
	_, port := listen(t)
	var inFlight, peak atomic.Int32
	collect := func(ctx context.Context, o sockscope.Options) (*sockscope.Snapshot, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond) // make overlap likely
		return sockscope.Collect(ctx, o)
	}
	const limit = 2
	srv := httptest.NewServer(New(Config{Collect: collect, MaxCollections: limit}))
	defer srv.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := "/metrics"
			if i%4 == 3 {
				path = "/api/ports"
			}
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				errs <- err
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				errs <- fmt.Errorf("GET %s = %d, %v", path, resp.StatusCode, err)
				return
			}
			if path == "/metrics" {
				mfs, err := parseExposition(bytes.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				if v, _ := value(mfs, "sockscope_scrape_success", nil); v != 1 {
					errs <- fmt.Errorf("scrape %d: sockscope_scrape_success = %v", i, v)
				}
				if v, _ := value(mfs, "sockscope_port_listeners", map[string]string{"port": strconv.Itoa(int(port))}); v != 1 {
					errs <- fmt.Errorf("scrape %d: port_listeners for %d = %v", i, port, v)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if p := peak.Load(); p > limit || p < 1 {
		t.Errorf("peak concurrent collections = %d, want 1..%d", p, limit)
	}
}

// TestWaitEndsWithRequest: with every slot busy, a request waits only as
// long as its own context, then gives up (503 for the API, success 0 for
// metrics) without a collection.
func TestWaitEndsWithRequest(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	var calls atomic.Int32
	collect := func(ctx context.Context, o sockscope.Options) (*sockscope.Snapshot, error) {
		calls.Add(1)
		started <- struct{}{}
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		return sockscope.Collect(ctx, o)
	}
	s := New(Config{Collect: collect, MaxCollections: 1})
	srv := httptest.NewServer(s)
	defer srv.Close()
	first := make(chan int, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/api/ports")
		if err != nil {
			first <- -1
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("first collection did not start")
	}
	for _, path := range []string{"/api/ports", "/api/sockets"} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		req := httptest.NewRequestWithContext(ctx, "GET", path, nil)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		cancel()
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("GET %s while busy = %d, want 503", path, rec.Code)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, "GET", "/metrics", nil))
	cancel()
	mfs, err := parseExposition(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v, n := value(mfs, "sockscope_scrape_success", nil); n != 1 || v != 0 {
		t.Errorf("busy scrape: sockscope_scrape_success = %v (%d series), want 0", v, n)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d collections ran, want only the first", n)
	}
	close(release)
	if code := <-first; code != 200 {
		t.Errorf("first request = %d, want 200", code)
	}
}

func TestCollectError(t *testing.T) {
	boom := errors.New("boom")
	srv := httptest.NewServer(New(Config{Collect: func(context.Context, sockscope.Options) (*sockscope.Snapshot, error) { return nil, boom }}))
	defer srv.Close()
	resp, body := get(t, srv.URL+"/api/ports")
	var e struct {
		Error string `json:"error"`
	}
	if resp.StatusCode != 500 || json.Unmarshal(body, &e) != nil || e.Error == "" {
		t.Errorf("GET /api/ports with a failing collection = %d %s", resp.StatusCode, body)
	}
	mfs := scrapeMetrics(t, srv.URL)
	if v, n := value(mfs, "sockscope_scrape_success", nil); n != 1 || v != 0 {
		t.Errorf("sockscope_scrape_success = %v (%d series), want 0", v, n)
	}
	if _, n := value(mfs, "sockscope_sockets", nil); n != 0 {
		t.Errorf("failed scrape still has %d sockscope_sockets series", n)
	}
}

// TestServeShutdown: Serve answers, then returns nil once its context ends
// and stops accepting.
func TestServeShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, New(Config{}), ServeOptions{}) }()
	resp, _ := get(t, "http://"+addr+"/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10s of cancel")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts after shutdown", addr)
	}
}

func BenchmarkEmitSnapshot(b *testing.B) {
	snap, err := sockscope.Collect(context.Background(), sockscope.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ch := make(chan prometheus.Metric, 1024)
	go func() {
		for range ch {
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		emitSnapshot(ch, snap, limits{ports: 500, procs: 20}, false)
	}
	close(ch)
}
