package cli

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/internal/nstest"
)

// nsThread is an OS thread in a private network namespace (lo up) that
// runs functions on request: sockets it creates live in that namespace,
// and processes it starts inherit it.
type nsThread struct {
	path string // the namespace file, for --netns
	work chan func()
	done chan struct{}
}

// newNSThread starts one, or skips the test when namespaces cannot be
// created (not root). The thread is discarded at cleanup, which deletes
// the namespace and its sockets.
func newNSThread(t *testing.T) *nsThread {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace")
	}
	n := &nsThread{work: make(chan func()), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		defer close(n.done)
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ready <- err
			return
		}
		if err := nstest.LoUp(); err != nil {
			ready <- err
			return
		}
		n.path = fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		ready <- nil
		for fn := range n.work {
			fn()
		}
	}()
	if err := <-ready; err != nil {
		t.Skipf("cannot create a network namespace here: %v", err)
	}
	t.Cleanup(func() { close(n.work); <-n.done })
	return n
}

// do runs fn on the namespace's thread and waits for it.
func (n *nsThread) do(fn func()) {
	ch := make(chan struct{})
	n.work <- func() { fn(); close(ch) }
	<-ch
}

func sockaddrOf(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

func errnoText(err error) string {
	if e, ok := err.(unix.Errno); ok {
		return unix.ErrnoName(e)
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// kernelBind makes a TCP socket with the options, binds addr and closes
// it; it returns the errno name, "" on success. It must run on the
// namespace's thread.
func kernelBind(addr netip.AddrPort, reuseaddr, reuseport bool) string {
	fam := unix.AF_INET
	if addr.Addr().Is6() {
		fam = unix.AF_INET6
	}
	fd, err := unix.Socket(fam, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return "socket: " + err.Error()
	}
	defer unix.Close(fd)
	if reuseaddr {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	}
	if reuseport {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}
	return errnoText(unix.Bind(fd, sockaddrOf(addr)))
}

const bindAsEnv = "SOCKSCOPE_TEST_BIND_AS"

// TestBindAsHelper is not a test: run by TestBindCheckPrivilegedPort in a
// child process, it becomes the uid given in its environment (dropping
// every capability, as setuid from root to another uid does), binds a TCP
// socket to the address and prints the errno.
func TestBindAsHelper(t *testing.T) {
	spec := os.Getenv(bindAsEnv)
	if spec == "" {
		t.Skip("helper process for TestBindCheckPrivilegedPort")
	}
	uidText, addrText, _ := strings.Cut(spec, " ")
	uid, err := strconv.Atoi(uidText)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setgroups(nil); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setresgid(uid, uid, uid); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setresuid(uid, uid, uid); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("\nERRNO=%s\n", kernelBind(netip.MustParseAddrPort(addrText), false, false))
}

// bindAs binds addr in the namespace from a child process of that uid,
// and returns the errno name ("" on success).
func (n *nsThread) bindAs(t *testing.T, uid int, addr netip.AddrPort) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	n.do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, exe, "-test.run=^TestBindAsHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d %s", bindAsEnv, uid, addr))
		out, err = cmd.Output()
	})
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "ERRNO="); ok {
			return v
		}
	}
	t.Fatalf("helper printed no ERRNO line:\n%s", out)
	return ""
}

// TestBindCheckPrivilegedPort (issue 9 item 4): bind-check --uid U on a
// low port agrees with a real bind by a process of that uid, for ports on
// both sides of net.ipv4.ip_unprivileged_port_start, which is read from
// the target namespace (changed there, unlike the host's).
func TestBindCheckPrivilegedPort(t *testing.T) {
	ns := newNSThread(t)
	for _, start := range []int{1024, 500} {
		var werr error
		ns.do(func() {
			werr = os.WriteFile("/proc/sys/net/ipv4/ip_unprivileged_port_start", []byte(strconv.Itoa(start)), 0o644)
		})
		if werr != nil {
			t.Fatal(werr)
		}
		for _, port := range []int{80, 499, 500, 1023, 1024} {
			for _, uid := range []int{0, 1000} {
				addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
				var kernel string
				if uid == 0 {
					ns.do(func() { kernel = kernelBind(addr, false, false) })
				} else {
					kernel = ns.bindAs(t, uid, addr)
				}
				t.Logf("start %d port %d uid %d: kernel %q", start, port, uid, kernel)
				out, stderr, code := runCLI(t, "--netns", ns.path, "bind-check", "tcp", addr.String(), "--no-listen", "--uid", strconv.Itoa(uid), "-o", "json")
				r := decodeOracle(t, out)
				errno := ""
				if r.Errno != nil {
					errno = *r.Errno
				}
				want, wantCode := "ok", ExitOK
				if kernel != "" {
					want, wantCode = "fail", ExitError
				}
				if r.Verdict != want || errno != kernel || code != wantCode {
					t.Errorf("start %d, port %d, uid %d: bind-check %s %q (exit %d), kernel %q\n%s%s", start, port, uid, r.Verdict, errno, code, kernel, out, stderr)
				}
			}
		}
	}
}

// timeWaitServer makes, in the namespace, a listener on 0.0.0.0:port with
// SO_REUSEADDR (as nginx sets it) and n server-side TIME-WAIT sockets on
// 127.0.0.1:port (accepted connections the server closed first). It
// returns once the namespace holds n TIME-WAIT sockets on the port.
func timeWaitServer(t *testing.T, ns *nsThread, port uint16, n int) {
	t.Helper()
	var err error
	ns.do(func() {
		var l int
		l, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return
		}
		unix.SetsockoptInt(l, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if err = unix.Bind(l, sockaddrOf(netip.AddrPortFrom(netip.IPv4Unspecified(), port))); err != nil {
			return
		}
		if err = unix.Listen(l, 1024); err != nil {
			return
		}
		t.Cleanup(func() { unix.Close(l) })
		dst := sockaddrOf(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port))
		for range n {
			var c, a int
			if c, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err != nil {
				return
			}
			if err = unix.Connect(c, dst); err != nil {
				unix.Close(c)
				return
			}
			if a, _, err = unix.Accept4(l, unix.SOCK_CLOEXEC); err != nil {
				unix.Close(c)
				return
			}
			unix.Close(a) // the server closes first: its side ends in TIME-WAIT
			unix.Close(c)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		snap, cerr := sockscope.Collect(ctx, sockscope.Options{NetNS: []string{ns.path}, Protos: []sockscope.Proto{sockscope.TCP}})
		cancel()
		if cerr != nil {
			t.Fatal(cerr)
		}
		tw := 0
		for _, s := range snap.Sockets {
			if s.State == sockscope.TimeWait && s.Local.Port() == port {
				tw++
			}
		}
		if tw == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d TIME-WAIT sockets on :%d after 10 s, want %d", tw, port, n)
		}
		runtime.Gosched()
	}
}

// TestBindCheckReuseportBesideListener (issue 9 items 5 and 6): beside a
// listener without SO_REUSEPORT and hundreds of TIME-WAIT sockets, a
// SO_REUSEPORT bind of 0.0.0.0 fails with EADDRINUSE every time: the
// listener alone decides, the bind-bucket cache cannot help (the
// listener's listen() reset it, and no socket that passed the listener
// covers 0.0.0.0). The answer is "fail", not "depends", and the blockers
// print as two groups, not one line per socket.
func TestBindCheckReuseportBesideListener(t *testing.T) {
	const port, n = 8080, 300
	ns := newNSThread(t)
	timeWaitServer(t, ns, port, n)
	addr := netip.AddrPortFrom(netip.IPv4Unspecified(), port)
	var kernel string
	ns.do(func() { kernel = kernelBind(addr, false, true) })
	if kernel != "EADDRINUSE" {
		t.Fatalf("kernel: bind %s with SO_REUSEPORT: %q, want EADDRINUSE", addr, kernel)
	}

	bpfLoads := false
	if bp, err := sockscope.LoadBPF(); err == nil {
		bpfLoads = true
		bp.Close()
	}
	out, stderr, code := runCLI(t, "--netns", ns.path, "bind-check", "tcp", addr.String(), "--reuseport", "-o", "json")
	r := decodeOracle(t, out)
	if code != ExitError || r.Verdict != "fail" || r.Errno == nil || *r.Errno != kernel {
		t.Fatalf("bind-check: exit %d verdict %q, want exit 1, fail %s\n%s%s", code, r.Verdict, kernel, out, stderr)
	}
	if len(r.DependsOn) != 0 {
		t.Errorf("depends_on %v for a determined answer", r.DependsOn)
	}
	// JSON keeps every blocker, in groups: the listener, and the TIME-WAIT
	// sockets on 127.0.0.1.
	total := 0
	for _, g := range r.BlockerGroups {
		total += g.Count
		if g.Count != len(g.Sockets) {
			t.Errorf("group %s %s: count %d, %d sockets", g.State, g.Local, g.Count, len(g.Sockets))
		}
		switch g.State {
		case "LISTEN":
			if !g.Definite || g.Count != 1 {
				t.Errorf("listener group: definite %v count %d", g.Definite, g.Count)
			}
		case "TIME-WAIT":
			// Their flags are hidden from sock_diag; as root bind-check
			// reads them through BPF where it loads, and then knows that
			// each blocks (they lack SO_REUSEPORT, the new socket lacks
			// SO_REUSEADDR).
			if g.Count != n || g.Definite != bpfLoads {
				t.Errorf("TIME-WAIT group: definite %v count %d, want %d, definite %v (flags read through BPF: %v)", g.Definite, g.Count, n, bpfLoads, bpfLoads)
			}
		default:
			t.Errorf("unexpected group %s %s", g.State, g.Local)
		}
	}
	if len(r.BlockerGroups) != 2 || total != n+1 {
		t.Errorf("%d groups with %d blockers, want 2 groups with %d", len(r.BlockerGroups), total, n+1)
	}

	// The table: one line per group, whatever the number of sockets.
	out, _, _ = runCLI(t, "--netns", ns.path, "bind-check", "tcp", addr.String(), "--reuseport")
	if lines := strings.Count(out, "\n"); lines > 30 {
		t.Errorf("bind-check printed %d lines for %d blockers:\n%s", lines, n+1, out)
	}
	if !strings.Contains(out, "would fail (EADDRINUSE") || !strings.Contains(out, fmt.Sprintf("%d sockets: tcp TIME-WAIT", n)) {
		t.Errorf("table lacks the verdict or the TIME-WAIT group:\n%s", out)
	}
}
