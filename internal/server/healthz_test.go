//go:build linux

package server

import (
	"context"
	"net/http/httptest"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sockscope/sockscope"
)

// TestHealthz: /healthz answers ok without collecting, even when every
// reply slot is taken; the Host check still applies.
func TestHealthz(t *testing.T) {
	var calls atomic.Int32
	s := New(Config{
		Collect: func(context.Context, sockscope.Options) (*sockscope.Snapshot, error) {
			calls.Add(1)
			return &sockscope.Snapshot{}, nil
		},
		AllowedHosts: []string{"localhost"},
	})
	for range cap(s.replies) {
		s.replies <- struct{}{} // every reply slot busy
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "http://localhost/healthz", nil))
	if w.Code != 200 || w.Body.String() != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 \"ok\\n\"", w.Code, w.Body.String())
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("/healthz collected %d times, want 0", n)
	}
	w = httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "http://evil.example/healthz", nil))
	if w.Code != 421 {
		t.Errorf("GET /healthz with Host evil.example = %d, want 421", w.Code)
	}
	w = httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("POST", "http://localhost/healthz", nil))
	if w.Code != 405 {
		t.Errorf("POST /healthz = %d, want 405", w.Code)
	}
}

// TestSharedOptions: collections are shared between requests by their
// holder option alone, so a scrape with MetricsHolders and the JSON
// endpoints must ask for the same options (else a scrape could get a
// snapshot without the listen counters, and the counters would vanish
// from that scrape).
func TestSharedOptions(t *testing.T) {
	var mu sync.Mutex
	var seen []sockscope.Options
	s := New(Config{
		MetricsHolders: true,
		Collect: func(_ context.Context, o sockscope.Options) (*sockscope.Snapshot, error) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, o)
			return &sockscope.Snapshot{}, nil
		},
	})
	for _, path := range []string{"/api/ports", "/api/sockets", "/metrics"} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1"+path, nil))
		if w.Code != 200 {
			t.Fatalf("GET %s = %d: %s", path, w.Code, w.Body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 {
		t.Fatalf("%d collections, want 3", len(seen))
	}
	for i, o := range seen[1:] {
		if !reflect.DeepEqual(o, seen[0]) {
			t.Errorf("collection %d asked %+v, the first %+v: requests that share collections must ask the same", i+1, o, seen[0])
		}
	}
	if !seen[0].NetCounters || !seen[0].Holders {
		t.Errorf("options %+v: want holders and listen counters", seen[0])
	}
}

// TestBuildInfo: the configured version and revision label
// sockscope_build_info; by default they come from the build info.
func TestBuildInfo(t *testing.T) {
	snap := &sockscope.Snapshot{}
	collect := func(context.Context, sockscope.Options) (*sockscope.Snapshot, error) { return snap, nil }
	srv := httptest.NewServer(New(Config{Collect: collect, Version: "v1.2.3", Revision: "abc\x1b"}))
	defer srv.Close()
	if v, n := value(scrapeMetrics(t, srv.URL), "sockscope_build_info", map[string]string{"version": "v1.2.3", "revision": `abc\x1b`}); n != 1 || v != 1 {
		t.Errorf("sockscope_build_info{version=v1.2.3,revision=abc\\x1b} = %v (%d series), want 1", v, n)
	}
	def := httptest.NewServer(New(Config{Collect: collect}))
	defer def.Close()
	version, _ := buildVersion("")
	if v, n := value(scrapeMetrics(t, def.URL), "sockscope_build_info", map[string]string{"version": version}); n != 1 || v != 1 || version == "" {
		t.Errorf("sockscope_build_info{version=%q} = %v (%d series), want 1", version, v, n)
	}
}
