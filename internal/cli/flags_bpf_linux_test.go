package cli

import (
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
)

// TestPortsShowReuseportBPF (issue 10): with --source bpf, the terminal
// ports view and `port N` name SO_REUSEPORT on the listeners that set it
// and on none other. Two listeners in a private namespace: one on
// 127.0.0.1:port with SO_REUSEPORT, one on 127.0.0.2:port without.
func TestPortsShowReuseportBPF(t *testing.T) {
	ns := newNSThread(t)
	bp, err := sockscope.LoadBPF()
	if err != nil {
		t.Skipf("BPF is not available here: %v", err)
	}
	bp.Close()
	const port = 8181
	listen := func(addr [4]byte, reuseport bool) {
		var fd int
		var err error
		ns.do(func() {
			fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return
			}
			if reuseport {
				if err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
					return
				}
			}
			if err = unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: addr}); err != nil {
				return
			}
			err = unix.Listen(fd, 4)
		})
		if err != nil {
			t.Fatalf("listen on %v:%d (reuseport %v): %v", addr, port, reuseport, err)
		}
		t.Cleanup(func() { unix.Close(fd) })
	}
	listen([4]byte{127, 0, 0, 1}, true)
	listen([4]byte{127, 0, 0, 2}, false)

	// lineWith returns the one line of out that contains s.
	lineWith := func(out, s string) string {
		t.Helper()
		var found []string
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, s) {
				found = append(found, l)
			}
		}
		if len(found) != 1 {
			t.Fatalf("%d lines contain %q, want 1:\n%s", len(found), s, out)
		}
		return found[0]
	}
	for _, args := range [][]string{
		{"--source", "bpf", "--netns", ns.path}, // the ports view
		{"--source", "bpf", "--netns", ns.path, "port", strconv.Itoa(port)},
	} {
		out, stderr, code := runCLITTY(t, args...)
		if code != 0 {
			t.Fatalf("sockscope %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
		withRP := lineWith(out, "LISTEN  127.0.0.1:"+strconv.Itoa(port))
		plain := lineWith(out, "LISTEN  127.0.0.2:"+strconv.Itoa(port))
		if !strings.Contains(withRP, "reuseport") {
			t.Errorf("%v: the SO_REUSEPORT listener's line lacks reuseport: %q", args, withRP)
		}
		if strings.Contains(plain, "reuse") {
			t.Errorf("%v: the plain listener's line names a flag: %q", args, plain)
		}
		if args[len(args)-2] != "port" {
			continue
		}
		// port N's socket list: a FLAGS column, "reuseport" and "-".
		header := strings.Fields(lineWith(out, "FLAGS"))
		col := -1
		for i, h := range header {
			if h == "FLAGS" {
				col = i
			}
		}
		for addr, want := range map[string]string{"127.0.0.1": "reuseport", "127.0.0.2": "-"} {
			var row []string
			for _, l := range strings.Split(out, "\n") {
				if f := strings.Fields(l); len(f) > col && f[0] == "tcp" && strings.HasPrefix(l, "tcp ") && strings.Contains(l, addr+":"+strconv.Itoa(port)) {
					row = f
				}
			}
			if row == nil || row[col] != want {
				t.Errorf("port %d's socket list: the row of %s has FLAGS %q, want %q:\n%s", port, addr, row, want, out)
			}
		}
	}
}
