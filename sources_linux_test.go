package sockscope_test

import (
	"context"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
)

// TestSourcesAgree: sock_diag and /proc/net report the same live sockets,
// with the same tuple, state and inode (/proc has no cookies).
func TestSourcesAgree(t *testing.T) {
	n := newTestNet(t)
	var socks []*sock
	n.Do(func() {
		l := newSock(t, unix.AF_INET, unix.SOCK_STREAM).bind4("127.0.0.1", 0).listen()
		c := newSock(t, unix.AF_INET, unix.SOCK_STREAM).connect4(l.local())
		u := newSock(t, unix.AF_INET, unix.SOCK_DGRAM).bind4("127.0.0.1", 0)
		uc := newSock(t, unix.AF_INET, unix.SOCK_DGRAM).connect4(u.local())
		x := newSock(t, unix.AF_UNIX, unix.SOCK_STREAM)
		if err := unix.Bind(x.fd, &unix.SockaddrUnix{Name: "@sockscope-sources-test"}); err != nil {
			t.Fatal(err)
		}
		x.listen()
		socks = []*sock{l, c, l.accept(), u, uc, x}
	})
	read := func(src sockscope.Source) map[uint64]*sockscope.Socket {
		o := n.Options()
		o.Source = src
		snap, err := sockscope.Collect(context.Background(), o)
		if err != nil {
			t.Fatalf("Collect(source %d): %v", src, err)
		}
		m := map[uint64]*sockscope.Socket{}
		for _, s := range snap.Sockets {
			if s.Inode != 0 {
				m[s.Inode] = s
			}
		}
		return m
	}
	nl, pr := read(sockscope.SourceNetlink), read(sockscope.SourceProc)
	for i, k := range socks {
		ino := k.inode()
		a, b := nl[ino], pr[ino]
		if a == nil || b == nil {
			t.Errorf("socket %d (inode %d): netlink found %v, /proc found %v", i, ino, a != nil, b != nil)
			continue
		}
		if a.Proto != b.Proto || a.State != b.State || a.Local != b.Local || a.Remote != b.Remote || a.Path != b.Path || a.Type != b.Type {
			t.Errorf("socket %d: netlink %v %v %v->%v %q, /proc %v %v %v->%v %q", i,
				a.Proto, a.State, a.Local, a.Remote, a.Path, b.Proto, b.State, b.Local, b.Remote, b.Path)
		}
		if a.Cookie == 0 || b.Cookie != 0 {
			t.Errorf("socket %d: cookies netlink=%d /proc=%d, want set and 0", i, a.Cookie, b.Cookie)
		}
	}
	// Every TCP/UDP socket /proc lists in this namespace, netlink lists too.
	if n.private {
		for ino, s := range pr {
			if nl[ino] == nil && s.Proto != sockscope.Unix {
				t.Errorf("/proc lists %v %v inode %d that netlink does not", s.Proto, s.Local, ino)
			}
		}
	}
}
