package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockscope/sockscope"
)

// lagWatcher is a watcher writing to out, with the given pace and
// collector: the collector is the hook that slows a refresh down.
func lagWatcher(out *bytes.Buffer, output string, interval time.Duration, count int, opts sockscope.Options,
	collect func(context.Context, sockscope.Options) (*sockscope.Snapshot, error)) *watcher {
	g := &globals{io: IOStreams{Out: out, ErrOut: new(bytes.Buffer), Getenv: func(string) string { return "" }}, output: output, numeric: true}
	return &watcher{g: g, o: &watchOptions{interval: interval, count: count}, opts: opts, collect: collect}
}

var lagRe = regexp.MustCompile(`lagging: every ([0-9.]+[mµn]?s)`)

// TestWatchReportsLag: when a refresh takes longer than the interval, the
// next header says so, with the real time between refreshes; when
// refreshes keep up, no header says it.
func TestWatchReportsLag(t *testing.T) {
	const interval = 20 * time.Millisecond
	const slow = 4 * interval
	var calls atomic.Int64
	slowCollect := func(ctx context.Context, _ sockscope.Options) (*sockscope.Snapshot, error) {
		if calls.Add(1) > 1 {
			// The artificial slowness under test, not a wait for a condition.
			select {
			case <-time.After(slow):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return &sockscope.Snapshot{Taken: time.Now()}, nil
	}
	var out bytes.Buffer
	if err := lagWatcher(&out, "table", interval, 4, sockscope.Options{}, slowCollect).run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var headers []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "# ") {
			headers = append(headers, l)
		}
	}
	if len(headers) != 4 {
		t.Fatalf("%d headers, want 4:\n%s", len(headers), out.String())
	}
	// Refresh 1 is fast; 2, 3 and 4 each take `slow`: headers 3 and 4
	// follow a slow refresh.
	if strings.Contains(headers[0], "lagging") || strings.Contains(headers[1], "lagging") {
		t.Errorf("a header after a fast refresh says lagging:\n%s", strings.Join(headers, "\n"))
	}
	for _, h := range headers[2:] {
		m := lagRe.FindStringSubmatch(h)
		if m == nil {
			t.Errorf("header after a refresh of %v with --interval %v does not say it lags: %q", slow, interval, h)
			continue
		}
		d, err := time.ParseDuration(m[1])
		if err != nil {
			t.Fatalf("header %q: %v", h, err)
		}
		if d < slow {
			t.Errorf("header %q: lagging every %v, but refreshes were %v apart at least", h, d, slow)
		}
		if !strings.Contains(h, "(every 20ms") {
			t.Errorf("header %q does not show the asked interval", h)
		}
	}

	// Refreshes that keep up: no lag reported.
	out.Reset()
	fast := func(context.Context, sockscope.Options) (*sockscope.Snapshot, error) {
		return &sockscope.Snapshot{Taken: time.Now()}, nil
	}
	if err := lagWatcher(&out, "table", 100*time.Millisecond, 3, sockscope.Options{}, fast).run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "lagging") {
		t.Errorf("refreshes of microseconds every 100ms reported as lagging:\n%s", out.String())
	}
}

// TestWatchDestroyDuringSlowRefresh: a destroy event that arrives while a
// (slow) snapshot is taken is reported as a destroy event, once, whether
// the snapshot was taken before the socket was freed or after. Before,
// such events waited in the queue until the new snapshot had replaced the
// old one, were then matched against it and dropped, and every removal
// was reported by the diff ("source":"poll"), which is what `watch -p`
// showed on a busy machine. The sockets and the snapshots are real; the
// events are fed by the test, with the cookies the kernel gave, at a
// chosen moment.
func TestWatchDestroyDuringSlowRefresh(t *testing.T) {
	for _, tc := range []struct {
		name       string
		beforeDump bool // the socket is closed before the slow snapshot's dump
	}{
		{"freed before the dump", true},
		{"freed after the dump", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			port := uint16(ln.Addr().(*net.TCPAddr).Port)
			opts := sockscope.Options{Protos: []sockscope.Proto{sockscope.TCP}, LocalPort: port}

			evc := make(chan sockscope.DestroyEvent, 4)
			var cookie uint64
			var calls atomic.Int64
			hook := func(ctx context.Context, o sockscope.Options) (*sockscope.Snapshot, error) {
				switch calls.Add(1) {
				case 1:
					snap, err := sockscope.Collect(ctx, o)
					if err == nil && len(snap.Sockets) == 1 {
						cookie = snap.Sockets[0].Cookie
					}
					return snap, err
				case 2:
					free := func() {
						ln.Close()
						evc <- sockscope.DestroyEvent{Cookie: cookie, Proto: sockscope.TCP, Time: time.Now()}
					}
					if tc.beforeDump {
						free()
						return sockscope.Collect(ctx, o)
					}
					snap, err := sockscope.Collect(ctx, o)
					free()
					return snap, err
				}
				return sockscope.Collect(ctx, o)
			}
			var out bytes.Buffer
			w := lagWatcher(&out, "ndjson", 10*time.Millisecond, 3, opts, hook)
			w.evc = evc
			if err := w.run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if cookie == 0 {
				t.Fatalf("the first snapshot did not have the listener on port %d:\n%s", port, out.String())
			}
			var removed, added []string
			for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				var ev watchLine
				if err := json.Unmarshal([]byte(l), &ev); err != nil {
					t.Fatalf("line %q: %v", l, err)
				}
				if ev.Socket.Cookie != cookie {
					continue
				}
				switch ev.Event {
				case "removed":
					removed = append(removed, ev.Source)
				case "added":
					added = append(added, ev.Source)
				}
			}
			if len(removed) != 1 || removed[0] != "destroy-event" {
				t.Errorf("removals of the listener: %v, want one from its destroy event\n%s", removed, out.String())
			}
			if len(added) != 1 {
				t.Errorf("the listener was added %d times, want once (the first snapshot)\n%s", len(added), out.String())
			}
		})
	}
}
