package demux

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/sockscope/sockscope"
)

// TestB2Matrix checks the overlap table of docs/kernel.md B2 in both bind orders,
// for TCP and UDP, with no reuse options anywhere: overlap means EADDRINUSE.
func TestB2Matrix(t *testing.T) {
	type addr struct {
		name   string
		local  string
		v6only sockscope.Tristate
	}
	addrs := []addr{
		{"0.0.0.0", "0.0.0.0:7000", unknown},
		{"127.0.0.1", "127.0.0.1:7000", unknown},
		{"127.0.0.2", "127.0.0.2:7000", unknown},
		{"::ffff:127.0.0.1", "[::ffff:127.0.0.1]:7000", no},
		{"[::] v6only=0", "[::]:7000", no},
		{"[::] v6only=1", "[::]:7000", yes},
		{"::1", "[::1]:7000", yes},
	}
	// overlap[new][existing], from the B2 table.
	overlap := map[string]map[string]bool{
		"0.0.0.0":          {"0.0.0.0": true, "127.0.0.1": true, "127.0.0.2": true, "::ffff:127.0.0.1": true, "[::] v6only=0": true},
		"127.0.0.1":        {"0.0.0.0": true, "127.0.0.1": true, "::ffff:127.0.0.1": true, "[::] v6only=0": true},
		"127.0.0.2":        {"0.0.0.0": true, "127.0.0.2": true, "[::] v6only=0": true},
		"::ffff:127.0.0.1": {"0.0.0.0": true, "127.0.0.1": true, "::ffff:127.0.0.1": true, "[::] v6only=0": true},
		"[::] v6only=0":    {"0.0.0.0": true, "127.0.0.1": true, "127.0.0.2": true, "::ffff:127.0.0.1": true, "[::] v6only=0": true, "[::] v6only=1": true, "::1": true},
		"[::] v6only=1":    {"[::] v6only=0": true, "[::] v6only=1": true, "::1": true},
		"::1":              {"[::] v6only=0": true, "[::] v6only=1": true, "::1": true},
	}
	for _, proto := range []sockscope.Proto{sockscope.TCP, sockscope.UDP} {
		for _, n := range addrs {
			for _, e := range addrs {
				st := sockscope.Listen
				if proto == sockscope.UDP {
					st = sockscope.Close
				}
				f := newFx()
				f.add(proto, e.local, st, so{ra: no, rp: no, v6only: e.v6only})
				req := BindRequest{Proto: proto, Addr: netip.MustParseAddrPort(n.local), V6Only: n.v6only}
				got := CheckBind(f.snap, req, envRoot(), f.truth)
				want, errno := OK, ""
				if overlap[n.name][e.name] {
					want, errno = Fail, "EADDRINUSE"
				}
				if got.Verdict != want || got.Errno != errno {
					t.Errorf("%s new %s over existing %s: got %s/%s, want %s\n%s", proto, n.name, e.name, got.Verdict, got.Errno, want, got.Rule)
				}
				if want == Fail && (len(got.Blockers) != 1 || !got.Blockers[0].Definite) {
					t.Errorf("%s new %s over existing %s: blockers %+v", proto, n.name, e.name, got.Blockers)
				}
			}
		}
	}
}

// TestB3 checks the TCP sharing rules (docs/kernel.md B3) with known flags.
func TestB3(t *testing.T) {
	tests := []struct {
		name       string
		state      sockscope.State
		e          so
		ra, rp     bool
		uid        uint32
		verdict    Verdict
		wantInRule string
	}{
		{"listen, no options", sockscope.Listen, so{ra: no, rp: no}, false, false, 0, Fail, "SO_REUSEADDR never"},
		{"listen, reuseaddr both", sockscope.Listen, so{ra: yes, rp: no}, true, false, 0, Fail, "SO_REUSEADDR never"},
		{"listen, reuseport both same uid", sockscope.Listen, so{ra: no, rp: yes}, false, true, 0, OK, ""},
		{"listen, reuseport both other uid", sockscope.Listen, so{ra: no, rp: yes, uid: 65534}, false, true, 0, Fail, "uid 65534"},
		{"listen, reuseport only new", sockscope.Listen, so{ra: no, rp: no}, false, true, 0, Fail, "does not have SO_REUSEPORT"},
		{"bound, reuseaddr both", sockscope.Close, so{ra: yes, rp: no}, true, false, 0, OK, ""},
		{"bound, reuseaddr only existing", sockscope.Close, so{ra: yes, rp: no}, false, false, 0, Fail, "yours does not"},
		{"bound, reuseaddr only new", sockscope.Close, so{ra: no, rp: no}, true, false, 0, Fail, "it does not have it"},
		{"estab, reuseaddr both", sockscope.Established, so{ra: yes, rp: no, remote: "127.0.0.9:9"}, true, false, 0, OK, ""},
		{"estab, reuseport other uid", sockscope.Established, so{ra: no, rp: yes, uid: 7, remote: "127.0.0.9:9"}, false, true, 0, Fail, "uid 7"},
		{"time-wait, reuseaddr both", sockscope.TimeWait, so{ra: yes, rp: no, remote: "127.0.0.9:9"}, true, false, 0, OK, ""},
		{"time-wait, reuseaddr only new", sockscope.TimeWait, so{ra: no, rp: no, remote: "127.0.0.9:9"}, true, false, 0, Fail, "TIME-WAIT"},
		{"time-wait, reuseaddr only old", sockscope.TimeWait, so{ra: yes, rp: no, remote: "127.0.0.9:9"}, false, false, 0, Fail, "TIME-WAIT"},
		{"time-wait, reuseport both, any uid", sockscope.TimeWait, so{ra: no, rp: yes, remote: "127.0.0.9:9"}, false, true, 4242, OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFx()
			f.add(sockscope.TCP, "127.0.0.1:8080", tt.state, tt.e)
			req := BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("127.0.0.1:8080"), ReuseAddr: tt.ra, ReusePort: tt.rp, UID: tt.uid}
			got := CheckBind(f.snap, req, envRoot(), f.truth)
			errno := ""
			if tt.verdict == Fail {
				errno = "EADDRINUSE"
			}
			wantVerdict(t, got, tt.verdict, errno)
			if !strings.Contains(got.Rule, tt.wantInRule) {
				t.Errorf("rule %q lacks %q", got.Rule, tt.wantInRule)
			}
		})
	}
}

// TestHiddenFlags checks the three-valued answers when flags are unknown.
func TestHiddenFlags(t *testing.T) {
	t.Run("time-wait flags unknown", func(t *testing.T) {
		f := newFx()
		tw := f.add(sockscope.TCP, "127.0.0.1:8080", sockscope.TimeWait, so{remote: "127.0.0.9:9"})
		got := CheckBind(f.snap, BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("127.0.0.1:8080"), ReuseAddr: true}, envRoot(), nil)
		wantVerdict(t, got, Depends, "EADDRINUSE")
		if len(got.Blockers) != 1 || got.Blockers[0].Socket != tw || got.Blockers[0].Definite {
			t.Errorf("blockers %+v", got.Blockers)
		}
		if !strings.Contains(strings.Join(got.DependsOn, ";"), "SO_REUSEADDR") {
			t.Errorf("DependsOn %v", got.DependsOn)
		}
	})
	t.Run("time-wait blocks without reuseaddr whatever its flags", func(t *testing.T) {
		f := newFx()
		f.add(sockscope.TCP, "127.0.0.1:8080", sockscope.TimeWait, so{remote: "127.0.0.9:9"})
		got := CheckBind(f.snap, BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("127.0.0.1:8080")}, envRoot(), nil)
		wantVerdict(t, got, Fail, "EADDRINUSE")
	})
	t.Run("listener blocks reuseaddr whatever its flags", func(t *testing.T) {
		f := newFx()
		f.add(sockscope.TCP, "0.0.0.0:8080", sockscope.Listen, so{})
		got := CheckBind(f.snap, BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("127.0.0.1:8080"), ReuseAddr: true}, envRoot(), nil)
		wantVerdict(t, got, Fail, "EADDRINUSE")
		if !strings.Contains(got.Rule, "wildcard") {
			t.Errorf("rule %q", got.Rule)
		}
	})
	t.Run("listener with unknown reuseport", func(t *testing.T) {
		f := newFx()
		f.add(sockscope.TCP, "0.0.0.0:8080", sockscope.Listen, so{uid: 33})
		got := CheckBind(f.snap, BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("0.0.0.0:8080"), ReusePort: true, UID: 33}, envRoot(), nil)
		wantVerdict(t, got, Depends, "EADDRINUSE")
		if !strings.Contains(strings.Join(got.DependsOn, ";"), "SO_REUSEPORT of socket cookie") {
			t.Errorf("DependsOn %v", got.DependsOn)
		}
	})
	t.Run("identical listeners imply reuseport", func(t *testing.T) {
		f := newFx()
		f.add(sockscope.TCP, "0.0.0.0:8080", sockscope.Listen, so{uid: 33})
		f.add(sockscope.TCP, "0.0.0.0:8080", sockscope.Listen, so{uid: 33})
		req := BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("0.0.0.0:8080"), ReusePort: true, UID: 33, Listen: true}
		wantVerdict(t, CheckBind(f.snap, req, envRoot(), nil), OK, "")
		req.UID = 0
		wantVerdict(t, CheckBind(f.snap, req, envRoot(), nil), Fail, "EADDRINUSE")
		req.UID, req.ReusePort = 33, false
		wantVerdict(t, CheckBind(f.snap, req, envRoot(), nil), Fail, "EADDRINUSE")
	})
	t.Run("udp unknown flags", func(t *testing.T) {
		f := newFx()
		f.add(sockscope.UDP, "127.0.0.1:53", sockscope.Close, so{})
		got := CheckBind(f.snap, BindRequest{Proto: sockscope.UDP, Addr: netip.MustParseAddrPort("127.0.0.1:53"), ReuseAddr: true}, envRoot(), nil)
		wantVerdict(t, got, Depends, "EADDRINUSE")
		got = CheckBind(f.snap, BindRequest{Proto: sockscope.UDP, Addr: netip.MustParseAddrPort("127.0.0.1:53")}, envRoot(), nil)
		wantVerdict(t, got, Fail, "EADDRINUSE")
	})
	t.Run("request sockets own no port", func(t *testing.T) {
		f := newFx()
		f.add(sockscope.TCP, "127.0.0.1:8080", sockscope.SynRecv, so{remote: "127.0.0.9:9"})
		wantVerdict(t, CheckBind(f.snap, BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("127.0.0.1:8080")}, envRoot(), nil), OK, "")
	})
}

func TestB0(t *testing.T) {
	env := DefaultEnv() // unprivileged
	tests := []struct {
		name    string
		req     BindRequest
		env     func(*Env)
		verdict Verdict
		errno   string
	}{
		{"privileged v4", BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("127.0.0.1:80")}, nil, Fail, "EACCES"},
		{"privileged with cap", BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("127.0.0.1:80")}, func(e *Env) { e.CanBindPrivileged = true }, OK, ""},
		{"privileged lowered start", BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("127.0.0.1:80")}, func(e *Env) { e.UnprivilegedPortStart = 80 }, OK, ""},
		{"non-local v4 checked before port", BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("10.1.2.3:80")}, nil, Fail, "EADDRNOTAVAIL"},
		{"non-local v6: port checked first", BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("[2001:db8::1]:80")}, nil, Fail, "EACCES"},
		{"non-local v6", BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("[2001:db8::1]:8080")}, nil, Fail, "EADDRNOTAVAIL"},
		{"non-local with freebind", BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("10.1.2.3:8080"), Freebind: true}, nil, OK, ""},
		{"non-local with sysctl", BindRequest{Proto: sockscope.UDP, Addr: netip.MustParseAddrPort("10.1.2.3:8080")}, func(e *Env) { e.NonlocalBind = true }, OK, ""},
		{"v6 sysctl does not cover v4", BindRequest{Proto: sockscope.UDP, Addr: netip.MustParseAddrPort("10.1.2.3:8080")}, func(e *Env) { e.NonlocalBind6 = true }, Fail, "EADDRNOTAVAIL"},
		{"loopback prefix is local", BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("127.8.9.10:8080")}, nil, OK, ""},
		{"mapped on v6only", BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("[::ffff:127.0.0.1]:8080"), V6Only: yes}, nil, Fail, "EINVAL"},
		{"mapped on v6only by default", BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("[::ffff:127.0.0.1]:8080")}, func(e *Env) { e.BindV6Only = true }, Fail, "EINVAL"},
		{"mapped non-local", BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("[::ffff:10.0.0.1]:8080")}, nil, Fail, "EADDRNOTAVAIL"},
		{"link-local without scope", BindRequest{Proto: sockscope.UDP, Addr: netip.MustParseAddrPort("[fe80::1]:8080")}, nil, Fail, "EINVAL"},
		{"link-local unknown zone", BindRequest{Proto: sockscope.UDP, Addr: netip.MustParseAddrPort("[fe80::1%nope]:8080")}, nil, Fail, "EINVAL"},
		{"link-local with zone, not configured", BindRequest{Proto: sockscope.UDP, Addr: netip.MustParseAddrPort("[fe80::1%lo]:8080")}, nil, Fail, "EADDRNOTAVAIL"},
		{"tcp multicast v6", BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("[ff02::1%lo]:8080")}, nil, Fail, "EINVAL"},
		{"udp multicast v4 needs no local address", BindRequest{Proto: sockscope.UDP, Addr: netip.MustParseAddrPort("239.1.2.3:8080")}, nil, OK, ""},
		{"no such device", BindRequest{Proto: sockscope.UDP, Addr: netip.MustParseAddrPort("0.0.0.0:8080"), Device: 99}, nil, Fail, "ENODEV"},
		{"no ports", BindRequest{Proto: sockscope.Unix, Addr: netip.MustParseAddrPort("0.0.0.0:8080")}, nil, Fail, "EINVAL"},
		{"no address", BindRequest{Proto: sockscope.TCP}, nil, Fail, "EINVAL"},
		{"port 0", BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("127.0.0.1:0")}, nil, OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := env
			if tt.env != nil {
				tt.env(&e)
			}
			got := CheckBind(nil, tt.req, e, nil)
			wantVerdict(t, got, tt.verdict, tt.errno)
			if got.Verdict == Fail && got.Rule == "" {
				t.Error("no rule")
			}
		})
	}
}

func TestV6OnlyAndDevices(t *testing.T) {
	t.Run("bindv6only default decides [::] over 0.0.0.0", func(t *testing.T) {
		f := newFx()
		f.add(sockscope.TCP, "0.0.0.0:8080", sockscope.Listen, so{ra: no, rp: no})
		req := BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("[::]:8080")}
		env := envRoot()
		wantVerdict(t, CheckBind(f.snap, req, env, f.truth), Fail, "EADDRINUSE")
		env.BindV6Only = true
		wantVerdict(t, CheckBind(f.snap, req, env, f.truth), OK, "")
		req.V6Only = no
		wantVerdict(t, CheckBind(f.snap, req, env, f.truth), Fail, "EADDRINUSE")
	})
	t.Run("devices", func(t *testing.T) {
		f := newFx()
		f.add(sockscope.TCP, "0.0.0.0:8080", sockscope.Listen, so{ra: no, rp: no, dev: 2})
		env := envRoot()
		env.Interfaces = map[string]uint32{"lo": 1, "a": 2, "b": 3}
		for dev, want := range map[uint32]Verdict{0: Fail, 2: Fail, 3: OK} {
			got := CheckBind(f.snap, BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("0.0.0.0:8080"), Device: dev}, env, f.truth)
			if got.Verdict != want {
				t.Errorf("device %d: got %s, want %s: %s", dev, got.Verdict, want, got.Rule)
			}
		}
	})
	t.Run("Q1 connected [::] keeps v6only=0 with shadow 127.0.0.6", func(t *testing.T) {
		f := newFx()
		f.add(sockscope.TCP, "[::1]:8080", sockscope.Established, so{ra: no, rp: no, v6only: no, remote: "[::1]:9"})
		env := envRoot()
		for addr, want := range map[string]Verdict{"0.0.0.0:8080": Fail, "127.0.0.6:8080": Fail, "127.0.0.1:8080": OK, "[::1]:8080": Fail} {
			got := CheckBind(f.snap, BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort(addr)}, env, f.truth)
			if got.Verdict != want {
				t.Errorf("%s: got %s, want %s: %s", addr, got.Verdict, want, got.Rule)
			}
		}
		// Unknown v6only: 0.0.0.0 depends on it.
		got := CheckBind(f.snap, BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("0.0.0.0:8080")}, env, nil)
		wantVerdict(t, got, Depends, "EADDRINUSE")
		if !strings.Contains(strings.Join(got.DependsOn, ";"), "IPV6_V6ONLY") {
			t.Errorf("DependsOn %v", got.DependsOn)
		}
	})
}

// TestQ2 checks that the UDP bind check stops at the first SO_REUSEPORT
// match in chain order (newest first).
func TestQ2(t *testing.T) {
	req := BindRequest{Proto: sockscope.UDP, Addr: netip.MustParseAddrPort("0.0.0.0:9000"), ReusePort: true}
	f := newFx()
	f.add(sockscope.UDP, "127.0.0.1:9000", sockscope.Close, so{ra: no, rp: no})
	f.add(sockscope.UDP, "127.0.0.2:9000", sockscope.Close, so{ra: no, rp: yes})
	wantVerdict(t, CheckBind(f.snap, req, envRoot(), f.truth), OK, "")

	g := newFx()
	g.add(sockscope.UDP, "127.0.0.2:9000", sockscope.Close, so{ra: no, rp: yes})
	g.add(sockscope.UDP, "127.0.0.1:9000", sockscope.Close, so{ra: no, rp: no})
	wantVerdict(t, CheckBind(g.snap, req, envRoot(), g.truth), Fail, "EADDRINUSE")

	// B4: both SO_REUSEADDR share, including 0.0.0.0 over 127.0.0.1.
	h := newFx()
	h.add(sockscope.UDP, "127.0.0.1:9000", sockscope.Close, so{ra: yes, rp: no})
	wantVerdict(t, CheckBind(h.snap, BindRequest{Proto: sockscope.UDP, Addr: netip.MustParseAddrPort("0.0.0.0:9000"), ReuseAddr: true}, envRoot(), h.truth), OK, "")
	wantVerdict(t, CheckBind(h.snap, BindRequest{Proto: sockscope.UDP, Addr: netip.MustParseAddrPort("0.0.0.0:9000")}, envRoot(), h.truth), Fail, "EADDRINUSE")
	// SO_REUSEPORT across uids fails.
	k := newFx()
	k.add(sockscope.UDP, "127.0.0.1:9000", sockscope.Close, so{ra: no, rp: yes, uid: 1})
	wantVerdict(t, CheckBind(k.snap, BindRequest{Proto: sockscope.UDP, Addr: netip.MustParseAddrPort("127.0.0.1:9000"), ReusePort: true, UID: 2}, envRoot(), k.truth), Fail, "EADDRINUSE")
	wantVerdict(t, CheckBind(k.snap, BindRequest{Proto: sockscope.UDP, Addr: netip.MustParseAddrPort("127.0.0.1:9000"), ReusePort: true, UID: 1}, envRoot(), k.truth), OK, "")
}

// TestQ3 is the bind-bucket cache example of docs/kernel.md Q3: the full check fails,
// but the cache may let the bind through, so the answer is "depends".
func TestQ3(t *testing.T) {
	f := newFx()
	f.add(sockscope.TCP, "127.0.0.2:8080", sockscope.TimeWait, so{ra: yes, rp: no, remote: "127.0.0.9:9"})
	f.add(sockscope.TCP, "[::]:8080", sockscope.Close, so{ra: yes, rp: yes, v6only: no})
	got := CheckBind(f.snap, BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("0.0.0.0:8080"), ReusePort: true}, envRoot(), f.truth)
	wantVerdict(t, got, Depends, "EADDRINUSE")
	if !got.CacheDependent {
		t.Errorf("not marked cache-dependent: %+v", got)
	}
	// Without the [::] socket nothing can have filled the cache: a plain fail.
	g := newFx()
	g.add(sockscope.TCP, "127.0.0.2:8080", sockscope.TimeWait, so{ra: yes, rp: no, remote: "127.0.0.9:9"})
	got = CheckBind(g.snap, BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("0.0.0.0:8080"), ReusePort: true}, envRoot(), g.truth)
	wantVerdict(t, got, Fail, "EADDRINUSE")
}

func TestBindRuleNamesHolder(t *testing.T) {
	f := newFx()
	s := f.add(sockscope.TCP, "0.0.0.0:8080", sockscope.Listen, so{uid: 33})
	s.Holders = []sockscope.Holder{{Proc: &sockscope.Process{PID: 812, Comm: "nginx"}, FD: 6}}
	got := CheckBind(f.snap, BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("0.0.0.0:8080"), ReuseAddr: true}, envRoot(), nil)
	wantVerdict(t, got, Fail, "EADDRINUSE")
	for _, w := range []string{"nginx (pid 812)", "SO_REUSEADDR never", "uid 33"} {
		if !strings.Contains(got.Rule, w) {
			t.Errorf("rule %q lacks %q", got.Rule, w)
		}
	}
	if len(got.Help) == 0 {
		t.Error("no help")
	}
}

// TestCacheRuledOut: a listener known to lack SO_REUSEPORT, on the
// wildcard, keeps the bind-bucket cache from letting a SO_REUSEPORT bind
// of 0.0.0.0 through, whatever the hidden flags of TIME-WAIT sockets
// (issue 9 item 5; TestBindCheckReuseportBesideListener runs it for real).
func TestCacheRuledOut(t *testing.T) {
	build := func(listenerKnown bool) (*fx, FlagFunc) {
		f := newFx()
		l := f.add(sockscope.TCP, "0.0.0.0:80", sockscope.Listen, so{ra: yes, rp: no})
		for i := range 5 {
			f.add(sockscope.TCP, "127.0.0.1:80", sockscope.TimeWait, so{remote: fmt.Sprintf("127.0.0.9:%d", 5000+i)})
		}
		return f, func(s *sockscope.Socket) Flags {
			if s == l && listenerKnown {
				return f.flags[s]
			}
			return Flags{} // TIME-WAIT flags are never readable
		}
	}
	req := BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("0.0.0.0:80"), ReusePort: true, Listen: true}
	f, flags := build(true)
	got := CheckBind(f.snap, req, envRoot(), flags)
	wantVerdict(t, got, Fail, "EADDRINUSE")
	if got.CacheDependent || len(got.DependsOn) != 0 {
		t.Errorf("determined answer, yet cache %v depends %v", got.CacheDependent, got.DependsOn)
	}
	if g := got.Groups(); len(g) != 2 || !g[0].Definite || g[0].State != sockscope.Listen || len(g[1].Sockets) != 5 || g[1].Definite {
		t.Errorf("groups %+v", g)
	}
	// The listener's SO_REUSEPORT hidden: it may share with the new socket.
	f, flags = build(false)
	wantVerdict(t, CheckBind(f.snap, req, envRoot(), flags), Depends, "EADDRINUSE")
	// A listener bound to a device lets a socket on another device set a
	// cache that covers 0.0.0.0: not ruled out.
	g := newFx()
	g.add(sockscope.TCP, "0.0.0.0:80", sockscope.Listen, so{ra: yes, rp: no, dev: 2})
	g.add(sockscope.TCP, "127.0.0.1:80", sockscope.TimeWait, so{remote: "127.0.0.9:5000"})
	env := envRoot()
	env.Interfaces = map[string]uint32{"lo": 1, "a": 2}
	r := CheckBind(g.snap, req, env, func(s *sockscope.Socket) Flags {
		if s.State == sockscope.Listen {
			return g.flags[s]
		}
		return Flags{}
	})
	wantVerdict(t, r, Depends, "EADDRINUSE")
	if !r.CacheDependent {
		t.Errorf("device-bound listener: not cache-dependent: %s", r.Rule)
	}
}

func TestVerdictText(t *testing.T) {
	for v, want := range map[Verdict]string{OK: "ok", Fail: "fail", Depends: "depends"} {
		b, err := v.MarshalText()
		if err != nil || string(b) != want || v.String() != want {
			t.Errorf("%d: %q %v %q", v, b, err, v.String())
		}
	}
	if _, err := Verdict(0).MarshalText(); err == nil {
		t.Error("zero verdict marshals")
	}
	if Verdict(9).String() != "Verdict(9)" {
		t.Error(Verdict(9).String())
	}
}
