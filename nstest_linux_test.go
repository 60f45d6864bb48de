package sockscope_test

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/nstest"

	"github.com/sockscope/sockscope"
)

// testNet is where a test builds its sockets: a private network namespace
// when the test runs as root, else the caller's own namespace (loopback).
type testNet struct {
	private bool
	path    string
	work    chan func()
	done    chan struct{}
}

// newTestNet starts a locked OS thread that, as root, has unshared its
// network namespace and brought lo up. Sockets created through Do live
// there. The thread is never returned to the runtime.
func newTestNet(t *testing.T) *testNet {
	t.Helper()
	n := &testNet{work: make(chan func()), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: after unshare this thread's namespace differs
		// from the process's, so it must die with the goroutine.
		if os.Geteuid() == 0 {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				ready <- fmt.Errorf("unshare: %w", err)
				return
			}
			if err := nstest.LoUp(); err != nil {
				ready <- err
				return
			}
			n.private = true
			n.path = fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		}
		ready <- nil
		for {
			select {
			case f := <-n.work:
				f()
			case <-n.done:
				return
			}
		}
	}()
	if err := <-ready; err != nil {
		t.Fatalf("test namespace: %v", err)
	}
	t.Cleanup(func() { close(n.done) })
	return n
}

// Do runs f on the namespace's thread.
func (n *testNet) Do(f func()) {
	fin := make(chan struct{})
	n.work <- func() { defer close(fin); f() }
	<-fin
}

// Options returns collection options that read the test's namespace.
func (n *testNet) Options() sockscope.Options {
	if n.private {
		return sockscope.Options{NetNS: []string{n.path}}
	}
	return sockscope.Options{}
}
