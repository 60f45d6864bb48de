package sysenv

import (
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
	"github.com/sockscope/sockscope/internal/nstest"
)

func errnoName(err error) string {
	if e, ok := err.(unix.Errno); ok {
		return unix.ErrnoName(e)
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// TestReadFlags reads the options of this process's own sockets through
// pidfd_getfd and compares with what was set.
func TestReadFlags(t *testing.T) {
	tri := sockscope.TristateOf
	for _, tc := range []struct {
		ra, rp, v6only bool
		fam            int
	}{{true, false, false, unix.AF_INET}, {false, true, false, unix.AF_INET}, {true, true, true, unix.AF_INET6}, {false, false, false, unix.AF_INET6}} {
		fd, err := unix.Socket(tc.fam, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		b := func(v bool) int {
			if v {
				return 1
			}
			return 0
		}
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, b(tc.ra))
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, b(tc.rp))
		fam := sockscope.FamilyInet
		if tc.fam == unix.AF_INET6 {
			fam = sockscope.FamilyInet6
			unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, b(tc.v6only))
		}
		s := &sockscope.Socket{Inode: nstest.FDInode(t, fd), Family: fam, Proto: sockscope.TCP,
			Holders: []sockscope.Holder{{Proc: &sockscope.Process{PID: os.Getpid()}, FD: fd}}}
		got := ReadFlags(s)
		unix.Close(fd)
		if got.ReuseAddr == sockscope.Unknown {
			t.Skipf("pidfd_getfd not permitted here (%+v)", got)
		}
		want := demux.Flags{ReuseAddr: tri(tc.ra), ReusePort: tri(tc.rp)}
		if fam == sockscope.FamilyInet6 {
			want.V6Only = tri(tc.v6only)
		}
		if got != want {
			t.Errorf("%+v: got %+v, want %+v", tc, got, want)
		}
		// A wrong inode (fd reused by another socket) reads nothing.
		s.Inode++
		if got := ReadFlags(s); got != (demux.Flags{}) {
			t.Errorf("inode mismatch read %+v", got)
		}
	}
	if got := ReadFlags(&sockscope.Socket{State: sockscope.TimeWait}); got != (demux.Flags{}) {
		t.Errorf("TIME-WAIT: %+v", got)
	}
}

func local(env demux.Env, a string) bool {
	ad := netip.MustParseAddr(a)
	for _, p := range env.Local {
		if p.Contains(ad) {
			return true
		}
	}
	return false
}

// TestLoad compares Load with the sysctls and lo of this namespace.
func TestLoad(t *testing.T) {
	env, err := Load()
	if err != nil {
		t.Logf("partial: %v", err)
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); err == nil {
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if int(env.UnprivilegedPortStart) != n {
			t.Errorf("UnprivilegedPortStart %d, sysctl %d", env.UnprivilegedPortStart, n)
		}
	}
	if _, ok := env.Interfaces["lo"]; !ok {
		t.Fatalf("no lo in %v", env.Interfaces)
	}
	if !local(env, "127.1.2.3") {
		t.Errorf("127.1.2.3 not local: %v", env.Local)
	}
	if local(env, "192.0.2.77") {
		t.Errorf("192.0.2.77 local: %v", env.Local)
	}
	if got, want := env.CanBindPrivileged, os.Geteuid() == 0; got != want {
		t.Errorf("CanBindPrivileged %v, euid %d", got, os.Geteuid())
	}
	// The prediction for a privileged port agrees with the kernel.
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	res := demux.CheckBind(nil, demux.BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("127.0.0.1:1")}, env, nil)
	kerr := unix.Bind(fd, &unix.SockaddrInet4{Port: 1, Addr: [4]byte{127, 0, 0, 1}})
	if (kerr == nil) != (res.Verdict == demux.OK) || (kerr != nil && res.Errno != errnoName(kerr)) {
		t.Errorf("bind 127.0.0.1:1: kernel %v, predicted %s %s", kerr, res.Verdict, res.Errno)
	}
}

// inFreshNetNS runs fn on a locked thread that has entered a new network
// namespace with lo up; the thread is discarded afterwards.
func inFreshNetNS(t *testing.T, fn func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace")
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		if err := nstest.LoUp(); err != nil {
			done <- err
			return
		}
		fn()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Skipf("cannot create a network namespace here: %v", err)
	}
}

// TestLoadFreshNamespace: in a new namespace with lo up, Load finds the
// defaults demux.DefaultEnv describes; after the namespace's sysctls are
// changed, Load reads the new values (those of the thread's namespace, not
// the host's).
func TestLoadFreshNamespace(t *testing.T) {
	var fresh, changed demux.Env
	var errs []error
	inFreshNetNS(t, func() {
		var err error
		fresh, err = Load()
		errs = append(errs, err)
		for path, v := range map[string]string{
			"/proc/sys/net/ipv4/ip_unprivileged_port_start": "500",
			"/proc/sys/net/ipv6/bindv6only":                 "1",
			"/proc/sys/net/ipv4/ip_nonlocal_bind":           "1",
			"/proc/sys/net/ipv4/ip_local_port_range":        "40000 40100",
		} {
			errs = append(errs, os.WriteFile(path, []byte(v), 0o644))
		}
		changed, err = Load()
		errs = append(errs, err)
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := demux.DefaultEnv()
	if fresh.UnprivilegedPortStart != want.UnprivilegedPortStart || fresh.BindV6Only != want.BindV6Only ||
		fresh.NonlocalBind != want.NonlocalBind || fresh.NonlocalBind6 != want.NonlocalBind6 || fresh.LocalPortRange != want.LocalPortRange {
		t.Errorf("fresh namespace: got %+v, DefaultEnv %+v", fresh, want)
	}
	if len(fresh.Interfaces) != 1 || fresh.Interfaces["lo"] != 1 {
		t.Errorf("fresh namespace interfaces %v, want lo only", fresh.Interfaces)
	}
	if !covered(fresh.Local, want.Local) || !covered(want.Local, fresh.Local) {
		t.Errorf("fresh namespace local %v, DefaultEnv %v", fresh.Local, want.Local)
	}
	if changed.UnprivilegedPortStart != 500 || !changed.BindV6Only || !changed.NonlocalBind || changed.LocalPortRange != [2]uint16{40000, 40100} {
		t.Errorf("after the sysctls changed: %+v", changed)
	}
}

// covered reports whether every prefix of a lies inside one of b.
func covered(a, b []netip.Prefix) bool {
	for _, x := range a {
		in := false
		for _, y := range b {
			in = in || y.Bits() <= x.Bits() && y.Contains(x.Addr())
		}
		if !in {
			return false
		}
	}
	return true
}
