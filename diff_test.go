package sockscope_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/sockscope/sockscope"
)

// TestDiffKeys: sockets with a cookie are matched by cookie and namespace,
// those without (read from /proc) by their whole key; a changed state,
// peer or queue is "changed".
func TestDiffKeys(t *testing.T) {
	ns1, ns2 := &sockscope.NetNS{Inode: 1}, &sockscope.NetNS{Inode: 2}
	tcp := func(cookie uint64, ns *sockscope.NetNS, local string, st sockscope.State, recvQ uint32) *sockscope.Socket {
		return &sockscope.Socket{Proto: sockscope.TCP, Family: sockscope.FamilyInet, Cookie: cookie, NetNS: ns, State: st,
			Local: netip.MustParseAddrPort(local), Remote: netip.MustParseAddrPort("127.0.0.1:9"), RecvQ: recvQ}
	}
	keep := tcp(1, ns1, "127.0.0.1:1", sockscope.Established, 0)
	sameCookieOtherNS := tcp(1, ns2, "127.0.0.1:1", sockscope.Established, 0)
	gone := tcp(2, ns1, "127.0.0.1:2", sockscope.Established, 0)
	queued := tcp(3, ns1, "127.0.0.1:3", sockscope.Established, 0)
	queuedNow := tcp(3, ns1, "127.0.0.1:3", sockscope.Established, 7)
	noCookie := tcp(0, ns1, "127.0.0.1:4", sockscope.Established, 0)
	noCookieAgain := tcp(0, ns1, "127.0.0.1:4", sockscope.Established, 0)
	noCookieNewState := tcp(0, ns1, "127.0.0.1:5", sockscope.CloseWait, 0)
	noCookieOldState := tcp(0, ns1, "127.0.0.1:5", sockscope.Established, 0)

	a := &sockscope.Snapshot{Sockets: []*sockscope.Socket{keep, gone, queued, noCookie, noCookieOldState}}
	b := &sockscope.Snapshot{Sockets: []*sockscope.Socket{keep, sameCookieOtherNS, queuedNow, noCookieAgain, noCookieNewState}}
	added, removed, changed := sockscope.Diff(a, b)
	// Without a cookie the state is part of the key: a new state is a
	// new socket.
	if want := []*sockscope.Socket{sameCookieOtherNS, noCookieNewState}; !slices.Equal(added, want) {
		t.Errorf("added = %v, want %v", added, want)
	}
	if want := []*sockscope.Socket{gone, noCookieOldState}; !slices.Equal(removed, want) {
		t.Errorf("removed = %v, want %v", removed, want)
	}
	if want := []*sockscope.Socket{queuedNow}; !slices.Equal(changed, want) {
		t.Errorf("changed = %v, want %v", changed, want)
	}
}
