package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/render"
)

// errBusy is the cause of a 503: the queue was full, or the wait for a
// turn ran out.
var errBusy = errors.New("server busy")

// admitted wraps a handler that collects: it runs only in one of
// MaxReplies reply slots. A request that finds every slot taken waits in
// a queue of at most MaxQueue requests for at most QueueTimeout; one that
// finds the queue full, or waits too long, is answered 503 with
// Retry-After. Either way every request gets a status line. The request's
// context then carries a deadline, CollectTimeout after its turn, past
// which it is not collected for.
func (s *Server) admitted(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		release, err := s.admit(r.Context())
		if err != nil {
			busy(w, r, err)
			return
		}
		defer release()
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CollectTimeout)
		defer cancel()
		h(w, r.WithContext(ctx))
	}
}

// admit takes a reply slot, queueing for one if need be.
func (s *Server) admit(ctx context.Context) (release func(), err error) {
	release = func() { <-s.replies }
	select {
	case s.replies <- struct{}{}:
		return release, nil
	default:
	}
	select {
	case s.queue <- struct{}{}:
	default:
		return nil, fmt.Errorf("%w: %d replies in flight and %d requests queued", errBusy, cap(s.replies), cap(s.queue))
	}
	defer func() { <-s.queue }()
	t := time.NewTimer(s.cfg.QueueTimeout)
	defer t.Stop()
	select {
	case s.replies <- struct{}{}:
		return release, nil
	case <-t.C:
		return nil, fmt.Errorf("%w: no turn within %s", errBusy, s.cfg.QueueTimeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("server: wait for a turn: %w", ctx.Err())
	}
}

// busy answers 503 with Retry-After, as JSON for /api and as text for
// the rest.
func busy(w http.ResponseWriter, r *http.Request, err error) {
	if len(r.URL.Path) >= 5 && r.URL.Path[:5] == "/api/" {
		jsonError(w, err)
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(10 * time.Second))
	w.Header().Set("Retry-After", fmt.Sprint(RetryAfter))
	http.Error(w, "sockscope: "+err.Error(), http.StatusServiceUnavailable)
}

// flights shares collections among requests. Requests with the same
// options that arrive while a collection runs do not reuse it (it began
// before they asked, so it might miss what they came to see): they join
// the one pending collection, which starts when the running one ends.
// Every reply is therefore of a collection that started after its request
// arrived, and at most one collection per option set runs or waits at a
// time, whatever the number of requests.
type flights struct {
	mu      sync.Mutex
	pending map[bool]*flight       // by Options.Holders: not started yet, open to joiners
	last    map[bool]chan struct{} // done of the newest flight by Options.Holders
	started atomic.Int64           // collections started, for tests
}

type flight struct {
	key     bool
	opts    sockscope.Options
	prev    chan struct{} // done of the flight before it, or nil
	done    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	waiters int
	snap    *sockscope.Snapshot
	err     error
}

// Collections reports how many collections the server has started.
func (s *Server) Collections() int64 { return s.fl.started.Load() }

// snapshot returns a snapshot taken by a collection that started after
// the call, shared with the requests that arrived with it, waiting no
// longer than ctx. Only Options.Holders may differ between calls.
func (s *Server) snapshot(ctx context.Context, opts sockscope.Options) (*sockscope.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("server: before collecting: %w", err)
	}
	key := opts.Holders
	s.fl.mu.Lock()
	f := s.fl.pending[key]
	if f == nil {
		fctx, cancel := context.WithCancel(context.Background())
		f = &flight{key: key, opts: opts, prev: s.fl.last[key], done: make(chan struct{}), ctx: fctx, cancel: cancel}
		s.fl.pending[key] = f
		s.fl.last[key] = f.done
		go s.fly(f)
	}
	f.waiters++
	s.fl.mu.Unlock()
	select {
	case <-f.done:
		if f.err != nil {
			return nil, f.err
		}
		return f.snap, nil
	case <-ctx.Done():
		s.fl.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			// Nobody waits any more: do not collect for no one.
			f.cancel()
			if s.fl.pending[key] == f {
				delete(s.fl.pending, key)
			}
		}
		s.fl.mu.Unlock()
		return nil, fmt.Errorf("server: wait for a collection: %w", ctx.Err())
	}
}

// fly runs one flight: after the one before it, in a collection slot, and
// only if someone still waits.
func (s *Server) fly(f *flight) {
	defer close(f.done)
	defer f.cancel()
	unpend := func() {
		s.fl.mu.Lock()
		if s.fl.pending[f.key] == f {
			delete(s.fl.pending, f.key)
		}
		s.fl.mu.Unlock()
	}
	if f.prev != nil {
		select {
		case <-f.prev:
		case <-f.ctx.Done():
		}
	}
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-f.ctx.Done():
	}
	unpend() // from here on, new requests make the next flight
	if err := f.ctx.Err(); err != nil {
		f.err = fmt.Errorf("server: collection not started: %w", err)
		return
	}
	ctx, cancel := context.WithTimeout(f.ctx, s.cfg.CollectTimeout)
	defer cancel()
	s.fl.started.Add(1)
	snap, err := s.collect(ctx, f.opts)
	if err != nil {
		f.err = fmt.Errorf("server: collect: %w", err)
		return
	}
	f.snap = snap
}

// collect runs Collect, turning a panic into an error and one log line:
// it runs on no request's goroutine, where nothing else would recover it.
func (s *Server) collect(ctx context.Context, opts sockscope.Options) (snap *sockscope.Snapshot, err error) {
	defer func() {
		if v := recover(); v != nil {
			s.cfg.ErrorLog.Printf("sockscope: serve: collect: internal error: %s", render.Sanitize(fmt.Sprint(v)))
			snap, err = nil, errors.New("internal error (logged by the server)")
		}
	}()
	return s.cfg.Collect(ctx, opts)
}
