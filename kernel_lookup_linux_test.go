package sockscope

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/nstest"
)

// TestLookupSocket asks the kernel's lookup for a connection's 4-tuple, a
// new connection to its listener and a free port, and compares with the
// sockets this test created.
func TestLookupSocket(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	dst := netip.MustParseAddrPort(ln.Addr().String())
	src := netip.MustParseAddrPort(c.LocalAddr().String())
	ctx := context.Background()

	r, err := LookupSocket(ctx, Options{}, LookupRequest{Proto: TCP, Src: src, Dst: dst, Ifindex: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := nstest.ConnInode(t, a.(*net.TCPConn)); r.Inode != want || r.Cookie == 0 || r.Local != dst || r.Remote != src {
		t.Errorf("established: got %+v, want inode %d, %s -> %s", r, want, dst, src)
	}
	other := netip.MustParseAddrPort("127.0.0.1:1")
	r, err = LookupSocket(ctx, Options{}, LookupRequest{Proto: TCP, Src: other, Dst: dst, Ifindex: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := nstest.ConnInode(t, ln.(*net.TCPListener)); r.Inode != want {
		t.Errorf("new connection: got inode %d, want the listener's %d", r.Inode, want)
	}
	// A port nobody uses: find one, release it, ask.
	free, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAP := netip.MustParseAddrPort(free.Addr().String())
	free.Close()
	if _, err := LookupSocket(ctx, Options{}, LookupRequest{Proto: TCP, Src: other, Dst: freeAP, Ifindex: 1}); !errors.Is(err, ErrNoSocket) {
		t.Errorf("free port: error %v, want ErrNoSocket", err)
	}
	if _, err := LookupSocket(ctx, Options{}, LookupRequest{Proto: Raw, Src: other, Dst: dst}); err == nil {
		t.Error("raw lookup: no error")
	}
	if _, err := LookupSocket(ctx, Options{NetNS: []string{"a", "b"}}, LookupRequest{Proto: TCP, Src: other, Dst: dst}); err == nil {
		t.Error("two namespaces: no error")
	}
}

// TestInterfaces lists the interfaces of a private namespace the test
// creates (lo up, 127.0.0.1/8), both from inside it and by path from
// outside.
func TestInterfaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace")
	}
	type res struct {
		path string
		its  []Interface
		err  error
	}
	ready, done := make(chan res, 1), make(chan struct{})
	defer close(done)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ready <- res{err: err}
			return
		}
		if err := nstest.LoUp(); err != nil {
			ready <- res{err: err}
			return
		}
		its, err := Interfaces(context.Background(), Options{})
		ready <- res{path: fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid()), its: its, err: err}
		<-done
	}()
	in := <-ready
	if in.err != nil {
		t.Skipf("private namespace: %v", in.err)
	}
	out, err := Interfaces(context.Background(), Options{NetNS: []string{in.path}})
	if err != nil {
		t.Fatal(err)
	}
	for name, its := range map[string][]Interface{"inside": in.its, "by path": out} {
		if len(its) != 1 || !its[0].Loopback || its[0].Name != "lo" || its[0].Index == 0 ||
			!slices.Contains(its[0].Addrs, netip.MustParsePrefix("127.0.0.1/8")) {
			t.Errorf("%s: got %+v, want only lo with 127.0.0.1/8", name, its)
		}
	}
}
