package sockscope_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/internal/nstest"
)

// TestCollectManyNetNS: with -A over 300 namespaces, each one is read, with
// its name and its two sockets.
func TestCollectManyNetNS(t *testing.T) {
	if !nstest.Isolate(t) {
		return
	}
	const n = 300
	prefix := fmt.Sprintf("scale-%d", os.Getpid())
	nstest.Many(t, prefix, n)
	snap, err := sockscope.Collect(context.Background(), sockscope.Options{AllNetNS: true, Protos: []sockscope.Proto{sockscope.TCP, sockscope.UDP}})
	if err != nil {
		t.Fatal(err)
	}
	perNS := map[string][]*sockscope.Socket{}
	for _, s := range snap.Sockets {
		perNS[s.NetNS.Name] = append(perNS[s.NetNS.Name], s)
	}
	for i := range n {
		name := fmt.Sprintf("%s-%d", prefix, i)
		socks := perNS[name]
		if len(socks) != 2 {
			t.Errorf("%s: %d sockets, want a TCP listener and a UDP socket", name, len(socks))
			continue
		}
		for _, s := range socks {
			if s.Local != netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), nstest.ManyPort) {
				t.Errorf("%s: socket on %s, want 127.0.0.1:%d", name, s.Local, nstest.ManyPort)
			}
		}
	}
	for _, w := range snap.Warnings {
		t.Logf("warning: %s", w.Msg)
	}
}

// TestCollectCancelManyNetNS: cancelled while reading 300 namespaces (with
// holders), Collect returns within 200 ms of the cancellation, with an
// *OpError wrapping context.Canceled that names the namespace being read:
// the walk stops there, rather than reading the rest and failing at the
// end.
func TestCollectCancelManyNetNS(t *testing.T) {
	if !nstest.Isolate(t) {
		return
	}
	const n = 300
	nstest.Many(t, fmt.Sprintf("cancel-%d", os.Getpid()), n)
	opts := sockscope.Options{AllNetNS: true, Holders: true}

	// Cancel at 100 ms, or earlier if a whole collection takes less than
	// 300 ms here: the cancellation must fall in the first third of the
	// work, while namespaces are read.
	start := time.Now()
	if _, err := sockscope.Collect(context.Background(), opts); err != nil {
		t.Fatalf("uncancelled collection: %v", err)
	}
	full := time.Since(start)
	at := min(100*time.Millisecond, full/3)
	t.Logf("a whole collection of %d namespaces took %v; cancelling at %v", n, full, at)

	for try := range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		var cancelled time.Time
		timer := time.AfterFunc(at, func() { cancelled = time.Now(); cancel() })
		snap, err := sockscope.Collect(ctx, opts)
		returned := time.Now()
		stopped := timer.Stop()
		cancel()
		if stopped {
			// Finished before the cancellation (a faster run than the
			// first): try again, cancelling earlier.
			t.Logf("try %d finished in %v, before the cancellation", try, returned.Sub(start))
			at /= 2
			continue
		}
		if err == nil {
			// The cancellation came after the last check (while sorting).
			t.Logf("try %d: the cancellation came after the last check (%d sockets)", try, len(snap.Sockets))
			at /= 2
			continue
		}
		var op *sockscope.OpError
		if !errors.Is(err, context.Canceled) || !errors.As(err, &op) {
			t.Fatalf("err = %v (%T), want an *OpError wrapping context.Canceled", err, err)
		}
		if op.Op != "read" || op.NetNS == "" {
			t.Errorf("err = %v: want it from reading a namespace (Op read, NetNS set), not from a later stage", err)
		}
		if snap != nil {
			t.Error("a snapshot came back with the error")
		}
		lat := returned.Sub(cancelled)
		t.Logf("returned %v after the cancellation: %v", lat, err)
		if lat > 200*time.Millisecond {
			t.Errorf("Collect returned %v after the cancellation, want ≤ 200ms", lat)
		}
		return
	}
	t.Fatal("Collect never saw the cancellation in 3 tries")
}
