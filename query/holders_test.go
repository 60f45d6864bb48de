package query

import (
	"testing"

	"github.com/sockscope/sockscope"
)

// TestUnitAndContainerByHolder: in the host namespace, unit and container
// are properties of the holding processes, not of the namespace.
func TestUnitAndContainerByHolder(t *testing.T) {
	host := &sockscope.NetNS{Inode: 1, Name: "host"}
	nginx := &sockscope.Process{PID: 10, Comm: "nginx", Unit: "nginx.service"}
	ctr := &sockscope.Process{PID: 20, Comm: "redis", Container: "0123456789ab"}
	s1 := &sockscope.Socket{Proto: sockscope.TCP, State: sockscope.Listen, NetNS: host, Holders: []sockscope.Holder{{Proc: nginx, FD: 3}}}
	s2 := &sockscope.Socket{Proto: sockscope.TCP, State: sockscope.Listen, NetNS: host, Holders: []sockscope.Holder{{Proc: ctr, FD: 4}}}
	for _, tt := range []struct {
		filter string
		s1, s2 bool
	}{
		{"unit nginx", true, false},
		{"unit nginx.service", true, false},
		{"unit ng*", true, false},
		{"container 0123", false, true},
		{"not container 0123", true, false},
	} {
		f, err := Parse(tt.filter)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.filter, err)
		}
		if f.Match(s1) != tt.s1 || f.Match(s2) != tt.s2 {
			t.Errorf("%q: matched nginx=%v container=%v, want %v %v", tt.filter, f.Match(s1), f.Match(s2), tt.s1, tt.s2)
		}
	}
}
