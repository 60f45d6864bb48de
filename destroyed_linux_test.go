package sockscope

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestWatchDestroyed closes a UDP socket this test opened and waits for the
// kernel's destroy event with its cookie, the one Collect reported; then
// cancelling the context closes the channel.
func TestWatchDestroyed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evc, err := WatchDestroyed(ctx)
	if err != nil {
		t.Skipf("no destroy events here: %v", err)
	}
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	local := c.LocalAddr().(*net.UDPAddr).AddrPort()
	snap, err := Collect(ctx, Options{Protos: []Proto{UDP}, LocalPort: local.Port()})
	if err != nil {
		t.Fatal(err)
	}
	var cookie uint64
	for _, s := range snap.Sockets {
		if s.Local.Port() == local.Port() && s.Local.Addr().Unmap() == local.Addr().Unmap() {
			cookie = s.Cookie
		}
	}
	if cookie == 0 {
		t.Fatalf("Collect did not report the socket on %v with a cookie", local)
	}
	before := time.Now()
	c.Close()
	deadline := time.After(10 * time.Second)
	for found := false; !found; {
		select {
		case ev, ok := <-evc:
			if !ok {
				t.Fatal("channel closed before the socket's event")
			}
			if ev.Cookie != cookie {
				continue // another socket of this namespace
			}
			found = true
			if ev.Proto != UDP || ev.Time.Before(before) {
				t.Errorf("event %+v: want proto udp, time after %v", ev, before)
			}
		case <-deadline:
			t.Fatalf("no destroy event for cookie %d within 10s", cookie)
		}
	}
	cancel()
	deadline = time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-evc:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel still open 10s after cancel")
		}
	}
}
