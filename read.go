package sockscope

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/sockscope/sockscope/internal/netns"
	"github.com/sockscope/sockscope/internal/sockdiag"
)

// ctxCheckEvery is how many sockets a dump or /proc read emits between two
// checks of the context (a power of two).
const ctxCheckEvery = 256

// maxNSWorkers bounds the OS threads that read namespaces at once.
const maxNSWorkers = 4

// readSpaces reads every namespace into b, and appends the namespaces to
// snap with a warning for those that could not be read. With a single
// namespace, failing to read it is an error; with several, it is a
// warning. ctx ending is always an error.
//
// The caller's own namespace is read on the calling goroutine; the others
// on up to GOMAXPROCS (at most maxNSWorkers) threads at once, each moving
// from one namespace to the next (netns.DoEach), into a builder of its
// own that b takes over at the end. Sockets are sorted after, so the
// order in which they come in does not matter.
func (b *builder) readSpaces(ctx context.Context, spaces []nsTarget, snap *Snapshot) error {
	errs := make([]error, len(spaces))
	var first atomic.Int64 // the namespace whose read saw ctx end first
	first.Store(-1)
	var others []int // indexes of the namespaces to enter
	for i, ns := range spaces {
		if !ns.direct {
			others = append(others, i)
			continue
		}
		nctx := watchedCtx{ctx, i, &first}
		if err := nctx.Err(); err != nil {
			return &OpError{Op: "read", NetNS: ns.model.Name, Err: err}
		}
		b.ns = ns.model
		errs[i] = b.readNamespace(nctx)
	}
	if len(others) > 0 {
		list := make([]netns.NS, len(others))
		for k, i := range others {
			list[k] = spaces[i].ns
		}
		workers := min(runtime.GOMAXPROCS(0), maxNSWorkers, len(others))
		wbs := make([]*builder, workers)
		for w := range wbs {
			wbs[w] = &builder{opts: b.opts, procRoot: b.procRoot}
		}
		werrs := netns.DoEach(ctx, list, workers, func(w, k int) error {
			wb := wbs[w]
			wb.ns = spaces[others[k]].model
			return wb.readNamespace(watchedCtx{ctx, others[k], &first})
		})
		for k, i := range others {
			errs[i] = werrs[k]
		}
		for _, wb := range wbs {
			b.merge(wb)
			b.procFallback = cmp.Or(b.procFallback, wb.procFallback)
		}
	}

	if cerr := ctx.Err(); cerr != nil {
		// Name the namespace whose read saw it first, with its error,
		// else the first one that did not start.
		if i := first.Load(); i >= 0 && errs[i] != nil {
			return &OpError{Op: "read", NetNS: spaces[i].model.Name, Err: errs[i]}
		}
		for i, err := range errs {
			if err != nil && errors.Is(err, cerr) {
				return &OpError{Op: "read", NetNS: spaces[i].model.Name, Err: err}
			}
		}
		return &OpError{Op: "read", Err: cerr}
	}
	var readErrs []error
	var denied []string // namespaces that could not be entered for lack of privilege
	for i, ns := range spaces {
		err := errs[i]
		switch {
		case err == nil:
		case len(spaces) == 1:
			return &OpError{Op: "read", NetNS: ns.model.Name, Err: err}
		case errors.Is(err, netns.ErrPermission):
			denied = append(denied, ns.model.Name)
		default:
			readErrs = append(readErrs, fmt.Errorf("%s: %w", ns.model.Name, err))
		}
		snap.NetNS = append(snap.NetNS, ns.model)
	}
	if len(denied) > 0 {
		snap.Warnings = append(snap.Warnings, Warning{
			Kind:  WarnNetNS,
			Count: len(denied),
			Msg: fmt.Sprintf("%d network %s could not be entered (run as root to read them): %s",
				len(denied), pluralWord(len(denied), "namespace", "namespaces"), strings.Join(firstNames(denied, 8), ", ")),
		})
	}
	if len(readErrs) > 0 {
		snap.Warnings = append(snap.Warnings, Warning{
			Kind:  WarnNetNS,
			Count: len(readErrs),
			Msg: fmt.Sprintf("%d network %s could not be read: %v",
				len(readErrs), pluralWord(len(readErrs), "namespace", "namespaces"), errors.Join(readErrs...)),
		})
	}
	if len(b.counterErrs) > 0 {
		snap.Warnings = append(snap.Warnings, Warning{
			Kind:  WarnNetNS,
			Count: len(b.counterErrs),
			Msg:   fmt.Sprintf("listen counters of %d network %s could not be read: %v", len(b.counterErrs), pluralWord(len(b.counterErrs), "namespace", "namespaces"), errors.Join(b.counterErrs...)),
		})
	}
	if b.procFallback != "" && b.opts.Source != SourceProc {
		snap.Warnings = append(snap.Warnings, Warning{Kind: WarnSource, Count: 1, Msg: b.procFallback})
	}
	return nil
}

// watchedCtx is the context a namespace's read uses: the first read whose
// check finds ctx ended records its index in first, so that the error
// names the namespace being read when the cancellation came, as when
// namespaces were read one at a time.
type watchedCtx struct {
	context.Context
	i     int
	first *atomic.Int64
}

func (c watchedCtx) Err() error {
	err := c.Context.Err()
	if err != nil {
		c.first.CompareAndSwap(-1, int64(c.i))
	}
	return err
}

// readNamespace reads every selected table of the namespace the calling
// thread is in: from sock_diag, or from /proc/thread-self/net (not
// /proc/self/net, which is the thread-group leader's namespace, not a
// setns'd thread's: docs/kernel.md N3) where sock_diag cannot answer.
func (b *builder) readNamespace(ctx context.Context) error {
	conn, err := b.dial()
	if err != nil {
		return err
	}
	if conn != nil {
		defer conn.Close()
	}
	if err := b.readInet(ctx, conn); err != nil {
		return err
	}
	if b.opts.NetCounters {
		c, err := readNetCounters(b.procRoot)
		if err != nil {
			b.counterErrs = append(b.counterErrs, fmt.Errorf("%s: %w", b.ns.Name, err))
		}
		b.ns.Counters = c
	}
	if b.wantProto(Unix) {
		return b.readUnix(ctx, conn)
	}
	return nil
}

// dial opens a sock_diag socket in the calling thread's namespace. It
// returns nil, and no error, when /proc is to be read instead: on request,
// or (SourceAuto) when sock_diag cannot be opened, which it notes in
// b.procFallback.
func (b *builder) dial() (*sockdiag.Conn, error) {
	if b.opts.Source == SourceProc {
		return nil, nil
	}
	c, err := sockdiag.Dial()
	if err == nil {
		return c, nil
	}
	if b.opts.Source == SourceNetlink {
		return nil, fmt.Errorf("open sock_diag: %w", err)
	}
	b.procFallback = fmt.Sprintf("sock_diag unavailable (%v): read /proc/net instead (no cookies, no bound-only TCP sockets)", err)
	return nil, nil
}
