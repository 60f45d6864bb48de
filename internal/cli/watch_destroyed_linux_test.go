package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWatchDestroyed: UDP sockets bound to one loopback port and closed
// one after another are each reported by watch --destroyed with their
// cookie (SO_COOKIE) and address, as ss -E reports them; no privilege.
func TestWatchDestroyed(t *testing.T) {
	// A free port: bind to 0 and read it back.
	probe, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(probe, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(probe)
	port := sa.(*unix.SockaddrInet4).Port
	// Its destroy event may come after a watch started: it counts as one
	// of the sockets closed.
	probeCookie, err := unix.GetsockoptUint64(probe, unix.SOL_SOCKET, unix.SO_COOKIE)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(probe)

	// Every socket the test closed on the port: an event may arrive late,
	// in the next pass.
	cookies := map[uint64]bool{probeCookie: true}
	for _, output := range []string{"ndjson", "table"} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var out, errb bytes.Buffer
		done := make(chan int, 1)
		go func() {
			done <- Main(ctx, []string{"watch", "--destroyed", "-u", "--count", "2", "-o", output, "sport", "=", ":" + strconv.Itoa(port)},
				IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, Getenv: func(string) string { return "" }})
		}()
		// Until the watch has heard two: bind and close a socket on the
		// port every 20 ms (the subscription starts at an unknown time).
		code := -1
		tick := time.NewTicker(20 * time.Millisecond)
	loop:
		for i := 0; i < 500; i++ {
			select {
			case code = <-done:
				break loop
			case <-tick.C:
			}
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port}); err != nil {
				unix.Close(fd)
				t.Fatalf("bind 127.0.0.1:%d: %v", port, err)
			}
			c, err := unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_COOKIE)
			if err != nil {
				t.Fatal(err)
			}
			cookies[c] = true
			unix.Close(fd)
		}
		tick.Stop()
		cancel()
		if code == -1 {
			code = <-done
		}
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", output, code, errb.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("%s: %d lines, want 2 (--count 2):\n%s", output, len(lines), out.String())
		}
		for _, l := range lines {
			var cookie uint64
			if output == "ndjson" {
				var ev struct {
					Event, Source string
					Socket        jsonSocket
				}
				if err := json.Unmarshal([]byte(l), &ev); err != nil {
					t.Fatalf("bad line %q: %v", l, err)
				}
				if ev.Event != "removed" || ev.Source != "destroy-event" || ev.Socket.Proto != "udp" || ev.Socket.Local != "127.0.0.1:"+strconv.Itoa(port) {
					t.Errorf("event %+v", ev)
				}
				cookie = ev.Socket.Cookie
			} else {
				f := strings.Split(l, "\t")
				if len(f) != 5 || f[1] != "udp" || f[2] != "127.0.0.1:"+strconv.Itoa(port) {
					t.Errorf("line %q", l)
					continue
				}
				cookie, _ = strconv.ParseUint(f[4], 10, 64)
			}
			if !cookies[cookie] {
				t.Errorf("%s: cookie %d is not one of the sockets closed", output, cookie)
			}
		}
	}
}

func TestWatchDestroyedUsage(t *testing.T) {
	for _, args := range [][]string{
		{"watch", "--destroyed", "-o", "json"},
		{"watch", "--destroyed", "--netns", "1"},
		{"watch", "--destroyed", "proc", "nginx"},
		{"watch", "--destroyed", "--count", "-1"},
	} {
		if _, stderr, code := runCLI(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, ExitUsage, stderr)
		}
	}
}
