package cli

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
)

// TestBindCheckTimeWaitFlagsBPF: over a TIME-WAIT socket, whether a new
// bind succeeds turns on the SO_REUSEADDR of the socket that closed, which
// sock_diag does not tell. As root, bind-check reads it through BPF: for
// each combination of the closed socket's and the new socket's
// SO_REUSEADDR the answer is definite and is what a real bind does.
func TestBindCheckTimeWaitFlagsBPF(t *testing.T) {
	ns := newNSThread(t)
	bp, err := sockscope.LoadBPF()
	if err != nil {
		t.Skipf("BPF does not load here: %v", err)
	}
	bp.Close()
	lo := netip.MustParseAddr("127.0.0.1")
	for _, twReuse := range []bool{false, true} {
		for _, newReuse := range []bool{false, true} {
			var tw netip.AddrPort
			var setupErr error
			ns.do(func() { tw, setupErr = timeWaitClient(lo, twReuse) })
			if setupErr != nil {
				t.Fatal(setupErr)
			}
			// Poll (bounded) until the client's side is in TIME-WAIT.
			deadline := time.Now().Add(5 * time.Second)
			for {
				snap, err := sockscope.Collect(t.Context(), sockscope.Options{NetNS: []string{ns.path}, Protos: []sockscope.Proto{sockscope.TCP}})
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, s := range snap.Sockets {
					found = found || (s.State == sockscope.TimeWait && s.Local == tw)
				}
				if found {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no TIME-WAIT socket on %v after 5 s", tw)
				}
				time.Sleep(10 * time.Millisecond)
			}
			args := []string{"--netns", ns.path, "bind-check", "tcp", tw.String(), "--no-listen", "-o", "json"}
			if newReuse {
				args = append(args, "--reuseaddr")
			}
			out, stderr, code := runCLI(t, args...)
			r := decodeOracle(t, out)
			var kernel string
			ns.do(func() { kernel = kernelBind(tw, newReuse, false) })
			want, wantCode := "ok", ExitOK
			if kernel != "" {
				want, wantCode = "fail", ExitError
			}
			errno := ""
			if r.Errno != nil {
				errno = *r.Errno
			}
			name := "time-wait reuseaddr " + strconv.FormatBool(twReuse) + ", new reuseaddr " + strconv.FormatBool(newReuse)
			t.Logf("%s: kernel %q, bind-check %s %q", name, kernel, r.Verdict, errno)
			if r.Verdict != want || errno != kernel || code != wantCode || len(r.DependsOn) != 0 {
				t.Errorf("%s: bind-check %s %q (exit %d, depends on %v), kernel %q\n%s%s", name, r.Verdict, errno, code, r.DependsOn, kernel, out, stderr)
			}
		}
	}
}

// timeWaitClient leaves a TIME-WAIT socket on lo: a client with
// SO_REUSEADDR as given connects to a listener and closes first. It returns
// the client's address. It must run on the namespace's thread.
func timeWaitClient(lo netip.Addr, reuse bool) (netip.AddrPort, error) {
	l, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return netip.AddrPort{}, err
	}
	defer unix.Close(l)
	if err := unix.Bind(l, sockaddrOf(netip.AddrPortFrom(lo, 0))); err != nil {
		return netip.AddrPort{}, err
	}
	if err := unix.Listen(l, 4); err != nil {
		return netip.AddrPort{}, err
	}
	lsa, err := unix.Getsockname(l)
	if err != nil {
		return netip.AddrPort{}, err
	}
	c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return netip.AddrPort{}, err
	}
	defer unix.Close(c)
	v := 0
	if reuse {
		v = 1
	}
	if err := unix.SetsockoptInt(c, unix.SOL_SOCKET, unix.SO_REUSEADDR, v); err != nil {
		return netip.AddrPort{}, err
	}
	if err := unix.Bind(c, sockaddrOf(netip.AddrPortFrom(lo, 0))); err != nil {
		return netip.AddrPort{}, err
	}
	if err := unix.Connect(c, lsa); err != nil {
		return netip.AddrPort{}, err
	}
	a, _, err := unix.Accept4(l, unix.SOCK_CLOEXEC)
	if err != nil {
		return netip.AddrPort{}, err
	}
	csa, err := unix.Getsockname(c)
	if err != nil {
		unix.Close(a)
		return netip.AddrPort{}, err
	}
	unix.Close(c) // the client closes first: its side ends in TIME-WAIT
	unix.Close(a)
	sa := csa.(*unix.SockaddrInet4)
	return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), nil
}
