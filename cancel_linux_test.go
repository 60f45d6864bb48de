package sockscope_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
)

// countdownCtx is a context whose Err reports context.Canceled from its
// k-th call on: a cancellation that arrives exactly at the k-th check that
// Collect makes, whatever the timing.
type countdownCtx struct {
	context.Context
	left atomic.Int64
}

func newCountdown(k int) *countdownCtx {
	c := &countdownCtx{Context: context.Background()}
	c.left.Store(int64(k))
	return c
}

func (c *countdownCtx) Err() error {
	if c.left.Add(-1) <= 0 {
		return context.Canceled
	}
	return nil
}

// udpSockets binds n UDP sockets to one loopback port (SO_REUSEADDR) on
// the test namespace's thread and returns the port.
func udpSockets(t *testing.T, tn *testNet, n int) uint16 {
	t.Helper()
	var port uint16
	var err error
	tn.Do(func() {
		for i := range n {
			fd, serr := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if serr != nil {
				err = serr
				return
			}
			t.Cleanup(func() { unix.Close(fd) })
			if serr := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
				err = serr
				return
			}
			if serr := unix.Bind(fd, &unix.SockaddrInet4{Port: int(port), Addr: [4]byte{127, 0, 0, 1}}); serr != nil {
				err = serr
				return
			}
			if i == 0 {
				sa, serr := unix.Getsockname(fd)
				if serr != nil {
					err = serr
					return
				}
				port = uint16(sa.(*unix.SockaddrInet4).Port)
			}
		}
	})
	if err != nil {
		t.Fatalf("udp sockets: %v", err)
	}
	return port
}

// cancelAt collects with a context cancelled at the k-th check, for k = 1,
// 2, ... until a collection completes, and returns the errors of the
// cancelled ones, in order, and the complete snapshot. Every error must
// be an *OpError wrapping context.Canceled.
func cancelAt(t *testing.T, opts sockscope.Options) ([]*sockscope.OpError, *sockscope.Snapshot) {
	t.Helper()
	var errs []*sockscope.OpError
	for k := 1; k <= 500; k++ {
		snap, err := sockscope.Collect(newCountdown(k), opts)
		if err == nil {
			return errs, snap
		}
		var op *sockscope.OpError
		if !errors.Is(err, context.Canceled) || !errors.As(err, &op) {
			t.Fatalf("cancelled at check %d: err = %v (%T), want an *OpError wrapping context.Canceled", k, err, err)
		}
		if snap != nil {
			t.Fatalf("cancelled at check %d: a snapshot came back with the error", k)
		}
		errs = append(errs, op)
	}
	t.Fatal("Collect never completed within 500 checks of the context")
	return nil, nil
}

// TestCollectCancelledInDump: cancellation is seen inside one dump (every
// few hundred sockets), not only between stages. 700 UDP sockets on one
// port, selected by the kernel's port filter, so that only the test's own
// sockets count.
func TestCollectCancelledInDump(t *testing.T) {
	const n = 700
	tn := newTestNet(t)
	port := udpSockets(t, tn, n)
	opts := tn.Options()
	opts.Protos = []sockscope.Proto{sockscope.UDP}
	opts.Families = []sockscope.Family{sockscope.FamilyInet}
	opts.LocalPort = port
	errs, snap := cancelAt(t, opts)
	// A dump is not a snapshot (docs/kernel.md D2): the UDP hash slot of
	// a port is shared by every namespace, so a socket bound to the same
	// port number elsewhere during the dump can make it skip one of ours.
	// Ask again (bounded) before calling the collection incomplete.
	for try := 0; len(snap.Sockets) != n && try < 3; try++ {
		again, err := sockscope.Collect(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		snap = again
	}
	if len(snap.Sockets) != n {
		t.Fatalf("the complete collection has %d sockets on port %d, want %d", len(snap.Sockets), port, n)
	}
	inDump := 0
	for _, e := range errs {
		if m := e.Error(); strings.Contains(m, "dump udp") || strings.Contains(m, "net/udp") {
			inDump++
		}
	}
	// 700 sockets: checked at least at the 256th and 512th.
	if inDump < 2 {
		t.Errorf("cancellation was seen inside the dump %d times, want at least 2; errors: %v", inDump, errs)
	}
}

// TestCollectCancelledAcrossNetNS: with several namespaces, cancellation
// is seen while each of them is read, and reported with its name.
func TestCollectCancelledAcrossNetNS(t *testing.T) {
	if unix.Geteuid() != 0 {
		t.Skip("creating network namespaces needs root")
	}
	var opts sockscope.Options
	for range 3 {
		tn := newTestNet(t)
		udpSockets(t, tn, 1)
		opts.NetNS = append(opts.NetNS, tn.Options().NetNS...)
	}
	opts.Protos = []sockscope.Proto{sockscope.UDP}
	// Namespaces are read on several threads, and a cancellation is
	// reported for the first namespace (in order) that saw it: which
	// checks fall where depends on the scheduler. Sweep again (bounded)
	// until each namespace has been caught.
	seen := map[string]bool{}
	var errs []*sockscope.OpError
	var snap *sockscope.Snapshot
	for round := 0; round < 10; round++ {
		var e []*sockscope.OpError
		e, snap = cancelAt(t, opts)
		if len(snap.NetNS) != 3 || len(snap.Sockets) != 3 {
			t.Fatalf("the complete collection read %d namespaces and %d sockets, want 3 and 3", len(snap.NetNS), len(snap.Sockets))
		}
		errs = append(errs, e...)
		for _, x := range e {
			seen[x.NetNS] = true
		}
		all := true
		for _, ns := range snap.NetNS {
			all = all && seen[ns.Name]
		}
		if all {
			break
		}
	}
	for _, ns := range snap.NetNS {
		if !seen[ns.Name] {
			t.Errorf("no cancellation was reported while reading %s in 10 sweeps; errors: %v", ns.Name, errs)
		}
	}
}

// TestCollectExpired: a context past its deadline stops Collect with
// context.DeadlineExceeded.
func TestCollectExpired(t *testing.T) {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := sockscope.Collect(ctx, sockscope.Options{Holders: true})
	var op *sockscope.OpError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &op) {
		t.Fatalf("err = %v, want an *OpError wrapping context.DeadlineExceeded", err)
	}
}
