//go:build linux

package sockdiag

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/nstest"
)

var capture = flag.Bool("capture", false, "record testdata/*.bin from the live kernel (root: uses a new network namespace)")

// inNewNetNS runs fn on an OS thread moved into a new, empty network
// namespace with lo up, and waits for it. The thread is never unlocked, so
// the runtime discards it when fn returns: no other goroutine ever runs in
// that namespace. Sockets fn creates keep the namespace alive until closed.
// It skips the test when unsharing is not permitted.
func inNewNetNS(t *testing.T, fn func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // deliberately never unlocked
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		if err := nstest.LoUp(); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	if err := <-errc; err != nil {
		if errors.Is(err, unix.EPERM) {
			t.Skipf("needs CAP_SYS_ADMIN for a network namespace: %v", err)
		}
		t.Fatal(err)
	}
}

// TestDialNetNS checks that a Conn dialled on a thread inside another
// namespace reports that namespace's sockets, from any thread.
func TestDialNetNS(t *testing.T) {
	var nsConn *Conn
	var ln net.Listener
	inNewNetNS(t, func() error {
		var err error
		if ln, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
			return err
		}
		nsConn, err = Dial()
		return err
	})
	defer ln.Close()
	defer nsConn.Close()
	ino := uint32(nstest.ConnInode(t, ln.(*net.TCPListener)))

	recs := dumpInet(t, nsConn, InetRequest{Family: unix.AF_INET, Protocol: ProtoTCP})
	if len(recs) != 1 || recs[0].Inode != ino || recSrc(recs[0]) != addrPort(ln.Addr()) {
		t.Errorf("namespace dump: %+v, want only the listener (inode %d)", recs, ino)
	}
	for _, r := range dumpInet(t, dial(t), InetRequest{Family: unix.AF_INET, Protocol: ProtoTCP}) {
		if r.Inode == ino {
			t.Errorf("host namespace dump shows the namespace's listener")
		}
	}
}

// TestCaptureFixtures records the testdata/*.bin replies that
// TestFixtures decodes. It runs only with -capture, as root: the scenario
// (fixed ports 7001-7022, fixed names) is built in a fresh network
// namespace so the dumps hold nothing else.
func TestCaptureFixtures(t *testing.T) {
	if !*capture {
		t.Skip("run with -capture to record testdata/*.bin")
	}
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	keep := func(c io.Closer) { closers = append(closers, c) }
	keepFD := func(fd int) { closers = append(closers, fdCloser(fd)) }
	files := map[string][]byte{}
	const pathName = "/tmp/sockscope-fixture.sock"
	os.Remove(pathName)
	defer os.Remove(pathName)

	inNewNetNS(t, func() error {
		c, err := Dial()
		if err != nil {
			return err
		}
		keep(c)
		record := func(name string, do func() error) error {
			var buf bytes.Buffer
			c.capture = func(b []byte) { buf.Write(b) }
			err := do()
			c.capture = nil
			files[name] = buf.Bytes()
			return err
		}

		// TCP over IPv4.
		ln, err := net.Listen("tcp4", "127.0.0.1:7001")
		if err != nil {
			return err
		}
		keep(ln)
		dialFrom := func(network, local, remote string) (net.Conn, net.Conn, error) {
			la, err := net.ResolveTCPAddr(network, local)
			if err != nil {
				return nil, nil, err
			}
			d := net.Dialer{LocalAddr: la}
			cl, err := d.Dial(network, remote)
			if err != nil {
				return nil, nil, err
			}
			keep(cl)
			return cl, nil, nil
		}
		if _, _, err := dialFrom("tcp4", "127.0.0.1:7002", "127.0.0.1:7001"); err != nil {
			return err
		}
		acc, err := ln.Accept()
		if err != nil {
			return err
		}
		keep(acc)
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		keepFD(fd)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Port: 7003, Addr: loop4.As4()}); err != nil {
			return err
		}
		tw, _, err := dialFrom("tcp4", "127.0.0.1:7004", "127.0.0.1:7001")
		if err != nil {
			return err
		}
		twSrv, err := ln.Accept()
		if err != nil {
			return err
		}
		tw.Close()
		io.Copy(io.Discard, twSrv)
		twSrv.Close()
		for i := 0; ; i++ {
			n, other := 0, 0
			c.DumpInet(InetRequest{Family: unix.AF_INET, Protocol: ProtoTCP}, func(r *InetRecord) error {
				if r.State == 6 {
					n++
				} else if r.State != 1 && r.State != 10 && r.State != 7 {
					other++
				}
				return nil
			})
			if n == 1 && other == 0 {
				break
			}
			if i == 500 {
				return errors.New("TIME_WAIT did not settle")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := record("tcp4.bin", func() error {
			return c.DumpInet(InetRequest{Family: unix.AF_INET, Protocol: ProtoTCP}, func(*InetRecord) error { return nil })
		}); err != nil {
			return err
		}
		if err := record("lookup_tcp4.bin", func() error {
			_, err := c.LookupInet(unix.AF_INET, ProtoTCP, netip.MustParseAddrPort("127.0.0.1:40000"), netip.MustParseAddrPort("127.0.0.1:7001"), 0)
			return err
		}); err != nil {
			return err
		}
		if err := record("lookup_enoent.bin", func() error {
			_, err := c.LookupInet(unix.AF_INET, ProtoTCP, netip.MustParseAddrPort("127.0.0.1:40000"), netip.MustParseAddrPort("127.0.0.1:7003"), 0)
			return err
		}); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("lookup of a bound-only port: %v, want ErrNotFound", err)
		}
		if err := record("raw4.bin", func() error {
			return c.DumpInet(InetRequest{Family: unix.AF_INET, Protocol: ProtoRaw}, func(*InetRecord) error { return nil })
		}); !errors.Is(err, ErrNotSupported) {
			return fmt.Errorf("raw dump: %v, want ErrNotSupported (fixture expects a kernel without raw diag)", err)
		}

		// TCP over IPv6.
		for _, a := range [][2]string{{"tcp6", "[::1]:7011"}, {"tcp", "[::]:7012"}} {
			ln, err := net.Listen(a[0], a[1])
			if err != nil {
				return err
			}
			keep(ln)
			if a[1] == "[::]:7012" {
				if _, _, err := dialFrom("tcp4", "127.0.0.1:7013", "127.0.0.1:7012"); err != nil {
					return err
				}
				acc, err := ln.Accept()
				if err != nil {
					return err
				}
				keep(acc)
			}
		}
		if err := record("tcp6.bin", func() error {
			return c.DumpInet(InetRequest{Family: unix.AF_INET6, Protocol: ProtoTCP}, func(*InetRecord) error { return nil })
		}); err != nil {
			return err
		}

		// UDP over IPv4.
		u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7021})
		if err != nil {
			return err
		}
		keep(u)
		uc, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7022}, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7021})
		if err != nil {
			return err
		}
		keep(uc)
		if err := record("udp4.bin", func() error {
			return c.DumpInet(InetRequest{Family: unix.AF_INET, Protocol: ProtoUDP}, func(*InetRecord) error { return nil })
		}); err != nil {
			return err
		}

		// Unix.
		abs, err := net.Listen("unix", "@sockscope-fixture")
		if err != nil {
			return err
		}
		keep(abs)
		queued, err := net.Dial("unix", "@sockscope-fixture")
		if err != nil {
			return err
		}
		keep(queued)
		pl, err := net.Listen("unix", pathName)
		if err != nil {
			return err
		}
		keep(pl)
		nul, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		keepFD(nul)
		if err := unix.Bind(nul, &unix.SockaddrUnix{Name: "@sock\x00scope"}); err != nil {
			return err
		}
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		keepFD(pair[0])
		keepFD(pair[1])
		return record("unix.bin", func() error {
			return c.DumpUnix(UnixRequest{Show: ShowName | ShowVFS | ShowPeer | ShowIcons | ShowRQLen | ShowUID},
				func(*UnixRecord) error { return nil })
		})
	})
	for name, b := range files {
		if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote testdata/%s (%d bytes)", name, len(b))
	}
}

type fdCloser int

func (fd fdCloser) Close() error { return unix.Close(int(fd)) }
