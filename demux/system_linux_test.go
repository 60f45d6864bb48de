package demux

import (
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/nstest"

	"github.com/sockscope/sockscope"
)

// TestReadFlags reads the options of this process's own sockets through
// pidfd_getfd and compares with what was set.
func TestReadFlags(t *testing.T) {
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
		if got.ReuseAddr == unknown {
			t.Skipf("pidfd_getfd not permitted here (%+v)", got)
		}
		want := Flags{ReuseAddr: tri(tc.ra), ReusePort: tri(tc.rp)}
		if fam == sockscope.FamilyInet6 {
			want.V6Only = tri(tc.v6only)
		}
		if got != want {
			t.Errorf("%+v: got %+v, want %+v", tc, got, want)
		}
		// A wrong inode (fd reused by another socket) reads nothing.
		s.Inode++
		if got := ReadFlags(s); got != (Flags{}) {
			t.Errorf("inode mismatch read %+v", got)
		}
	}
	if got := ReadFlags(&sockscope.Socket{State: sockscope.TimeWait}); got != (Flags{}) {
		t.Errorf("TIME-WAIT: %+v", got)
	}
}

// TestLoadEnv compares LoadEnv with the sysctls and lo.
func TestLoadEnv(t *testing.T) {
	env, err := LoadEnv()
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
	if !env.isLocal(netip.MustParseAddr("127.1.2.3")) {
		t.Errorf("127.1.2.3 not local: %v", env.Local)
	}
	if env.isLocal(netip.MustParseAddr("192.0.2.77")) {
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
	res := CheckBind(nil, BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("127.0.0.1:1")}, env, nil)
	kerr := unix.Bind(fd, &unix.SockaddrInet4{Port: 1, Addr: [4]byte{127, 0, 0, 1}})
	if (kerr == nil) != (res.Verdict == OK) || (kerr != nil && res.Errno != errnoName(kerr)) {
		t.Errorf("bind 127.0.0.1:1: kernel %v, predicted %s %s", kerr, res.Verdict, res.Errno)
	}
}
