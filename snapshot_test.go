//go:build linux

package sockscope_test

import (
	"context"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
)

// TestDiffLive: two snapshots around real changes differ by exactly those
// sockets, matched by cookie.
func TestDiffLive(t *testing.T) {
	n := newTestNet(t)
	var l, gone *sock
	n.Do(func() {
		l = newSock(t, unix.AF_INET, unix.SOCK_STREAM).bind4("127.0.0.1", 0).listen()
		gone = newSock(t, unix.AF_INET, unix.SOCK_DGRAM).bind4("127.0.0.1", 0)
	})
	snap := func() *sockscope.Snapshot {
		o := n.Options()
		s, err := sockscope.Collect(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := snap()
	goneIno := gone.inode()
	var c *sock
	n.Do(func() {
		gone.close()
		c = newSock(t, unix.AF_INET, unix.SOCK_STREAM).connect4(l.local())
	})
	b := snap()
	added, removed, changed := sockscope.Diff(a, b)
	has := func(list []*sockscope.Socket, ino uint64) bool {
		for _, s := range list {
			if s.Inode == ino {
				return true
			}
		}
		return false
	}
	if !has(added, c.inode()) {
		t.Errorf("the new client socket (inode %d) is not among the %d added", c.inode(), len(added))
	}
	if !has(removed, goneIno) {
		t.Errorf("the closed UDP socket (inode %d) is not among the %d removed", goneIno, len(removed))
	}
	if has(added, l.inode()) || has(removed, l.inode()) {
		t.Errorf("the unchanged listener is reported added or removed")
	}
	if n.private && (len(removed) != 1 || len(added) != 2) {
		// In a private namespace nothing else moves: the client and its
		// accepted end appear, the UDP socket goes.
		t.Errorf("added %d removed %d, want 2 and 1", len(added), len(removed))
	}
	for _, s := range changed {
		if s.Inode == l.inode() && s.RecvQ == 0 {
			t.Errorf("listener reported changed without a change")
		}
	}
}
