//go:build linux

package sockdiag

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// dumpedCookie returns the cookie a dump reports for the one socket of
// family/protocol bound to local (SO_COOKIE is not used: on Linux 6.18 it
// was seen to disagree with dumps and events for TCP listeners).
func dumpedCookie(t *testing.T, family, protocol uint8, local netip.AddrPort) uint64 {
	t.Helper()
	c := dial(t)
	var cookies []uint64
	err := c.DumpInet(InetRequest{Family: family, Protocol: protocol, States: 0xffffffff, SPort: local.Port()}, func(r *InetRecord) error {
		if netip.AddrPortFrom(r.Src.Unmap(), r.SrcPort) == netip.AddrPortFrom(local.Addr().Unmap(), local.Port()) {
			cookies = append(cookies, r.Cookie)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies) != 1 {
		t.Fatalf("dump found %d sockets on %v, want 1", len(cookies), local)
	}
	return cookies[0]
}

// waitEvent reads events until one has cookie want (returning it) or the
// deadline passes.
func waitEvent(t *testing.T, ev *DestroyEvents, want uint64, within time.Duration) (InetRecord, bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	if err := ev.SetReadDeadline(deadline); err != nil {
		t.Fatal(err)
	}
	errFound := errors.New("found")
	var got InetRecord
	for time.Now().Before(deadline) {
		err := ev.Read(func(r *InetRecord) error {
			if r.Cookie == want {
				got = *r
				return errFound
			}
			return nil
		})
		switch {
		case errors.Is(err, errFound):
			return got, true
		case errors.Is(err, os.ErrDeadlineExceeded):
			return got, false
		case errors.Is(err, ErrEventsLost):
			continue
		case err != nil:
			t.Fatal(err)
		}
	}
	return got, false
}

// TestDestroyEventsLive closes a TCP listener, a UDP socket and a TCP6
// listener and expects one destroy event each, with the cookie SO_COOKIE
// gave. It needs no privilege, so it runs as root and as nobody.
func TestDestroyEventsLive(t *testing.T) {
	ev, err := SubscribeDestroy()
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	// With -capture, last holds the datagram Read saw most recently: the
	// one with the event waitEvent returned.
	var last []byte
	if *capture {
		ev.capture = func(b []byte) { last = bytes.Clone(b) }
	}

	type sock interface {
		Close() error
	}
	open := map[string]func() (sock, net.Addr, error){
		"tcp4": func() (sock, net.Addr, error) {
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				return nil, nil, err
			}
			return ln, ln.Addr(), nil
		},
		"udp4": func() (sock, net.Addr, error) {
			c, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				return nil, nil, err
			}
			return c, c.LocalAddr(), nil
		},
		"tcp6": func() (sock, net.Addr, error) {
			ln, err := net.Listen("tcp6", "[::1]:0")
			if err != nil {
				return nil, nil, err
			}
			return ln, ln.Addr(), nil
		},
	}
	for _, name := range []string{"tcp4", "udp4", "tcp6"} {
		t.Run(name, func(t *testing.T) {
			s, addr, err := open[name]()
			if err != nil {
				if name == "tcp6" {
					t.Skipf("no IPv6 loopback: %v", err)
				}
				t.Fatal(err)
			}
			wantProto := uint8(ProtoTCP)
			if name == "udp4" {
				wantProto = ProtoUDP
			}
			wantFamily := uint8(unix.AF_INET)
			if name == "tcp6" {
				wantFamily = unix.AF_INET6
			}
			cookie := dumpedCookie(t, wantFamily, wantProto, addrPort(addr))
			s.Close()
			r, ok := waitEvent(t, ev, cookie, 5*time.Second)
			if !ok {
				t.Fatalf("no destroy event for cookie %d within 5s", cookie)
			}
			if r.Protocol != wantProto || r.Inode != 0 {
				t.Errorf("event %+v: want protocol %d, inode 0", r, wantProto)
			}
			if r.Family != wantFamily {
				t.Errorf("event family %d, want %d", r.Family, wantFamily)
			}
			if *capture && name == "tcp4" {
				if err := os.WriteFile(filepath.Join("testdata", "destroy_tcp4.bin"), last, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// readWaiting reports whether some goroutine is parked in the network
// poller inside DestroyEvents.Read.
func readWaiting() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("[IO wait")) && bytes.Contains(g, []byte("(*DestroyEvents).Read")) {
			return true
		}
	}
	return false
}

// TestDestroyEventsClose checks that Close wakes a blocked Read, which then
// reports os.ErrClosed, and that the descriptor is gone.
func TestDestroyEventsClose(t *testing.T) {
	ev, err := SubscribeDestroy()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for {
			err := ev.Read(func(*InetRecord) error { return nil })
			if err != nil && !errors.Is(err, ErrEventsLost) {
				done <- err
				return
			}
		}
	}()
	// Close while Read waits in the poller, if it gets there within 5 s
	// (Close must end a Read that has not started yet the same way).
	for deadline := time.Now().Add(5 * time.Second); !readWaiting() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if err := ev.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("Read after Close: %v, want os.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked 5s after Close")
	}
	if err := ev.Close(); err == nil {
		t.Error("second Close returned nil")
	}
}
