package server

import (
	"context"
	"net/http/httptest"
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
