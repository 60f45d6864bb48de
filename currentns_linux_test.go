package sockscope_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/internal/netns"
	"github.com/sockscope/sockscope/internal/nstest"
)

// collectOwnNS collects the calling thread's own namespace (no NetNS
// option) with only TCP read, the way `nsenter --net=... sockscope` does.
func collectOwnNS(t *testing.T) (*sockscope.Snapshot, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return sockscope.Collect(ctx, sockscope.Options{Protos: []sockscope.Proto{sockscope.TCP}})
}

// TestCurrentNetNSName runs a collection from a thread inside a named
// namespace (ip netns add), as `nsenter --net=/run/netns/NAME sockscope`
// runs it: the namespace and its sockets must carry the name, not "host".
// In an unnamed private namespace the label is netns:INODE.
func TestCurrentNetNSName(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating a named network namespace needs root")
	}
	name := fmt.Sprintf("sockscope-test-cur-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	ns, err := netns.Resolve(name, "")
	if err != nil {
		t.Fatal(err)
	}

	var snap *sockscope.Snapshot
	var port uint16
	err = netns.Do(ns, func() error {
		if err := nstest.LoUp(); err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return err
		}
		if err := unix.Listen(fd, 1); err != nil {
			return err
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return err
		}
		port = uint16(sa.(*unix.SockaddrInet4).Port)
		snap, err = collectOwnNS(t)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.NetNS) != 1 || snap.NetNS[0].Name != name || snap.NetNS[0].Inode != ns.Inode {
		t.Fatalf("namespaces = %+v, want one: %s, net:[%d]", snap.NetNS, name, ns.Inode)
	}
	found := false
	for _, s := range snap.Sockets {
		if s.State == sockscope.Listen && s.Local.Port() == port {
			found = true
			if s.NetNS == nil || s.NetNS.Name != name {
				t.Errorf("the listener on :%d is labelled %v, want %s", port, s.NetNS, name)
			}
		}
	}
	if !found {
		t.Errorf("the listener on :%d created in %s was not collected", port, name)
	}

	// An unnamed namespace: netns:INODE.
	tn := newTestNet(t)
	var inode uint64
	tn.Do(func() {
		var st unix.Stat_t
		if err = unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
			return
		}
		inode = st.Ino
		snap, err = collectOwnNS(t)
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "netns:" + strconv.FormatUint(inode, 10); len(snap.NetNS) != 1 || snap.NetNS[0].Name != want {
		t.Errorf("unnamed namespace labelled %+v, want %s", snap.NetNS, want)
	}
}

// TestCurrentNetNSHost: the test's own namespace is "host" exactly when it
// is the initial namespace (when that can be told).
func TestCurrentNetNSHost(t *testing.T) {
	init, err := netns.Initial("")
	if err != nil {
		t.Skipf("the initial namespace cannot be read here: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		t.Fatal(err)
	}
	snap, err := collectOwnNS(t)
	if err != nil {
		t.Fatal(err)
	}
	isHost := snap.NetNS[0].Name == "host"
	if want := st.Ino == init.Inode; isHost != want {
		t.Errorf("own namespace net:[%d] labelled %q; the initial one is net:[%d]", st.Ino, snap.NetNS[0].Name, init.Inode)
	}
}
