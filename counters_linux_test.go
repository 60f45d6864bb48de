package sockscope_test

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/internal/procnet"
)

// fullListener opens, on the calling thread's namespace, a TCP listener on
// 127.0.0.1 with the given backlog and makes n non-blocking connections
// to it that are never accepted. It returns the listener's port and
// every fd, to close.
func fullListener(t *testing.T, backlog, n int) (uint16, []int) {
	t.Helper()
	var fds []int
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	fds = append(fds, lfd)
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(lfd, backlog); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(lfd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*unix.SockaddrInet4).Port
	for range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
		if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port}); err != nil && err != unix.EINPROGRESS {
			t.Fatal(err)
		}
	}
	return uint16(port), fds
}

// TestNetCounters: a listener whose accept queue is full makes the
// namespace's ListenOverflows and ListenDrops grow, and Collect with
// NetCounters reports them between a read of /proc/thread-self/net/netstat
// before and one after, in the same namespace.
func TestNetCounters(t *testing.T) {
	n := newTestNet(t)
	read := func() sockscope.NetCounters {
		var c sockscope.NetCounters
		var err error
		n.Do(func() {
			var m map[string]map[string]uint64
			m, err = procnet.FS{}.Netstat("thread-self/net/netstat")
			c = sockscope.NetCounters{ListenOverflows: m["TcpExt"]["ListenOverflows"], ListenDrops: m["TcpExt"]["ListenDrops"]}
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	before := read()
	var port uint16
	n.Do(func() {
		var fds []int
		port, fds = fullListener(t, 1, 5)
		t.Cleanup(func() {
			for _, fd := range fds {
				unix.Close(fd)
			}
		})
	})
	// The third SYN finds the queue (backlog+1 = 2) full and is dropped.
	deadline := time.Now().Add(10 * time.Second)
	for read().ListenOverflows == before.ListenOverflows {
		if time.Now().After(deadline) {
			t.Fatalf("ListenOverflows stayed %d for 10s after 5 connections to a listener with backlog 1", before.ListenOverflows)
		}
		time.Sleep(20 * time.Millisecond)
	}
	opts := n.Options()
	opts.NetCounters = true
	snap, err := sockscope.Collect(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	after := read()
	if len(snap.NetNS) != 1 || snap.NetNS[0].Counters == nil {
		t.Fatalf("namespaces %+v: want one, with counters (warnings %v)", snap.NetNS, snap.Warnings)
	}
	got := *snap.NetNS[0].Counters
	if got.ListenOverflows <= before.ListenOverflows || got.ListenOverflows > after.ListenOverflows {
		t.Errorf("ListenOverflows = %d, want in (%d, %d]", got.ListenOverflows, before.ListenOverflows, after.ListenOverflows)
	}
	if got.ListenDrops < got.ListenOverflows-before.ListenOverflows+before.ListenDrops || got.ListenDrops > after.ListenDrops {
		t.Errorf("ListenDrops = %d, want at least the overflows since the start (%d) and at most %d", got.ListenDrops, got.ListenOverflows-before.ListenOverflows+before.ListenDrops, after.ListenDrops)
	}
	// The listener's accept queue is full: backlog+1 connections wait.
	found := false
	for _, s := range snap.Sockets {
		if s.Proto == sockscope.TCP && s.State == sockscope.Listen && s.Local.Port() == port {
			found = true
			if s.RecvQ != 2 || s.SendQ != 1 {
				t.Errorf("listener queue %d/%d, want 2/1 (backlog+1 connections wait)", s.RecvQ, s.SendQ)
			}
		}
	}
	if !found {
		t.Errorf("listener on port %d not collected", port)
	}

	// Without the option, no counters are read.
	snap, err = sockscope.Collect(context.Background(), n.Options())
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range snap.NetNS {
		if ns.Counters != nil {
			t.Errorf("%s has counters without NetCounters", ns.Name)
		}
	}
}
