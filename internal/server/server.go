package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/render"
	"github.com/sockscope/sockscope/views"
)

//go:embed page.html
var page []byte

// pageCSP allows exactly the page's own inline script and style.
var pageCSP = buildCSP(page)

// CollectFunc takes a snapshot; [sockscope.Collect] is one.
type CollectFunc func(ctx context.Context, opts sockscope.Options) (*sockscope.Snapshot, error)

// Config says what the handler collects and how much at once. The zero
// value collects the caller's namespace with sockscope.Collect.
type Config struct {
	// Options is the base of every collection: namespaces, source, proc
	// root. Protos, States and Holders are set per endpoint.
	Options sockscope.Options
	// Collect takes snapshots; nil means sockscope.Collect.
	Collect CollectFunc
	// Services names a port for the ports view ("" if unknown); nil
	// leaves names out.
	Services func(port uint16, proto string) string
	// MetricsHolders makes each scrape scan holders, which adds
	// sockscope_hidden_holders and costs a walk of /proc/*/fd.
	MetricsHolders bool
	// MaxPorts caps the listened ports that get per-port series in one
	// scrape; 0 means 500.
	MaxPorts int
	// MaxCollections bounds the collections that run at once; 0 means 2.
	MaxCollections int
	// CollectTimeout bounds one collection; 0 means 30s.
	CollectTimeout time.Duration
	// LocalHostsOnly refuses requests whose Host is not an IP literal or
	// "localhost": set it when listening on loopback, against DNS
	// rebinding.
	LocalHostsOnly bool
}

// Server is the HTTP handler. It is safe for concurrent use.
type Server struct {
	cfg Config
	mux *http.ServeMux
	sem chan struct{}
	col *collector
}

var _ http.Handler = (*Server)(nil)

// New returns a handler for cfg.
func New(cfg Config) *Server {
	if cfg.Collect == nil {
		cfg.Collect = sockscope.Collect
	}
	if cfg.MaxPorts <= 0 {
		cfg.MaxPorts = 500
	}
	if cfg.MaxCollections <= 0 {
		cfg.MaxCollections = 2
	}
	if cfg.CollectTimeout <= 0 {
		cfg.CollectTimeout = 30 * time.Second
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), sem: make(chan struct{}, cfg.MaxCollections)}
	s.col = &collector{s: s}
	s.mux.HandleFunc("GET /{$}", s.servePage)
	s.mux.HandleFunc("GET /api/ports", s.servePorts)
	s.mux.HandleFunc("GET /api/sockets", s.serveSockets)
	s.mux.HandleFunc("GET /metrics", s.serveMetrics)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if s.cfg.LocalHostsOnly && !localHost(r.Host) {
		http.Error(w, "sockscope: this server answers only to an IP address or localhost in the Host header", http.StatusMisdirectedRequest)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// localHost reports whether a Host header names an IP literal or localhost.
func localHost(host string) bool {
	if h, port, err := net.SplitHostPort(host); err == nil {
		if !allDigits(port) {
			return false // a Host header's port is empty or a number
		}
		host = h
	} else if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	return net.ParseIP(host) != nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// snapshot takes one snapshot once a collection slot is free, waiting no
// longer than ctx.
func (s *Server) snapshot(ctx context.Context, opts sockscope.Options) (*sockscope.Snapshot, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("server: wait for a collection slot: %w", ctx.Err())
	}
	defer func() { <-s.sem }()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CollectTimeout)
	defer cancel()
	snap, err := s.cfg.Collect(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("server: collect: %w", err)
	}
	return snap, nil
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(page)
}

// apiOptions are the options of the JSON endpoints: every state, holders.
func (s *Server) apiOptions() sockscope.Options {
	o := s.cfg.Options
	o.Protos, o.Families, o.States = nil, nil, 0
	o.Holders = true
	return o
}

func (s *Server) servePorts(w http.ResponseWriter, r *http.Request) {
	snap, err := s.snapshot(r.Context(), s.apiOptions())
	if err != nil {
		jsonError(w, err)
		return
	}
	var buf bytes.Buffer
	if err := render.WritePortsJSON(&buf, views.BuildPorts(snap, s.cfg.Services)); err != nil {
		jsonError(w, err)
		return
	}
	writeJSON(w, buf.Bytes())
}

func (s *Server) serveSockets(w http.ResponseWriter, r *http.Request) {
	snap, err := s.snapshot(r.Context(), s.apiOptions())
	if err != nil {
		jsonError(w, err)
		return
	}
	var buf bytes.Buffer
	if err := render.WriteSocketsJSON(&buf, snap.Sockets, snap.Warnings); err != nil {
		jsonError(w, err)
		return
	}
	writeJSON(w, buf.Bytes())
}

func writeJSON(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// errorJSON is the body of a failed JSON request.
type errorJSON struct {
	Error string `json:"error"`
}

// jsonError answers {"error": "..."}: 503 when the request gave up
// waiting, 500 otherwise.
func jsonError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		code = http.StatusServiceUnavailable
	}
	b, _ := json.Marshal(errorJSON{Error: err.Error()}) // one string: cannot fail
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// serveMetrics runs one scrape through a registry made for this request,
// so the collection can wait on and be cancelled with the request.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(scrape{col: s.col, ctx: r.Context()}); err != nil {
		http.Error(w, "sockscope: "+err.Error(), http.StatusInternalServerError)
		return
	}
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}).ServeHTTP(w, r)
}

// Serve serves h on ln until ctx is done, then shuts down gracefully,
// giving open requests up to 5 seconds. It returns nil after a clean
// shutdown.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("server: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && serr != nil {
		return fmt.Errorf("server: serve %s: %w", ln.Addr(), serr)
	}
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("server: shut down %s: %w", ln.Addr(), err)
	}
	return nil
}

// buildCSP allows the page's inline <script> and <style> by hash.
func buildCSP(html []byte) string {
	var b strings.Builder
	b.WriteString("default-src 'none'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	for _, tag := range []string{"script", "style"} {
		b.WriteString("; " + tag + "-src")
		rest := html
		for {
			_, after, ok := bytes.Cut(rest, []byte("<"+tag+">"))
			if !ok {
				break
			}
			body, tail, ok := bytes.Cut(after, []byte("</"+tag+">"))
			if !ok {
				break
			}
			sum := sha256.Sum256(body)
			b.WriteString(" 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'")
			rest = tail
		}
	}
	return b.String()
}
