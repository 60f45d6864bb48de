//go:build linux

package cli

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/nstest"
)

// runMain calls Main with in-memory streams and returns the exit status,
// stdout and stderr.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := Main(ctx, args, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, Getenv: func(string) string { return "" }})
	return code, out.String(), errOut.String()
}

// TestBadInput checks that every mistake on the command line exits 2 with a
// message that quotes what was typed and says what would be valid.
func TestBadInput(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		quote string   // the bad input, as the message must show it
		valid []string // words of the "what is valid" part
	}{
		{"unknown flag", []string{"ls", "--bogus"}, "--bogus", []string{"--tcp", "--processes"}},
		{"unknown short flag", []string{"ls", "-Z"}, "'Z'", []string{"-t/--tcp"}},
		{"unknown root flag", []string{"--frobnicate"}, "--frobnicate", []string{"--output", "--netns"}},
		{"flag without value", []string{"ls", "-o"}, "-o", []string{"-o/--output"}},
		{"filter port 70000", []string{"ls", "sport", "=", ":70000"}, "70000", []string{"0-65535", ":SERVICE"}},
		{"filter port -1", []string{"ls", "dport", "=", ":-1"}, "-1", []string{"0-65535"}},
		{"filter unknown service", []string{"ls", "sport", "=", ":no-such-service"}, `"no-such-service"`, []string{":PORT"}},
		{"port 0", []string{"port", "0"}, `"0"`, []string{"1 to 65535"}},
		{"port 70000", []string{"port", "70000"}, `"70000"`, []string{"1 to 65535"}},
		{"short port 70000", []string{":70000"}, `":70000"`, []string{"1 to 65535"}},
		{"port unknown service", []string{"port", "no-such-service"}, `"no-such-service"`, []string{"1 to 65535", "service name"}},
		{"port bad proto", []string{"port", "sctp/80"}, `"sctp"`, []string{"tcp", "udp"}},
		{"pid http", []string{"ls", "pid", "http"}, `"http"`, []string{"PID"}},
		{"pid 0", []string{"ls", "pid", "0"}, `"0"`, []string{"1-2147483647"}},
		{"bad IPv4", []string{"ls", "dst", "300.1.1.1"}, `"300.1.1.1"`, []string{"ADDR/LEN"}},
		{"bad prefix", []string{"ls", "src", "10.0.0.0/40"}, "40", []string{"0-32"}},
		{"misspelt state", []string{"ls", "state", "establised"}, `"establised"`, []string{`"established"`, "time-wait"}},
		{"unknown keyword", []string{"ls", "frobnicate"}, `"frobnicate"`, []string{"state", "sport"}},
		{"no such pid", []string{"proc", "999999999"}, "999999999", []string{"PID of a running process", "name"}},
		{"no such name", []string{"proc", "no-such-proc"}, `"no-such-proc"`, []string{"PID", "ps -o comm"}},
		{"negative pid", []string{"proc", "-5"}, "-5", nil},
		{"bad output", []string{"-o", "yaml", "ls"}, `"yaml"`, []string{"table", "json", "ndjson"}},
		{"bad source", []string{"--source", "carrier-pigeon", "ls"}, `"carrier-pigeon"`, []string{"auto", "netlink", "proc"}},
		{"bad netns name", []string{"--netns", "sockscope-no-such-ns", "ls"}, `"sockscope-no-such-ns"`, []string{"ip netns name", "path", "PID"}},
		{"bad netns pid", []string{"--netns", "999999999", "ls"}, `"999999999"`, []string{"ip netns name", "PID"}},
		{"bad netns path", []string{"--netns", "/nonexistent/ns", "ls"}, `"/nonexistent/ns"`, nil},
		{"netns and -A", []string{"--netns", "1", "-A", "ls"}, "--netns", []string{"--all-netns"}},
		{"escape in flag", []string{"ls", "--\x1b[31m"}, `\x1b[31m`, []string{"--tcp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runMain(t, tt.args...)
			if code != ExitUsage {
				t.Errorf("%q: exit %d, want %d; stderr:\n%s", tt.args, code, ExitUsage, errOut)
			}
			if out != "" {
				t.Errorf("%q: stdout %q, want nothing", tt.args, out)
			}
			if !strings.Contains(errOut, tt.quote) {
				t.Errorf("%q: stderr does not quote %s:\n%s", tt.args, tt.quote, errOut)
			}
			for _, v := range tt.valid {
				if !strings.Contains(errOut, v) {
					t.Errorf("%q: stderr does not list %s as valid:\n%s", tt.args, v, errOut)
				}
			}
			if strings.ContainsAny(errOut, "\x1b\x07\r") {
				t.Errorf("%q: raw control bytes on stderr: %q", tt.args, errOut)
			}
		})
	}
}

// TestGoodInputNotUsage is the other side: valid spellings of the same
// things are not refused.
func TestGoodInputNotUsage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	for _, args := range [][]string{
		{"ls", "-tl", "sport", "=", ":" + port},
		{"ls", "-tl", "sport", "=", ":http"},
		{"ls", "state", "established"},
		{"port", port},
		{"-n", "port", "tcp/" + port},
		{"proc", strconv.Itoa(os.Getpid())},
		{"-o", "ndjson", "ls", "-tl"},
		{"--source", "proc", "ls", "-tl"},
	} {
		code, _, errOut := runMain(t, args...)
		if code != ExitOK {
			t.Errorf("%q: exit %d, want 0; stderr:\n%s", args, code, errOut)
		}
	}
}

// stuckProcRoot builds a proc root in which pids 4242 and 4243 hold the
// socket inode ino; 4242's comm is a FIFO nobody writes, so reading it
// blocks as a read behind a hung FUSE mount or of a process in D state
// would.
func stuckProcRoot(t *testing.T, ino uint64) string {
	t.Helper()
	root := t.TempDir()
	for _, pid := range []string{"4242", "4243"} {
		dir := filepath.Join(root, pid)
		if err := os.MkdirAll(filepath.Join(dir, "fd"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("socket:["+strconv.FormatUint(ino, 10)+"]", filepath.Join(dir, "fd", "3")); err != nil {
			t.Fatal(err)
		}
		status := "Name:\tx\nPPid:\t1\nUid:\t0\t0\t0\t0\n"
		if err := os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "4243", "comm"), []byte("answers\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(root, "4242", "comm")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	// Release the abandoned reader: opening for writing completes its open.
	t.Cleanup(func() {
		if fd, err := unix.Open(fifo, unix.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
			unix.Close(fd)
		}
	})
	return root
}

// TestStuckProc runs ls -p against a proc root with one stuck process. The
// listing must still end within the bound, exit 0, list the socket with the
// holder that answered, and say on stderr (one line) which process was
// skipped, in table and NDJSON output alike; JSON carries the warning.
func TestStuckProc(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ino := nstest.ConnInode(t, ln.(*net.TCPListener))
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	for _, format := range []string{"table", "ndjson", "json"} {
		t.Run(format, func(t *testing.T) {
			root := stuckProcRoot(t, ino)
			start := time.Now()
			code, out, errOut := runMain(t, "--proc-root", root, "-n", "-o", format, "ls", "-tlp", "sport", "=", ":"+port)
			took := time.Since(start)
			if code != ExitOK {
				t.Fatalf("exit %d, want 0; stderr:\n%s", code, errOut)
			}
			// The per-process bound is 1s and the whole scan's 5s.
			if took > 4*time.Second {
				t.Errorf("ls -p took %v with one stuck process, want under 4s", took)
			}
			if !strings.Contains(out, ":"+port) && !strings.Contains(out, `"local_port":`+port) {
				t.Errorf("the listener on port %s is missing:\n%s", port, out)
			}
			if !strings.Contains(out, "answers") {
				t.Errorf("the process that answered is not shown as holder:\n%s", out)
			}
			where := errOut
			if format == "json" {
				where = out
			}
			n := 0
			for _, l := range strings.Split(where, "\n") {
				if strings.Contains(l, "did not answer") && strings.Contains(l, "4242") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d lines name the stuck process 4242, want 1:\n%s", n, where)
			}
		})
	}
}

// FuzzParsePort checks that any port argument either parses to 1-65535 or
// is refused with a usage error quoting it, and never panics.
func FuzzParsePort(f *testing.F) {
	for _, s := range []string{"8080", ":8080", "tcp/80", "udp/:53", ":http", "0", "70000", "-1", "", ":", "sctp/1", "tcp/", "/", "http", "99999999999999999999", "\x1b[31m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		_, n, err := parsePort(arg)
		if err != nil {
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("parsePort(%q): %v is not a usage error", arg, err)
			}
			return
		}
		if n == 0 {
			t.Fatalf("parsePort(%q) = port 0 without an error", arg)
		}
	})
}
