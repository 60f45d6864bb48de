package demux

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/sockscope/sockscope"
)

// fx builds hand-made snapshots. Sockets get increasing inodes (creation
// order) and cookies; flags records their hidden options.
type fx struct {
	snap  *sockscope.Snapshot
	flags map[*sockscope.Socket]Flags
	next  uint64
}

func newFx() *fx {
	return &fx{snap: &sockscope.Snapshot{}, flags: map[*sockscope.Socket]Flags{}, next: 100}
}

// opts for add.
type so struct {
	ra, rp, v6only sockscope.Tristate
	uid, dev       uint32
	remote         string
}

// add appends a socket: proto, local "addr:port" (an address in brackets
// or a v4-mapped one makes AF_INET6), state.
func (f *fx) add(proto sockscope.Proto, local string, st sockscope.State, o so) *sockscope.Socket {
	ap := netip.MustParseAddrPort(local)
	fam := sockscope.FamilyInet
	if strings.HasPrefix(local, "[") {
		fam = sockscope.FamilyInet6
	}
	f.next++
	s := &sockscope.Socket{
		Cookie: f.next, Inode: f.next, Family: fam, Proto: proto, State: st,
		Local: ap, UID: o.uid, Interface: o.dev,
	}
	if st == sockscope.TimeWait || st == sockscope.SynRecv {
		s.Inode = 0
		s.UID = 0
	}
	if fam == sockscope.FamilyInet6 && (st == sockscope.Listen || st == sockscope.Close) {
		s.V6Only = o.v6only
		if o.v6only == unknown {
			s.V6Only = no
			if !ap.Addr().IsUnspecified() && !ap.Addr().Is4In6() {
				s.V6Only = yes
			}
		}
	}
	if o.remote != "" {
		s.Remote = netip.MustParseAddrPort(o.remote)
	}
	f.flags[s] = Flags{ReuseAddr: o.ra, ReusePort: o.rp, V6Only: o.v6only}
	f.snap.Sockets = append(f.snap.Sockets, s)
	return s
}

// truth is a FlagFunc that knows every flag it was given.
func (f *fx) truth(s *sockscope.Socket) Flags { return f.flags[s] }

func wantVerdict(t *testing.T, got BindResult, verdict Verdict, errno string) {
	t.Helper()
	if got.Verdict != verdict || got.Errno != errno {
		t.Errorf("got %s/%s, want %s/%s\nrule: %s\ndepends: %v", got.Verdict, got.Errno, verdict, errno, got.Rule, got.DependsOn)
	}
}

func envRoot() Env {
	e := DefaultEnv()
	e.CanBindPrivileged = true
	return e
}
