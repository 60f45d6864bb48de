package lab

import (
	"fmt"
	"net/netip"
	"syscall"
	"testing"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
)

func TestCompareBind(t *testing.T) {
	inUse := fmt.Errorf("bind: %w", syscall.EADDRINUSE)
	tests := []struct {
		name   string
		r      demux.BindResult
		kernel error
		want   Agreement
	}{
		{"ok ok", demux.BindResult{Verdict: demux.OK}, nil, Agree},
		{"ok but failed", demux.BindResult{Verdict: demux.OK}, inUse, Disagree},
		{"fail failed", demux.BindResult{Verdict: demux.Fail, Errno: "EADDRINUSE"}, inUse, Agree},
		{"fail but ok", demux.BindResult{Verdict: demux.Fail, Errno: "EADDRINUSE"}, nil, Disagree},
		{"fail other errno", demux.BindResult{Verdict: demux.Fail, Errno: "EACCES"}, inUse, Disagree},
		{"depends ok", demux.BindResult{Verdict: demux.Depends, Errno: "EADDRINUSE"}, nil, Undecided},
		{"depends failed", demux.BindResult{Verdict: demux.Depends, Errno: "EADDRINUSE"}, inUse, Undecided},
		{"depends other errno", demux.BindResult{Verdict: demux.Depends, Errno: "EACCES"}, inUse, Disagree},
	}
	for _, tt := range tests {
		if got := compareBind(tt.r, tt.kernel); got != tt.want {
			t.Errorf("%s: compareBind = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestCompareLookup(t *testing.T) {
	a, b, c := &sockscope.Socket{Inode: 1}, &sockscope.Socket{Inode: 2}, &sockscope.Socket{Inode: 3}
	tw := &sockscope.Socket{State: sockscope.TimeWait, Local: netip.MustParseAddrPort("127.0.0.1:80"), Remote: netip.MustParseAddrPort("127.0.0.1:5000")}
	tw2 := *tw
	tests := []struct {
		name string
		r    demux.LookupResult
		got  *sockscope.Socket
		want Agreement
	}{
		{"one right", demux.LookupResult{Verdict: demux.One, Socket: a}, &sockscope.Socket{Inode: 1}, Agree},
		{"one wrong", demux.LookupResult{Verdict: demux.One, Socket: a}, b, Disagree},
		{"one but none", demux.LookupResult{Verdict: demux.One, Socket: a}, nil, Disagree},
		{"one by tuple", demux.LookupResult{Verdict: demux.One, Socket: tw}, &tw2, Agree},
		{"none none", demux.LookupResult{Verdict: demux.None}, nil, Agree},
		{"none but delivered", demux.LookupResult{Verdict: demux.None}, a, Disagree},
		{"one-of among", demux.LookupResult{Verdict: demux.OneOf, Candidates: []*sockscope.Socket{a, b}}, b, Undecided},
		{"one-of outside", demux.LookupResult{Verdict: demux.OneOf, Candidates: []*sockscope.Socket{a, b}}, c, Disagree},
		{"all among", demux.LookupResult{Verdict: demux.All, Candidates: []*sockscope.Socket{a, b}}, a, Agree},
		{"all outside", demux.LookupResult{Verdict: demux.All, Candidates: []*sockscope.Socket{a, b}}, c, Disagree},
	}
	for _, tt := range tests {
		if got := compareLookup(tt.r, tt.got); got != tt.want {
			t.Errorf("%s: compareLookup = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestFind(t *testing.T) {
	names := Names()
	if len(names) != 9 {
		t.Fatalf("Names() = %v, want the 9 experiments of issue 4", names)
	}
	for _, n := range names {
		e, ok := Find(n)
		if !ok || e.Name != n || e.Claim == "" {
			t.Errorf("Find(%q) = %+v, %v", n, e, ok)
		}
	}
	if _, ok := Find("no-such"); ok {
		t.Error(`Find("no-such") found something`)
	}
}
