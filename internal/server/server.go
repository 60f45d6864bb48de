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
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

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
// value collects the caller's namespace with sockscope.Collect and checks
// no Host header.
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
	// MaxProcesses caps the processes that get a
	// sockscope_process_sockets series (with MetricsHolders); 0 means 20.
	MaxProcesses int
	// Version and Revision are sockscope_build_info's version and
	// revision labels; "" means the main module's version and VCS
	// revision from the binary's build info.
	Version, Revision string
	// MaxCollections bounds the collections that run at once; 0 means 2.
	MaxCollections int
	// CollectTimeout bounds one collection; 0 means 30s.
	CollectTimeout time.Duration
	// MaxReplies bounds the requests for sockets (/api/*, /metrics) that
	// are answered at once, from their turn to the last byte of the
	// reply; 0 means 4.
	MaxReplies int
	// MaxQueue bounds the requests that wait for a reply slot; a request
	// that finds the queue full is answered 503 with Retry-After at
	// once. 0 means 16.
	MaxQueue int
	// QueueTimeout bounds a request's wait for a reply slot, after which
	// it is answered 503 with Retry-After; 0 means 10s.
	QueueTimeout time.Duration
	// WriteTimeout bounds the writing of one reply, from its first byte;
	// a client that reads slower loses its connection. 0 means 30s.
	WriteTimeout time.Duration
	// AllowedHosts, when not empty, restricts the Host header of every
	// request (against DNS rebinding) to these names, compared without
	// case, or an IP literal, which no rebinding can produce. "*" allows
	// any host. Requests naming another host get 421.
	AllowedHosts []string
	// ErrorLog receives one line per handler failure (never a stack
	// trace); nil means the standard logger.
	ErrorLog *log.Logger
}

// RetryAfter is the Retry-After, in seconds, of a 503 answered because
// the server is busy.
const RetryAfter = 5

// Server is the HTTP handler. It is safe for concurrent use.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	sem     chan struct{} // collections running
	replies chan struct{} // replies in flight
	queue   chan struct{} // requests waiting for a reply slot
	fl      flights
	col     *collector
	hosts   map[string]bool
	anyHost bool
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
	if cfg.MaxProcesses <= 0 {
		cfg.MaxProcesses = 20
	}
	if cfg.MaxCollections <= 0 {
		cfg.MaxCollections = 2
	}
	if cfg.CollectTimeout <= 0 {
		cfg.CollectTimeout = 30 * time.Second
	}
	if cfg.MaxReplies <= 0 {
		cfg.MaxReplies = 4
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = 16
	}
	if cfg.QueueTimeout <= 0 {
		cfg.QueueTimeout = 10 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = log.Default()
	}
	s := &Server{
		cfg:     cfg,
		mux:     http.NewServeMux(),
		sem:     make(chan struct{}, cfg.MaxCollections),
		replies: make(chan struct{}, cfg.MaxReplies),
		queue:   make(chan struct{}, cfg.MaxQueue),
		hosts:   map[string]bool{},
	}
	for _, h := range cfg.AllowedHosts {
		if h == "*" {
			s.anyHost = true
		}
		s.hosts[strings.ToLower(strings.TrimSuffix(h, "."))] = true
	}
	s.fl.pending = map[bool]*flight{}
	s.fl.last = map[bool]chan struct{}{}
	s.col = newCollector(s)
	s.mux.HandleFunc("GET /{$}", s.servePage)
	s.mux.HandleFunc("GET /api/ports", s.admitted(s.servePorts))
	s.mux.HandleFunc("GET /api/sockets", s.admitted(s.serveSockets))
	s.mux.HandleFunc("GET /api/port", s.admitted(s.servePortDetail))
	s.mux.HandleFunc("GET /api/page", s.admitted(s.servePageData))
	s.mux.HandleFunc("GET /favicon.ico", serveNoIcon)
	s.mux.HandleFunc("GET /metrics", s.admitted(s.serveMetrics))
	s.mux.HandleFunc("GET /healthz", serveHealthz)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tw := &trackingWriter{ResponseWriter: w}
	defer s.recoverPanic(tw, r)
	// Every answer gets written within WriteTimeout of its start; the
	// socket endpoints move the deadline when their reply begins.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if len(s.cfg.AllowedHosts) > 0 && !s.hostAllowed(r.Host) {
		http.Error(tw, "sockscope: this server does not answer to the host named in the Host header (see serve --allowed-hosts)", http.StatusMisdirectedRequest)
		return
	}
	s.mux.ServeHTTP(tw, r)
}

// recoverPanic turns a handler's panic into one log line and a plain 500,
// never a stack trace.
func (s *Server) recoverPanic(w *trackingWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler { //nolint:errorlint // compared as net/http does
		panic(v)
	}
	s.cfg.ErrorLog.Printf("sockscope: serve: %s %s: internal error: %s", r.Method, render.Sanitize(r.URL.Path), render.Sanitize(fmt.Sprint(v)))
	if w.wrote {
		panic(http.ErrAbortHandler) // the status is gone: cut the reply short
	}
	http.Error(w, "sockscope: internal error (logged by the server)", http.StatusInternalServerError)
}

// trackingWriter remembers whether the status has been written.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// hostAllowed reports whether a Host header names an IP literal or an
// allowed host.
func (s *Server) hostAllowed(host string) bool {
	if s.anyHost {
		return true
	}
	if h, port, err := net.SplitHostPort(host); err == nil {
		if !allDigits(port) {
			return false // a Host header's port is empty or a number
		}
		host = h
	} else if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if net.ParseIP(host) != nil {
		return true
	}
	return host != "" && s.hosts[strings.ToLower(strings.TrimSuffix(host, "."))]
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
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
	// As a scrape with MetricsHolders asks, since collections are shared
	// by the holder option alone (a scrape may get an API's snapshot).
	o.NetCounters = true
	return o
}

func (s *Server) servePorts(w http.ResponseWriter, r *http.Request) {
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
	s.startReply(w, "application/json")
	if err := render.WritePortsJSON(w, v); err != nil && !isConnError(err) {
		s.cfg.ErrorLog.Printf("sockscope: serve: /api/ports: %s", firstLine(err))
	}
}

// serveSockets streams the socket list: it is encoded in chunks of at most
// 256 KiB while it is written, never held whole.
func (s *Server) serveSockets(w http.ResponseWriter, r *http.Request) {
	flt, ok := s.filterParam(w, r)
	if !ok {
		return
	}
	snap, err := s.snapshot(r.Context(), s.apiOptions())
	if err != nil {
		jsonError(w, err)
		return
	}
	snap = filtered(snap, flt)
	s.startReply(w, "application/json")
	if err := render.WriteSocketsJSONStream(w, snap.Sockets, snap.Warnings); err != nil && !isConnError(err) {
		s.cfg.ErrorLog.Printf("sockscope: serve: /api/sockets: %s", firstLine(err))
	}
}

// startReply sends the status line and headers at once, so that a client
// that stops reading has them, and gives the body WriteTimeout.
func (s *Server) startReply(w http.ResponseWriter, contentType string) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
}

// errorJSON is the body of a failed JSON request.
type errorJSON struct {
	Error string `json:"error"`
}

// isConnError reports a failed write to the client, which is the client's
// business, not the server's.
func isConnError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrHandlerTimeout) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// jsonError answers {"error": "..."}: 503 with Retry-After when the
// server was busy or the request gave up waiting, 500 otherwise.
func jsonError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errBusy) {
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
	}
	// The request may have waited past the deadline set on its arrival.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(10 * time.Second))
	b, _ := json.Marshal(errorJSON{Error: err.Error()}) // one string: cannot fail
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// serveMetrics runs one scrape through a registry made for this request,
// so the collection can wait on and be cancelled with the request. A
// failed gathering is logged in one line; the body says only that it
// failed, never how (client_golang's errors carry stack traces).
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	reg := prometheus.NewPedanticRegistry()
	for _, c := range append([]prometheus.Collector{scrape{col: s.col, ctx: r.Context()}}, s.col.std...) {
		if err := reg.Register(c); err != nil {
			s.cfg.ErrorLog.Printf("sockscope: serve: /metrics: %s", firstLine(err))
			http.Error(w, "sockscope: internal error (logged by the server)", http.StatusInternalServerError)
			return
		}
	}
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		mfs, err := reg.Gather()
		if err != nil {
			s.cfg.ErrorLog.Printf("sockscope: serve: /metrics: %s", firstLine(err))
			return nil, errors.New("sockscope: gathering the metrics failed (logged by the server)")
		}
		return mfs, nil
	})
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}).ServeHTTP(w, r)
}

// firstLine is err's message up to its first line break, escaped: one
// log line, whatever the error holds.
func firstLine(err error) string {
	msg := err.Error()
	if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
		msg = msg[:i] + " [...]"
	}
	return render.Sanitize(msg)
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
