package cli

import (
	"bytes"
	"context"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/query"
	"github.com/sockscope/sockscope/render"
)

// watchOptions are the flags of sockscope watch: ls's selection flags plus
// the pace.
type watchOptions struct {
	ls       lsOptions
	interval time.Duration
	count    int
	// destroyed prints freed sockets only (ss -E): watch_destroyed.go.
	destroyed bool
	// noTUI keeps the line mode on a terminal (watch_tui.go).
	noTUI bool
}

func newWatchCmd(g *globals) *cobra.Command {
	o := &watchOptions{}
	cmd := &cobra.Command{
		Use:   "watch [-tuwxlaenp46] [--interval D] [--count N] [--no-tui] [FILTER...]",
		Short: "Show sockets as they come and go: a full-screen view, a live table, or an event stream",
		Long: `Take a snapshot every --interval, with the same flags and filter as ls, and
compare it with the previous one by socket cookie.

On a terminal (input and output) it is a full-screen view: a header with
the time, the number of sockets, how many were added (+), removed (-) and
changed (~, a new state, peer or queue length) in the last refresh, the
pace, the sort and the view's filter; then the table, as many rows as fit.
New rows are marked '+' and changed ones '~' for 3 refreshes; closed rows
stay 3 refreshes, marked '-' (dimmed and struck through in color). The
AGE column is the time since watch first saw the socket (">" for sockets
already there when it started). Keys:
  arrows, j/k, PgUp/PgDn, Home/End (g/G)  scroll
  s / S           next / previous sort column: local, remote, state,
                  process, age
  r               reverse the sort
  space, p        pause: keep the last frame (refreshes go on behind it)
  /               filter: the same language as FILTER, narrowing what
                  watch collects; Enter applies it (an empty one clears
                  it), a mistake is shown with a caret, Esc leaves
  q, Ctrl-C       quit (status 0)
  Ctrl-Z          suspend (fg brings it back)
When a refresh takes longer than --interval (many sockets, holders, a busy
machine), the header says so with the real pace: "(every 1s; lagging:
every 2.3s)". Notes on what could not be seen are printed when it quits.

With --no-tui or --count, or when the input is not a terminal, the table
is redrawn each time instead, new rows marked '+' and changed ones '~'.
Like top, it is cut to the terminal's height, new and changed rows kept
first, and a last line says how many rows are not shown: a filter narrows
it. The header shows the same counts and lag.

With -o ndjson (the default when the output is not a terminal) it prints
one JSON object per event, one line each:
  {"version":1,"time":"...","event":"added","source":"poll","socket":{...}}
The first snapshot reports every socket as added, so the stream alone
rebuilds the set. Where the kernel sends socket destroy events (TCP and UDP
in the namespace sockscope runs in; no privilege needed) a watched socket's
removal is reported as soon as its kernel object is freed, with
"source":"destroy-event", and not again by the next snapshot. A TCP socket
that may live on in TIME-WAIT is confirmed by the next snapshot when
TIME-WAIT sockets are watched. Sockets that appear and vanish between two
snapshots are not reported. Events that arrive while a snapshot is being
taken are reported as they come, even when taking it lasts longer than
--interval.

Reuse flags and bind buckets (JSON "reuseaddr", "reuseport",
"bind_bucket") come only with --source bpf, read again every refresh.
With --source auto as root, watch loads the BPF programs once and scans
holders through them, without the flags, which keeps refreshes cheap.

It stops after --count snapshots, or on Ctrl-C.`,
		Example: `  sockscope watch -tl                      # listeners coming and going
  sockscope watch -ta 'sport = :443'       # every TCP socket on port 443
  sockscope watch -t -o ndjson | jq -c 'select(.event == "removed")'
  sockscope watch --interval 200ms --count 10 -x -a`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f := cmd.Flag("output"); (f == nil || !f.Changed) && !g.io.OutTTY {
				g.output = "ndjson"
			}
			if o.destroyed {
				return runWatchDestroyed(cmd.Context(), g, o, args)
			}
			return runWatch(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.ls.tcp, "tcp", "t", false, "TCP sockets")
	f.BoolVarP(&o.ls.udp, "udp", "u", false, "UDP and UDP-Lite sockets")
	f.BoolVarP(&o.ls.raw, "raw", "w", false, "raw sockets")
	f.BoolVarP(&o.ls.unix, "unix", "x", false, "Unix-domain sockets")
	f.BoolVarP(&o.ls.listening, "listening", "l", false, "only listening (and unconnected) sockets")
	f.BoolVarP(&o.ls.all, "all", "a", false, "sockets in every state")
	f.BoolVarP(&o.ls.processes, "processes", "p", false, "show the processes that hold each socket")
	f.BoolVarP(&o.ls.extended, "extended", "e", false, "show uid, inode, cookie and shut sides (ss's <->)")
	f.BoolVarP(&o.ls.ipv4, "ipv4", "4", false, "only IPv4 sockets")
	f.BoolVarP(&o.ls.ipv6, "ipv6", "6", false, "only IPv6 sockets")
	f.DurationVar(&o.interval, "interval", time.Second, "time between snapshots")
	f.IntVar(&o.count, "count", 0, "stop after this many snapshots (0: until interrupted)")
	f.BoolVar(&o.noTUI, "no-tui", false, "on a terminal, redraw the table each refresh instead of the full-screen view")
	f.BoolVar(&o.destroyed, "destroyed", false, "print a line per socket the kernel frees, as ss -E (TCP and UDP; --count counts lines)")
	return cmd
}

// minWatchInterval keeps a mistyped interval from spinning a core.
const minWatchInterval = 10 * time.Millisecond

func runWatch(ctx context.Context, g *globals, o *watchOptions, args []string) error {
	if g.output == "json" {
		return usagef("watch streams events: use -o ndjson (one JSON object per line) or -o table")
	}
	if o.interval < minWatchInterval {
		return usagef("bad --interval %s: use at least %s", o.interval, minWatchInterval)
	}
	if o.count < 0 {
		return usagef("bad --count %d: use 0 (no limit) or more", o.count)
	}
	flt, opts, err := g.filterOptions(args)
	if err != nil {
		return err
	}
	o.ls.apply(&opts, flt)
	// A refresh needs holders, not flags: auto's BPF scans holders only.
	opts.SkipFlags = true
	// An unbounded watch ends with Ctrl-C: that is success.
	g.endsOnInterrupt = o.count == 0

	defer keepBPF(&opts)()
	w := &watcher{g: g, o: o, flt: flt, opts: opts, collect: g.collect}
	if g.source != "proc" && len(g.netns) == 0 && !g.allNetNS && watchesDestroyable(opts) {
		// Without destroy events (an old kernel, another OS) watch
		// polls only.
		ectx, cancel := context.WithCancel(ctx)
		if evc, err := sockscope.WatchDestroyed(ectx); err == nil {
			w.evc = evc
			defer func() {
				cancel()
				for range evc { // closed once the kernel socket is
				}
			}()
		} else {
			cancel()
		}
	}
	if useTUI(g, o) {
		return w.runTUI(ctx)
	}
	return w.run(ctx)
}

// watchesDestroyable reports whether the selection includes TCP or UDP,
// the protocols with destroy events.
func watchesDestroyable(opts sockscope.Options) bool {
	if len(opts.Protos) == 0 {
		return true
	}
	for _, p := range opts.Protos {
		if p == sockscope.TCP || p == sockscope.UDP {
			return true
		}
	}
	return false
}

// watcher holds the state of one watch run.
type watcher struct {
	g    *globals
	o    *watchOptions
	flt  *query.Filter
	opts sockscope.Options

	// known maps the cookie of every socket in the last snapshot, less
	// those already reported removed, to that socket.
	known map[uint64]*sockscope.Socket
	// gone holds the cookies reported removed by destroy events since the
	// last snapshot: the next diff must not report them again.
	gone map[uint64]bool
	// pending holds destroy events of TCP sockets that may live on as
	// TIME-WAIT minisockets (same cookie) while TIME-WAIT is watched: the
	// next snapshot decides.
	pending map[uint64]time.Time
	// between are events reported between snapshots (table mode counts
	// them in the next header).
	betweenRemoved int

	// evc delivers destroy events; nil without them.
	evc <-chan sockscope.DestroyEvent

	// collect takes a snapshot: globals.collect, or a slower stand-in in
	// tests of lag.
	collect func(context.Context, sockscope.Options) (*sockscope.Snapshot, error)
	// lastStart is when the previous refresh began and took how long it
	// took; lag is the time between the previous refresh's start and this
	// one's when the previous one took longer than the interval, else 0.
	lastStart time.Time
	took      time.Duration
	lag       time.Duration

	buf []byte

	// send, when not nil, hands refreshes and destroy events to the
	// full-screen view (watch_tui.go) instead of writing them; notes are
	// the first snapshot's warnings, printed when the view ends.
	send  func(tea.Msg)
	notes string
}

func (w *watcher) run(ctx context.Context) error {
	w.gone = map[uint64]bool{}
	w.pending = map[uint64]time.Time{}
	ticker := time.NewTicker(w.o.interval)
	defer ticker.Stop()
	var prev *sockscope.Snapshot
	for i := 0; w.o.count == 0 || i < w.o.count; i++ {
		if i > 0 {
			if err := w.wait(ctx, ticker.C); err != nil {
				return err
			}
		}
		start := time.Now()
		w.pace(start)
		snap, err := w.collectHandlingEvents(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		filterSockets(snap, w.flt)
		if i == 0 {
			w.warn(snap)
		}
		if err := w.step(prev, snap); err != nil {
			return err
		}
		w.took = time.Since(start)
		prev = snap
	}
	return nil
}

// warn prints the first snapshot's warnings; under the full-screen view
// it keeps them for when the view ends and shows the first line.
func (w *watcher) warn(snap *sockscope.Snapshot) {
	if w.send == nil {
		w.g.warn(snap)
		return
	}
	var b bytes.Buffer
	errOut := w.g.io.ErrOut
	w.g.io.ErrOut = &b
	w.g.warn(snap)
	w.g.io.ErrOut = errOut
	if b.Len() > 0 {
		w.notes = b.String()
		first, _, _ := strings.Cut(w.notes, "\n")
		w.send(tuiNoteMsg{first})
	}
}

// pace sets the lag a refresh starting at start reports: when the
// previous refresh (collecting, diffing, writing) took longer than the
// interval, the ticker dropped ticks and the real pace is the time from
// its start to this one's; else 0.
func (w *watcher) pace(start time.Time) {
	w.lag = 0
	if !w.lastStart.IsZero() && w.took > w.o.interval {
		w.lag = start.Sub(w.lastStart)
	}
	w.lastStart = start
}

// collectHandlingEvents takes a snapshot while handling the destroy
// events that arrive meanwhile, against the previous snapshot's sockets,
// and those still queued when it is done. A collection can take longer
// than the interval (many sockets, holders, a loaded machine): left
// queued, those events would all be matched against the new snapshot,
// which no longer has the sockets, and every removal would be reported by
// the diff instead; meanwhile the kernel would drop events once the queue
// filled.
func (w *watcher) collectHandlingEvents(ctx context.Context) (*sockscope.Snapshot, error) {
	if w.evc == nil {
		return w.collect(ctx, w.opts)
	}
	type result struct {
		snap *sockscope.Snapshot
		err  error
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the collection if an event cannot be written
	done := make(chan result, 1)
	go func() {
		snap, err := w.collect(cctx, w.opts)
		done <- result{snap, err}
	}()
	for {
		select {
		case r := <-done:
			if r.err != nil {
				return nil, r.err
			}
			return r.snap, w.drainEvents()
		case ev, ok := <-w.evc:
			if !ok {
				w.evc = nil // the subscription ended: poll only
				r := <-done
				return r.snap, r.err
			}
			if err := w.destroyed(ev); err != nil {
				return nil, err
			}
		}
	}
}

// drainEvents handles the destroy events already queued.
func (w *watcher) drainEvents() error {
	for w.evc != nil {
		select {
		case ev, ok := <-w.evc:
			if !ok {
				w.evc = nil
				return nil
			}
			if err := w.destroyed(ev); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

// wait returns at the next tick, handling destroy events meanwhile.
func (w *watcher) wait(ctx context.Context, tick <-chan time.Time) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick:
			return nil
		case ev, ok := <-w.evc: // nil channel without events: never ready
			if !ok {
				w.evc = nil // the subscription failed: poll only
				continue
			}
			if err := w.destroyed(ev); err != nil {
				return err
			}
		}
	}
}

// mayTimeWait reports whether a TCP socket in state st can become a
// TIME-WAIT minisocket when its struct sock is freed.
func mayTimeWait(st sockscope.State) bool {
	switch st {
	case sockscope.Established, sockscope.SynRecv, sockscope.FinWait1, sockscope.FinWait2, sockscope.Closing:
		return true
	}
	return false
}

// destroyed handles one destroy event, joined by cookie with the sockets
// the last snapshot showed; events of other sockets are ignored.
func (w *watcher) destroyed(ev sockscope.DestroyEvent) error {
	s, ok := w.known[ev.Cookie]
	if !ok || ev.Cookie == 0 {
		return nil
	}
	if s.Proto == sockscope.TCP && w.opts.States.Has(sockscope.TimeWait) && mayTimeWait(s.State) {
		w.pending[ev.Cookie] = ev.Time
		return nil
	}
	delete(w.known, ev.Cookie)
	w.gone[ev.Cookie] = true
	if w.send != nil {
		w.betweenRemoved++
		w.send(tuiDestroyMsg{key: s.Key()})
		return nil
	}
	if w.g.output != "ndjson" {
		w.betweenRemoved++
		return nil
	}
	return w.writeEvents([]render.WatchEvent{{Time: ev.Time, Kind: render.EventRemoved, Source: render.SourceDestroy, Socket: s}})
}

// step diffs a snapshot with the previous one and reports the changes.
// Sockets whose destroy event came while the snapshot was taken are
// dropped from it: the dump saw them before they were freed, and their
// removal is already reported.
func (w *watcher) step(prev, snap *sockscope.Snapshot) error {
	if len(w.gone) > 0 {
		kept := snap.Sockets[:0]
		for _, s := range snap.Sockets {
			if s.Cookie == 0 || !w.gone[s.Cookie] {
				kept = append(kept, s)
			}
		}
		clear(snap.Sockets[len(kept):])
		snap.Sockets = kept
	}
	base := &sockscope.Snapshot{}
	if prev != nil {
		base.Sockets = make([]*sockscope.Socket, 0, len(prev.Sockets))
		for _, s := range prev.Sockets {
			if s.Cookie == 0 || !w.gone[s.Cookie] {
				base.Sockets = append(base.Sockets, s)
			}
		}
	}
	added, removed, changed := sockscope.Diff(base, snap)
	at := snap.Taken
	if at.IsZero() {
		at = time.Now()
	}
	evs := make([]render.WatchEvent, 0, len(added)+len(removed)+len(changed))
	for _, s := range removed {
		ev := render.WatchEvent{Time: at, Kind: render.EventRemoved, Source: render.SourcePoll, Socket: s}
		if t, ok := w.pending[s.Cookie]; ok && s.Cookie != 0 {
			ev.Time, ev.Source = t, render.SourceDestroy
		}
		evs = append(evs, ev)
	}
	for _, s := range added {
		evs = append(evs, render.WatchEvent{Time: at, Kind: render.EventAdded, Source: render.SourcePoll, Socket: s})
	}
	for _, s := range changed {
		evs = append(evs, render.WatchEvent{Time: at, Kind: render.EventChanged, Source: render.SourcePoll, Socket: s})
	}
	clear(w.gone)
	clear(w.pending)
	w.known = make(map[uint64]*sockscope.Socket, len(snap.Sockets))
	for _, s := range snap.Sockets {
		if s.Cookie != 0 {
			w.known[s.Cookie] = s
		}
	}
	if w.send != nil {
		w.send(tuiSnapMsg{snap: snap, evs: evs, between: w.betweenRemoved, lag: w.lag, first: prev == nil})
		w.betweenRemoved = 0
		return nil
	}
	if w.g.output == "ndjson" {
		return w.writeEvents(evs)
	}
	err := w.writeScreen(snap, evs, prev == nil)
	w.betweenRemoved = 0
	return err
}

// writeEvents prints events as NDJSON lines, each written whole.
func (w *watcher) writeEvents(evs []render.WatchEvent) error {
	buf := w.buf[:0]
	for _, ev := range evs {
		var err error
		if buf, err = render.AppendWatchEventJSON(buf, ev); err != nil {
			return err
		}
		if len(buf) > 60<<10 {
			if _, err := w.g.io.Out.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	w.buf = buf
	if len(buf) == 0 {
		return nil
	}
	_, err := w.g.io.Out.Write(buf)
	return err
}

// writeScreen draws one refresh: a header line and the table, new rows
// marked '+', changed ones '~'. On a terminal the screen is cleared first,
// the table is cut to the terminal's height, and the whole frame is
// written at once.
func (w *watcher) writeScreen(snap *sockscope.Snapshot, evs []render.WatchEvent, first bool) error {
	st := w.g.style()
	st.Processes = w.o.ls.processes
	st.Extended = w.o.ls.extended
	f := render.WatchFrame{
		Taken:    snap.Taken,
		Sockets:  snap.Sockets,
		Marks:    make(map[*sockscope.Socket]byte, len(evs)),
		Removed:  w.betweenRemoved,
		Interval: w.o.interval,
		Lag:      w.lag,
		Count:    w.o.count,
	}
	if f.Taken.IsZero() {
		f.Taken = time.Now()
	}
	for _, ev := range evs {
		switch ev.Kind {
		case render.EventAdded:
			f.Added++
			if !first {
				f.Marks[ev.Socket] = '+'
			}
		case render.EventRemoved:
			f.Removed++
		case render.EventChanged:
			f.Changed++
			f.Marks[ev.Socket] = '~'
		}
	}
	if st.TTY {
		f.Height = w.g.termHeight()
	}
	return render.WriteWatchFrame(w.g.io.Out, f, st)
}
