package demux

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/sockscope/sockscope"
)

func seg(proto sockscope.Proto, src, dst string, dif uint32) Segment {
	return Segment{Proto: proto, Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst), Ifindex: dif}
}

func wantOne(t *testing.T, got LookupResult, s *sockscope.Socket) {
	t.Helper()
	if got.Verdict != One || got.Socket != s {
		t.Errorf("got %s %v, want socket %v\n%s", got.Verdict, names(got.Candidates), describe(s), steps(got))
	}
}

func wantOneOf(t *testing.T, got LookupResult, ss ...*sockscope.Socket) {
	t.Helper()
	if got.Verdict != OneOf || len(got.Candidates) != len(ss) {
		t.Errorf("got %s %v, want one of %v\n%s", got.Verdict, names(got.Candidates), names(ss), steps(got))
		return
	}
	for _, s := range ss {
		if !slices.Contains(got.Candidates, s) {
			t.Errorf("candidates %v lack %s", names(got.Candidates), describe(s))
		}
	}
}

func names(ss []*sockscope.Socket) []string {
	var out []string
	for _, s := range ss {
		out = append(out, describe(s))
	}
	return out
}

func steps(r LookupResult) string {
	var b strings.Builder
	for _, s := range r.Steps {
		b.WriteString(s.Name + ": " + s.Detail + "\n")
	}
	return b.String()
}

func TestLookupTCP(t *testing.T) {
	t.Run("exact beats wildcard", func(t *testing.T) {
		f := newFx()
		w := f.add(sockscope.TCP, "0.0.0.0:80", sockscope.Listen, so{})
		e := f.add(sockscope.TCP, "127.0.0.1:80", sockscope.Listen, so{})
		wantOne(t, Lookup(f.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.1:80", 1), nil), e)
		wantOne(t, Lookup(f.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.2:80", 1), nil), w)
	})
	t.Run("exact beats a device-bound wildcard", func(t *testing.T) {
		f := newFx()
		f.add(sockscope.TCP, "0.0.0.0:80", sockscope.Listen, so{dev: 1})
		e := f.add(sockscope.TCP, "127.0.0.1:80", sockscope.Listen, so{})
		wantOne(t, Lookup(f.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.1:80", 1), nil), e)
	})
	t.Run("AF_INET beats dual-stack", func(t *testing.T) {
		f := newFx()
		v4 := f.add(sockscope.TCP, "0.0.0.0:80", sockscope.Listen, so{})
		f.add(sockscope.TCP, "[::]:80", sockscope.Listen, so{v6only: no})
		wantOne(t, Lookup(f.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.1:80", 1), nil), v4)
		g := newFx()
		g.add(sockscope.TCP, "[::]:80", sockscope.Listen, so{v6only: no})
		v4 = g.add(sockscope.TCP, "0.0.0.0:80", sockscope.Listen, so{})
		wantOne(t, Lookup(g.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.1:80", 1), nil), v4)
	})
	t.Run("v6only listener gets no IPv4", func(t *testing.T) {
		f := newFx()
		f.add(sockscope.TCP, "[::]:80", sockscope.Listen, so{v6only: yes})
		if got := Lookup(f.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.1:80", 1), nil); got.Verdict != None {
			t.Errorf("got %s", got.Verdict)
		}
	})
	t.Run("T7 order quirk", func(t *testing.T) {
		// Device-bound created first loses to the unbound one created second.
		f := newFx()
		f.add(sockscope.TCP, "0.0.0.0:80", sockscope.Listen, so{dev: 1})
		u := f.add(sockscope.TCP, "0.0.0.0:80", sockscope.Listen, so{})
		wantOne(t, Lookup(f.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.1:80", 1), nil), u)
		// The opposite order: the device-bound one wins.
		g := newFx()
		g.add(sockscope.TCP, "0.0.0.0:80", sockscope.Listen, so{})
		d := g.add(sockscope.TCP, "0.0.0.0:80", sockscope.Listen, so{dev: 1})
		wantOne(t, Lookup(g.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.1:80", 1), nil), d)
		// Dump order (Seq) overrides inode order within a family.
		g.snap.Sockets[0].Seq, g.snap.Sockets[1].Seq = 1, 2
		wantOne(t, Lookup(g.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.1:80", 1), nil), g.snap.Sockets[0])
	})
	t.Run("reuseport group", func(t *testing.T) {
		f := newFx()
		a := f.add(sockscope.TCP, "0.0.0.0:80", sockscope.Listen, so{uid: 5})
		b := f.add(sockscope.TCP, "0.0.0.0:80", sockscope.Listen, so{uid: 5})
		c := f.add(sockscope.TCP, "0.0.0.0:80", sockscope.Listen, so{uid: 5})
		got := Lookup(f.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.1:80", 1), nil)
		wantOneOf(t, got, a, b, c)
		if !strings.Contains(steps(got), "keyed hash of the 4-tuple") {
			t.Errorf("steps do not mention the hash:\n%s", steps(got))
		}
	})
	t.Run("established and time-wait", func(t *testing.T) {
		f := newFx()
		f.add(sockscope.TCP, "0.0.0.0:80", sockscope.Listen, so{})
		e := f.add(sockscope.TCP, "127.0.0.1:80", sockscope.Established, so{remote: "127.0.0.9:5000"})
		tw := f.add(sockscope.TCP, "127.0.0.1:80", sockscope.TimeWait, so{remote: "127.0.0.9:5001"})
		m := f.add(sockscope.TCP, "[::ffff:127.0.0.1]:80", sockscope.Established, so{remote: "[::ffff:127.0.0.9]:5002"})
		wantOne(t, Lookup(f.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.1:80", 1), nil), e)
		got := Lookup(f.snap, seg(sockscope.TCP, "127.0.0.9:5001", "127.0.0.1:80", 1), nil)
		wantOne(t, got, tw)
		if !strings.Contains(steps(got), "TIME-WAIT") {
			t.Error("no TIME-WAIT step")
		}
		wantOne(t, Lookup(f.snap, seg(sockscope.TCP, "127.0.0.9:5002", "127.0.0.1:80", 1), nil), m)
		if !strings.Contains(steps(got), "TPROXY") {
			t.Error("no warning about TPROXY / sk_lookup")
		}
	})
	t.Run("bound-only is never a target", func(t *testing.T) {
		f := newFx()
		f.add(sockscope.TCP, "127.0.0.1:80", sockscope.Close, so{})
		got := Lookup(f.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.1:80", 1), nil)
		if got.Verdict != None || !strings.Contains(steps(got), "never a target") {
			t.Errorf("got %s\n%s", got.Verdict, steps(got))
		}
	})
	t.Run("device", func(t *testing.T) {
		f := newFx()
		d := f.add(sockscope.TCP, "0.0.0.0:80", sockscope.Listen, so{dev: 2})
		if got := Lookup(f.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.1:80", 1), nil); got.Verdict != None {
			t.Errorf("other device: got %s", got.Verdict)
		}
		wantOne(t, Lookup(f.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.1:80", 2), nil), d)
	})
	t.Run("ipv6", func(t *testing.T) {
		f := newFx()
		w := f.add(sockscope.TCP, "[::]:80", sockscope.Listen, so{v6only: yes})
		e := f.add(sockscope.TCP, "[::1]:80", sockscope.Listen, so{})
		wantOne(t, Lookup(f.snap, seg(sockscope.TCP, "[::1]:5000", "[::1]:80", 1), nil), e)
		wantOne(t, Lookup(f.snap, seg(sockscope.TCP, "[::1]:5000", "[::2]:80", 1), nil), w)
	})
}

func TestLookupUDP(t *testing.T) {
	t.Run("connected beats specific beats wildcard", func(t *testing.T) {
		f := newFx()
		w := f.add(sockscope.UDP, "0.0.0.0:53", sockscope.Close, so{ra: yes})
		s := f.add(sockscope.UDP, "127.0.0.1:53", sockscope.Close, so{ra: yes})
		c := f.add(sockscope.UDP, "127.0.0.1:53", sockscope.Established, so{ra: yes, remote: "127.0.0.9:5000"})
		wantOne(t, Lookup(f.snap, seg(sockscope.UDP, "127.0.0.9:5000", "127.0.0.1:53", 1), f.truth), c)
		wantOne(t, Lookup(f.snap, seg(sockscope.UDP, "127.0.0.9:5001", "127.0.0.1:53", 1), f.truth), s)
		wantOne(t, Lookup(f.snap, seg(sockscope.UDP, "127.0.0.9:5001", "127.0.0.2:53", 1), f.truth), w)
	})
	t.Run("same 4-tuple: the newest connected wins, device or not", func(t *testing.T) {
		// Property seed 1796036100734123377, scenario 4837: two AF_INET6
		// sockets with SO_REUSEPORT connected to the same peer, the newer
		// bound to lo. The kernel appends such sockets at the tail of the
		// port's chain, so the dump lists the older first (Seq 1); the
		// hash4 chain holds the newest connected first and a device
		// binding adds nothing there (TestUDPConnectedKernel). Lookup
		// used to read Seq 1 as the newer.
		f := newFx()
		older := f.add(sockscope.UDP, "[::1]:7000", sockscope.Established, so{ra: yes, rp: yes, remote: "[::1]:40000"})
		newer := f.add(sockscope.UDP, "[::1]:7000", sockscope.Established, so{ra: no, rp: yes, dev: 1, remote: "[::1]:40000"})
		older.Seq, newer.Seq = 1, 2
		s := seg(sockscope.UDP, "[::1]:40000", "[::1]:7000", 1)
		got := Lookup(f.snap, s, f.truth)
		wantOne(t, got, newer)
		if d := steps(got); !strings.Contains(d, "most recently connected") {
			t.Errorf("the step does not give the rule:\n%s", d)
		}
		// The other way round: the older socket is the device-bound one
		// and loses.
		f.flags[older], f.flags[newer] = Flags{ReuseAddr: no, ReusePort: yes}, Flags{ReuseAddr: yes, ReusePort: yes}
		older.Interface, newer.Interface = 1, 0
		wantOne(t, Lookup(f.snap, s, f.truth), newer)
		// Without SO_REUSEPORT both sit at the head: Seq 1 is the newer.
		f.flags[older], f.flags[newer] = Flags{ReuseAddr: yes, ReusePort: no}, Flags{ReuseAddr: yes, ReusePort: no}
		wantOne(t, Lookup(f.snap, s, f.truth), older)
		// SO_REUSEPORT unknown: the dump order cannot be read.
		got = Lookup(f.snap, s, nil)
		wantOneOf(t, got, older, newer)
		if got.Ambiguity != HiddenInput {
			t.Errorf("ambiguity %v, want hidden-input only", got.Ambiguity.Strings())
		}
		// AF_INET sockets are never at the tail: Seq 1 is the newer.
		g := newFx()
		a := g.add(sockscope.UDP, "127.0.0.1:7000", sockscope.Established, so{ra: yes, rp: yes, remote: "127.0.0.5:40000"})
		b := g.add(sockscope.UDP, "127.0.0.1:7000", sockscope.Established, so{ra: yes, rp: yes, dev: 1, remote: "127.0.0.5:40000"})
		a.Seq, b.Seq = 2, 1
		wantOne(t, Lookup(g.snap, seg(sockscope.UDP, "127.0.0.5:40000", "127.0.0.1:7000", 1), nil), b)
		a.Seq, b.Seq = 1, 2
		wantOne(t, Lookup(g.snap, seg(sockscope.UDP, "127.0.0.5:40000", "127.0.0.1:7000", 1), nil), a)
	})
	t.Run("tie goes to the newest", func(t *testing.T) {
		// Issue 9 item 7a: no hash without SO_REUSEPORT; the kernel walks
		// the chain newest first and keeps the first of equal scores
		// (TestUDPTieKernel proves it). This used to be "one-of".
		f := newFx()
		f.add(sockscope.UDP, "127.0.0.1:9000", sockscope.Close, so{ra: yes, rp: no})
		b := f.add(sockscope.UDP, "127.0.0.1:9000", sockscope.Close, so{ra: yes, rp: no})
		got := Lookup(f.snap, seg(sockscope.UDP, "127.0.0.9:5000", "127.0.0.1:9000", 1), f.truth)
		wantOne(t, got, b)
		if d := steps(got); strings.Contains(d, "possible receivers") || !strings.Contains(d, "most recently bound") {
			t.Errorf("the step does not give the tie rule:\n%s", d)
		}
		// Dump order (Seq) overrides inode order within a family.
		f.snap.Sockets[0].Seq, f.snap.Sockets[1].Seq = 1, 2
		wantOne(t, Lookup(f.snap, seg(sockscope.UDP, "127.0.0.9:5000", "127.0.0.1:9000", 1), f.truth), f.snap.Sockets[0])
	})
	t.Run("AF_INET beats dual-stack in either order", func(t *testing.T) {
		// Scores 2 and 1: no CPU bonus for unconnected sockets, so the
		// AF_INET socket always wins (was "one-of").
		f := newFx()
		a := f.add(sockscope.UDP, "0.0.0.0:9000", sockscope.Close, so{ra: yes, rp: no})
		f.add(sockscope.UDP, "[::]:9000", sockscope.Close, so{ra: yes, rp: no, v6only: no})
		wantOne(t, Lookup(f.snap, seg(sockscope.UDP, "127.0.0.9:5000", "127.0.0.1:9000", 1), f.truth), a)
		g := newFx()
		g.add(sockscope.UDP, "[::]:9000", sockscope.Close, so{ra: yes, rp: no, v6only: no})
		a = g.add(sockscope.UDP, "0.0.0.0:9000", sockscope.Close, so{ra: yes, rp: no})
		wantOne(t, Lookup(g.snap, seg(sockscope.UDP, "127.0.0.9:5000", "127.0.0.1:9000", 1), g.truth), a)
	})
	t.Run("hidden SO_REUSEPORT is a hidden input", func(t *testing.T) {
		f := newFx()
		a := f.add(sockscope.UDP, "127.0.0.1:9000", sockscope.Close, so{ra: yes, rp: no})
		b := f.add(sockscope.UDP, "127.0.0.1:9000", sockscope.Close, so{ra: yes, rp: no})
		got := Lookup(f.snap, seg(sockscope.UDP, "127.0.0.9:5000", "127.0.0.1:9000", 1), nil)
		wantOneOf(t, got, a, b)
		if !got.Ambiguity.Has(HiddenInput) || !got.Ambiguity.Has(ReuseportHash) {
			t.Errorf("ambiguity %v, want hidden-input and reuseport-hash", got.Ambiguity.Strings())
		}
	})
	t.Run("single candidate: no scoring text", func(t *testing.T) {
		f := newFx()
		a := f.add(sockscope.UDP, "127.0.0.1:9000", sockscope.Close, so{ra: no, rp: no})
		got := Lookup(f.snap, seg(sockscope.UDP, "127.0.0.9:5000", "127.0.0.1:9000", 1), f.truth)
		wantOne(t, got, a)
		last := got.Steps[len(got.Steps)-1].Detail
		if last != "the only socket bound to 127.0.0.1:9000" {
			t.Errorf("last step %q", last)
		}
	})
	t.Run("not a local address", func(t *testing.T) {
		f := newFx()
		f.add(sockscope.UDP, "0.0.0.0:9000", sockscope.Close, so{ra: no, rp: no})
		s := seg(sockscope.UDP, "127.0.0.9:5000", "192.0.2.7:9000", 1)
		s.Local = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.1.2.3/32")}
		got := Lookup(f.snap, s, f.truth)
		if got.Verdict != NotLocal || len(got.Candidates) != 0 || !strings.Contains(steps(got), "not an address of this network namespace") {
			t.Errorf("got %s %v\n%s", got.Verdict, names(got.Candidates), steps(got))
		}
		s.Dst = netip.MustParseAddrPort("10.1.2.3:9000")
		if got := Lookup(f.snap, s, f.truth); got.Verdict != One {
			t.Errorf("local 10.1.2.3: got %s", got.Verdict)
		}
	})
	t.Run("reuseport group", func(t *testing.T) {
		f := newFx()
		var g []*sockscope.Socket
		for range 4 {
			g = append(g, f.add(sockscope.UDP, "127.0.0.1:9000", sockscope.Close, so{ra: no, rp: yes}))
		}
		got := Lookup(f.snap, seg(sockscope.UDP, "127.0.0.9:5000", "127.0.0.1:9000", 1), f.truth)
		wantOneOf(t, got, g...)
		if got.Ambiguity != ReuseportHash {
			t.Errorf("ambiguity %v, want reuseport-hash only", got.Ambiguity.Strings())
		}
	})
	t.Run("broadcast reaches every wildcard socket", func(t *testing.T) {
		f := newFx()
		a := f.add(sockscope.UDP, "0.0.0.0:9000", sockscope.Close, so{ra: yes})
		b := f.add(sockscope.UDP, "0.0.0.0:9000", sockscope.Close, so{ra: yes})
		f.add(sockscope.UDP, "127.0.0.1:9000", sockscope.Close, so{ra: yes})
		s := seg(sockscope.UDP, "127.0.0.9:5000", "127.255.255.255:9000", 1)
		s.Broadcast = true
		got := Lookup(f.snap, s, f.truth)
		if got.Verdict != All || len(got.Candidates) != 2 || !slices.Contains(got.Candidates, a) || !slices.Contains(got.Candidates, b) {
			t.Errorf("got %s %v", got.Verdict, names(got.Candidates))
		}
	})
	t.Run("none", func(t *testing.T) {
		f := newFx()
		f.add(sockscope.UDP, "127.0.0.1:9000", sockscope.Close, so{})
		got := Lookup(f.snap, seg(sockscope.UDP, "127.0.0.9:5000", "127.0.0.2:9000", 1), nil)
		if got.Verdict != None || !strings.Contains(steps(got), "port unreachable") {
			t.Errorf("got %s\n%s", got.Verdict, steps(got))
		}
	})
}

func TestExplainPort(t *testing.T) {
	f := newFx()
	f.add(sockscope.TCP, "0.0.0.0:443", sockscope.Listen, so{})
	f.add(sockscope.TCP, "127.0.0.1:443", sockscope.Established, so{remote: "127.0.0.9:5000"})
	f.add(sockscope.TCP, "127.0.0.1:443", sockscope.Established, so{remote: "127.0.0.9:5001"})
	f.add(sockscope.TCP, "127.0.0.1:443", sockscope.TimeWait, so{remote: "127.0.0.9:5002"})
	out := strings.Join(ExplainPort(f.snap, sockscope.Port{Proto: sockscope.TCP, Num: 443}), "\n")
	for _, w := range []string{"4 sockets share tcp/443", "2 ESTAB", "1 TIME-WAIT", "1 LISTEN", "1 socket listens", "127.0.0.1:443 reaches tcp 0.0.0.0:443 LISTEN"} {
		if !strings.Contains(out, w) {
			t.Errorf("explanation lacks %q:\n%s", w, out)
		}
	}
	// One listener: the Why names it and does not explain scoring (issue 9
	// item 9).
	if !strings.Contains(out, "Why: the only listener on ") || strings.Contains(out, "score") {
		t.Errorf("single-listener explanation explains scoring:\n%s", out)
	}
	out = strings.Join(ExplainPort(f.snap, sockscope.Port{Proto: sockscope.TCP, Num: 444}), "\n")
	if !strings.Contains(out, "No socket") {
		t.Errorf("free port: %s", out)
	}
}

func TestAnalyzePort(t *testing.T) {
	f := newFx()
	a := f.add(sockscope.UDP, "127.0.0.1:53", sockscope.Close, so{})
	f.add(sockscope.UDP, "127.0.0.1:53", sockscope.Established, so{remote: "127.0.0.9:5000"})
	rep := AnalyzePort(f.snap, sockscope.Port{Proto: sockscope.UDP, Num: 53}, f.truth)
	if !rep.Valid || rep.Sockets != 2 || rep.Listeners != 1 || rep.Namespaces != 1 || len(rep.States) != 2 || len(rep.Probes) != 1 {
		t.Fatalf("report %+v", rep)
	}
	if pr := rep.Probes[0]; pr.Segment.Dst != netip.MustParseAddrPort("127.0.0.1:53") || pr.Result.Verdict != One || pr.Result.Socket != a {
		t.Errorf("probe %+v -> %s", pr.Segment, pr.Result.Verdict)
	}
	out := strings.Join(rep.Sentences(), "\n")
	for _, w := range []string{"2 sockets share udp/53", "1 unconnected socket receives datagrams", "Why: the only socket bound to 127.0.0.1:53."} {
		if !strings.Contains(out, w) {
			t.Errorf("sentences lack %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "(s)") || strings.Contains(out, "score") {
		t.Errorf("sentences:\n%s", out)
	}
	if rep := AnalyzePort(f.snap, sockscope.Port{Proto: sockscope.Raw, Num: 53}, nil); rep.Valid {
		t.Errorf("raw is not a port: %+v", rep)
	}
}

// TestNoPanics feeds odd inputs.
func TestNoPanics(t *testing.T) {
	f := newFx()
	f.snap.Sockets = append(f.snap.Sockets, nil, &sockscope.Socket{Proto: sockscope.TCP, Family: sockscope.FamilyInet6, State: sockscope.Listen})
	f.add(sockscope.UDP, "[::ffff:0.0.0.0]:0", sockscope.Close, so{})
	for _, s := range []Segment{{}, {Proto: sockscope.TCP}, {Proto: sockscope.UDP, Dst: netip.MustParseAddrPort("[::1]:0"), Src: netip.MustParseAddrPort("1.2.3.4:5")}} {
		Lookup(f.snap, s, nil)
		Lookup(nil, s, nil)
	}
	for _, r := range []BindRequest{{}, {Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("[::]:0")}, {Proto: sockscope.UDP, Addr: netip.MustParseAddrPort("[::ffff:0.0.0.0]:0")}} {
		CheckBind(f.snap, r, Env{}, nil)
		CheckBind(nil, r, Env{}, func(*sockscope.Socket) Flags { return Flags{} })
	}
	ExplainPort(nil, sockscope.Port{})
	ExplainPort(f.snap, sockscope.Port{Proto: sockscope.TCP})
}
