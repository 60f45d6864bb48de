package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/netns"
)

// demuxDoc is the demux JSON document as a client reads it.
type demuxDoc struct {
	Verdict      string       `json:"verdict"`
	Ambiguity    []string     `json:"ambiguity"`
	Socket       *jsonSocket  `json:"socket"`
	Candidates   []jsonSocket `json:"candidates"`
	KernelPick   bool         `json:"kernel_pick"`
	Group        []jsonSocket `json:"group"`
	KernelAgrees *bool        `json:"kernel_agrees"`
	Kernel       *struct {
		Socket *struct {
			Cookie uint64 `json:"cookie"`
			Inode  uint64 `json:"inode"`
			Local  string `json:"local"`
		} `json:"socket"`
		Error *string `json:"error"`
	} `json:"kernel"`
	Steps []struct {
		Name   string `json:"name"`
		Detail string `json:"detail"`
	} `json:"steps"`
}

func runDemuxJSON(t *testing.T, args ...string) demuxDoc {
	t.Helper()
	out, stderr, code := runCLI(t, append(args, "-o", "json")...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	var d demuxDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v: invalid JSON: %v\n%s", args, err, out)
	}
	return d
}

// demuxNS is a named namespace with lo up and a veth pair: v0 has
// 10.77.0.1/24, so 10.77.0.2 is routable but not local.
func demuxNS(t *testing.T) (name string, ns netns.NS) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) is not installed")
	}
	name = fmt.Sprintf("sockscope-demux-%d-%06d", os.Getpid(), rand.IntN(1e6))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "v0", "type", "veth", "peer", "name", "v1"},
		{"addr", "add", "10.77.0.1/24", "dev", "v0"},
		{"link", "set", "v0", "up"},
		{"link", "set", "v1", "up"},
	} {
		if out, err := exec.Command("ip", append([]string{"-n", name}, args...)...).CombinedOutput(); err != nil {
			t.Skipf("ip -n %s %v: %v: %s", name, args, err, out)
		}
	}
	ns, err := netns.Resolve(name, "/proc")
	if err != nil {
		t.Fatal(err)
	}
	return name, ns
}

// socketIn creates a socket in ns, bound to addr:port with SO_REUSEADDR,
// listening when tcp; it is closed when the test ends.
func socketIn(t *testing.T, ns netns.NS, typ int, addr [4]byte, port int) (fd int, inode uint64) {
	t.Helper()
	err := netns.Do(ns, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			return err
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: addr}); err != nil {
			return err
		}
		if typ == unix.SOCK_STREAM {
			return unix.Listen(fd, 8)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return fd, st.Ino
}

// TestDemuxNotLocal (issue 9 item 7c): a destination that is not an
// address of the namespace is not delivered locally at all, even with a
// wildcard listener on the port; the kernel's routing agrees (route get
// says "local" only for the namespace's own address) and a connection to
// it never reaches the listener, while one to the local address does.
func TestDemuxNotLocal(t *testing.T) {
	name, ns := demuxNS(t)
	const port = 7300
	lfd, linode := socketIn(t, ns, unix.SOCK_STREAM, [4]byte{}, port)

	d := runDemuxJSON(t, "--netns", name, "demux", "tcp", "10.77.0.1:40000", "10.77.0.2:"+strconv.Itoa(port))
	if d.Verdict != "not-local" || d.Socket != nil || len(d.Candidates) != 0 || d.Kernel != nil || d.KernelAgrees != nil {
		t.Errorf("10.77.0.2: verdict %q socket %v candidates %d kernel %v, want not-local with no socket and the kernel not asked", d.Verdict, d.Socket, len(d.Candidates), d.Kernel)
	}
	out, _, _ := runCLI(t, "--netns", name, "demux", "tcp", "10.77.0.1:40000", "10.77.0.2:"+strconv.Itoa(port))
	if !strings.Contains(out, "Not delivered locally") || strings.Contains(out, "answers with a reset") {
		t.Errorf("table output:\n%s", out)
	}
	d = runDemuxJSON(t, "--netns", name, "demux", "tcp", "10.77.0.9:40000", "10.77.0.1:"+strconv.Itoa(port))
	if d.Verdict != "socket" || d.Socket == nil || d.Socket.Inode != linode || d.KernelAgrees == nil || !*d.KernelAgrees {
		t.Errorf("10.77.0.1: verdict %q socket %+v agrees %v, want the listener (inode %d), confirmed", d.Verdict, d.Socket, d.KernelAgrees, linode)
	}

	// The kernel's routing decision.
	for _, c := range []struct {
		dst   string
		local bool
	}{{"10.77.0.1", true}, {"10.77.0.2", false}} {
		out, err := exec.Command("ip", "-n", name, "route", "get", c.dst).CombinedOutput()
		if err != nil {
			t.Fatalf("ip route get %s: %v: %s", c.dst, err, out)
		}
		if got := strings.HasPrefix(string(out), "local "); got != c.local {
			t.Errorf("route get %s: %q, local %v, want %v", c.dst, out, got, c.local)
		}
	}
	// And delivery: a connection to 10.77.0.1 is accepted; one to
	// 10.77.0.2 leaves through v0 and never reaches the listener.
	for _, c := range []struct {
		dst      [4]byte
		accepted bool
	}{{[4]byte{10, 77, 0, 1}, true}, {[4]byte{10, 77, 0, 2}, false}} {
		err := netns.Do(ns, func() error {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			if err := unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: c.dst}); err != nil && !errors.Is(err, unix.EINPROGRESS) {
				return fmt.Errorf("connect %v: %w", c.dst, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// A loopback handshake completes within the connect call's
		// softirq; poll the accept queue briefly, bounded.
		got := false
		for deadline := time.Now().Add(300 * time.Millisecond); !got && time.Now().Before(deadline); {
			pfd := []unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}
			if n, _ := unix.Poll(pfd, 50); n > 0 {
				if nfd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC); err == nil {
					unix.Close(nfd)
					got = true
				}
			}
		}
		if got != c.accepted {
			t.Errorf("connect to %v: accepted %v, want %v", c.dst, got, c.accepted)
		}
	}
}

// TestDemuxUDPTie (issue 9 item 7a) through the command: two unconnected
// UDP sockets on one address without SO_REUSEPORT; demux names the newer
// one (no hash), the kernel's own lookup returns the same socket (its
// cookie and inode are in the JSON), and a datagram goes there.
func TestDemuxUDPTie(t *testing.T) {
	name, ns := demuxNS(t)
	const port = 7301
	lo := [4]byte{10, 77, 0, 1}
	_, oldInode := socketIn(t, ns, unix.SOCK_DGRAM, lo, port)
	newFD, newInode := socketIn(t, ns, unix.SOCK_DGRAM, lo, port)

	d := runDemuxJSON(t, "--netns", name, "demux", "udp", "10.77.0.1:40000", "10.77.0.1:"+strconv.Itoa(port))
	if d.Verdict != "socket" || d.Socket == nil || d.Socket.Inode != newInode || len(d.Ambiguity) != 0 {
		t.Fatalf("verdict %q ambiguity %v socket %+v, want the newer socket (inode %d; older %d)", d.Verdict, d.Ambiguity, d.Socket, newInode, oldInode)
	}
	if d.KernelAgrees == nil || !*d.KernelAgrees || d.Kernel == nil || d.Kernel.Socket == nil ||
		d.Kernel.Socket.Inode != newInode || d.Kernel.Socket.Cookie != d.Socket.Cookie {
		t.Errorf("kernel %+v agrees %v, want the same socket (inode %d, cookie %d)", d.Kernel, d.KernelAgrees, newInode, d.Socket.Cookie)
	}
	for _, s := range d.Steps {
		if strings.Contains(s.Detail, "possible receivers") {
			t.Errorf("step %s speaks of several receivers: %s", s.Name, s.Detail)
		}
	}
	// The kernel delivers a datagram to the newer socket.
	err := netns.Do(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Port: 40000, Addr: lo}); err != nil {
			return err
		}
		return unix.Sendto(fd, []byte("x"), 0, &unix.SockaddrInet4{Port: port, Addr: lo})
	})
	if err != nil {
		t.Fatal(err)
	}
	pfd := []unix.PollFd{{Fd: int32(newFD), Events: unix.POLLIN}}
	if n, _ := unix.Poll(pfd, 2000); n != 1 {
		t.Errorf("the newer socket did not receive the datagram")
	}
}

// TestDemuxReuseportGroup (issue 10, "demux names one socket") through the
// command: a SO_REUSEPORT group of three TCP listeners; for random sources
// demux answers one socket, picked by the kernel's own lookup from the
// group, and a connection from that source is accepted by exactly that
// listener.
func TestDemuxReuseportGroup(t *testing.T) {
	name, ns := demuxNS(t)
	const port = 7302
	lo := [4]byte{10, 77, 0, 1}
	var fds []int
	inodes := map[uint64]int{} // inode -> fd
	err := netns.Do(ns, func() error {
		for range 3 {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
			if err != nil {
				return err
			}
			fds = append(fds, fd)
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
				return err
			}
			if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: lo}); err != nil {
				return err
			}
			if err := unix.Listen(fd, 8); err != nil {
				return err
			}
			var st unix.Stat_t
			if err := unix.Fstat(fd, &st); err != nil {
				return err
			}
			inodes[st.Ino] = fd
		}
		return nil
	})
	t.Cleanup(func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	dst := "10.77.0.1:" + strconv.Itoa(port)
	seen := map[uint64]bool{}
	for i := range 8 {
		sport := 20000 + rand.IntN(40000)
		src := "10.77.0.1:" + strconv.Itoa(sport)
		d := runDemuxJSON(t, "--netns", name, "demux", "tcp", src, dst)
		if d.Verdict != "socket" || d.Socket == nil || !d.KernelPick || len(d.Group) != 3 || len(d.Ambiguity) != 0 {
			t.Fatalf("from %s: verdict %q kernel_pick %v group %d ambiguity %v, want one socket the kernel picked from the group of 3", src, d.Verdict, d.KernelPick, len(d.Group), d.Ambiguity)
		}
		if d.Steps[len(d.Steps)-1].Name != "reuseport" {
			t.Errorf("from %s: last step %q, want reuseport", src, d.Steps[len(d.Steps)-1].Name)
		}
		if i == 0 {
			out, _, _ := runCLI(t, "--netns", name, "demux", "tcp", src, dst)
			if !strings.Contains(out, "Chosen among 3 possible receivers by the kernel's own lookup") {
				t.Errorf("table lacks the kernel's pick:\n%s", out)
			}
		}
		// Connect from src; exactly the named listener accepts.
		err := netns.Do(ns, func() error {
			c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(c)
			unix.SetsockoptLinger(c, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
			if err := unix.Bind(c, &unix.SockaddrInet4{Port: sport, Addr: lo}); err != nil {
				return err
			}
			if err := unix.Connect(c, &unix.SockaddrInet4{Port: port, Addr: lo}); err != nil {
				return err
			}
			pfd := []unix.PollFd{{Fd: int32(inodes[d.Socket.Inode]), Events: unix.POLLIN}}
			if n, _ := unix.Poll(pfd, 2000); n != 1 {
				return fmt.Errorf("from %s: the named listener (inode %d) has nothing to accept", src, d.Socket.Inode)
			}
			nfd, _, err := unix.Accept4(inodes[d.Socket.Inode], unix.SOCK_CLOEXEC)
			if err != nil {
				return fmt.Errorf("accept on the named listener: %w", err)
			}
			unix.Close(nfd)
			for ino, fd := range inodes {
				if ino == d.Socket.Inode {
					continue
				}
				if nfd, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC); err == nil {
					unix.Close(nfd)
					return fmt.Errorf("from %s: listener inode %d also had a connection", src, ino)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		seen[d.Socket.Inode] = true
	}
	t.Logf("8 connections over %d of the 3 listeners, each where demux said", len(seen))
}

// TestDemuxUsage: namespace flags that name more than one namespace and an
// unknown --device are usage errors that say what would work.
func TestDemuxUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--all-netns", "demux", "tcp", "127.0.0.1:1", "127.0.0.1:80"}, []string{"--netns NAME"}},
		{[]string{"demux", "--device", "no-such-dev0", "tcp", "127.0.0.1:1", "127.0.0.1:80"}, []string{`"no-such-dev0"`, "lo"}},
	} {
		_, stderr, code := runCLI(t, c.args...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want %d: %s", c.args, code, ExitUsage, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr lacks %q: %s", c.args, w, stderr)
			}
		}
	}
}
