package query

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockscope/sockscope"
)

// lab is a set of loopback TCP sockets this test created, with the Socket
// values that describe them.
type lab struct {
	socks map[string]*sockscope.Socket // by name
	byKey map[string]string            // "local remote" -> name
	ports map[string]uint16            // listener name -> port
}

func (l *lab) add(name string, fam sockscope.Family, st sockscope.State, local, remote netip.AddrPort) {
	l.socks[name] = &sockscope.Socket{Family: fam, Proto: sockscope.TCP, State: st, Local: local, Remote: remote}
	l.byKey[local.String()+" "+remote.String()] = name
}

func addrPort(a net.Addr) netip.AddrPort { return a.(*net.TCPAddr).AddrPort() }

// newLab creates listeners on 127.0.0.1 (two) and ::1 (one, if IPv6 works),
// and one connection to each, the first from 127.0.0.2.
func newLab(t *testing.T) *lab {
	t.Helper()
	l := &lab{socks: map[string]*sockscope.Socket{}, byKey: map[string]string{}, ports: map[string]uint16{}}
	type spec struct {
		name, network, addr, from string
		fam                       sockscope.Family
		unspec                    netip.Addr
	}
	specs := []spec{
		{"l1", "tcp4", "127.0.0.1:0", "127.0.0.2:0", sockscope.FamilyInet, netip.IPv4Unspecified()},
		{"l2", "tcp4", "127.0.0.1:0", "", sockscope.FamilyInet, netip.IPv4Unspecified()},
		{"l6", "tcp6", "[::1]:0", "", sockscope.FamilyInet6, netip.IPv6Unspecified()},
	}
	for _, sp := range specs {
		ln, err := net.Listen(sp.network, sp.addr)
		if err != nil {
			if sp.network == "tcp6" {
				t.Logf("no IPv6 loopback: %v", err)
				continue
			}
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		la := addrPort(ln.Addr())
		l.ports[sp.name] = la.Port()
		l.add(sp.name, sp.fam, sockscope.Listen, la, netip.AddrPortFrom(sp.unspec, 0))

		d := net.Dialer{Timeout: 5 * time.Second}
		if sp.from != "" {
			d.LocalAddr = net.TCPAddrFromAddrPort(netip.MustParseAddrPort(sp.from))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := d.DialContext(ctx, sp.network, la.String())
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
		a, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		l.add("c"+sp.name[1:], sp.fam, sockscope.Established, addrPort(c.LocalAddr()), addrPort(c.RemoteAddr()))
		l.add("a"+sp.name[1:], sp.fam, sockscope.Established, addrPort(a.LocalAddr()), addrPort(a.RemoteAddr()))
	}
	return l
}

// ssList runs `ss -tanH FILTER` and returns the names of this lab's
// sockets it lists.
func (l *lab) ssList(t *testing.T, ss, filter string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := append([]string{"-tanH"}, strings.Fields(filter)...)
	out, err := exec.CommandContext(ctx, ss, args...).Output()
	if err != nil {
		t.Fatalf("ss %q: %v", args, err)
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		// ss drops the State column when one state is selected, so take
		// the first two fields that are addresses.
		var aps []netip.AddrPort
		for _, f := range strings.Fields(line) {
			if ap, ok := parseSSAddr(f); ok {
				aps = append(aps, ap)
			}
		}
		if len(aps) < 2 {
			continue
		}
		if name, ok := l.byKey[aps[0].String()+" "+aps[1].String()]; ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// parseSSAddr parses ss's numeric "127.0.0.1:80", "[::1]:80" or "0.0.0.0:*".
func parseSSAddr(s string) (netip.AddrPort, bool) {
	if strings.HasSuffix(s, ":*") {
		s = strings.TrimSuffix(s, "*") + "0"
	}
	ap, err := netip.ParseAddrPort(s)
	return ap, err == nil
}

// TestDifferentialSS compares Match with the real ss on sockets this test
// creates on loopback: for each filter, the lab sockets ss lists must be
// exactly those Match accepts.
func TestDifferentialSS(t *testing.T) {
	ss, err := exec.LookPath("ss")
	if err != nil {
		t.Skip("ss is not installed")
	}
	l := newLab(t)
	p := func(name string) string { return strconv.Itoa(int(l.ports[name])) }
	filters := []string{
		"sport = :" + p("l1"),
		"dport = :" + p("l1"),
		"sport = " + p("l2"),
		"state listening",
		"exclude listening",
		"state established ( dport = :" + p("l1") + " or sport = :" + p("l1") + " )",
		"src 127.0.0.2",
		"dst 127.0.0.0/8",
		"src 127/8",
		"dst 127.0.0.1:" + p("l2"),
		"sport gt :" + p("l1"),
		"sport le :" + p("l2"),
		// Left to right: ( l1 or l2 ) and dport = :0, i.e. the two listeners.
		"sport = :" + p("l1") + " or sport = :" + p("l2") + " and dport = :0",
		"not sport = :" + p("l1") + " and not dport = :" + p("l1"),
		"state connected dst 127.0.0.1",
	}
	if _, ok := l.ports["l6"]; ok {
		filters = append(filters,
			"src [::1]",
			"src *:"+p("l6"),
			"dst [::1]:"+p("l6"),
			"src ::/0",
			"state connected dport != :"+p("l6"),
		)
	}
	if len(filters) > 25 {
		t.Fatal("keep this test bounded")
	}
	for _, filter := range filters {
		t.Run(filter, func(t *testing.T) {
			f := mustParse(t, filter)
			var want []string
			for name, s := range l.socks {
				if f.Match(s) {
					want = append(want, name)
				}
			}
			sort.Strings(want)
			got := l.ssList(t, ss, filter)
			if !slices.Equal(got, want) {
				t.Errorf("filter %q:\n  ss lists %v\n  Match    %v", filter, got, want)
			}
			// ss accepts the canonical form too, with the same result.
			if got2 := l.ssList(t, ss, f.String()); !slices.Equal(got2, got) {
				t.Errorf("canonical %q: ss lists %v, original %v", f.String(), got2, got)
			}
		})
	}
}
