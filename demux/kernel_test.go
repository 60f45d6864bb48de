package demux

import (
	"errors"
	"testing"

	"github.com/sockscope/sockscope"
)

// TestWithKernel: the kernel's answer names the receiver only for a
// one-of that it can decide, and only when it is one of the candidates.
func TestWithKernel(t *testing.T) {
	reply := func(s *sockscope.Socket) sockscope.LookupReply {
		return sockscope.LookupReply{Cookie: s.Cookie, Inode: s.Inode, Local: s.Local}
	}
	t.Run("reuseport group: the kernel's member", func(t *testing.T) {
		f := newFx()
		var g []*sockscope.Socket
		for range 3 {
			g = append(g, f.add(sockscope.TCP, "127.0.0.1:9000", sockscope.Listen, so{ra: no, rp: yes}))
		}
		res := Lookup(f.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.1:9000", 1), f.truth)
		got := WithKernel(res, CompareKernel(res, reply(g[1]), nil))
		if got.Verdict != One || got.Socket != g[1] || !got.KernelPick || len(got.Group) != 3 || got.Ambiguity != 0 || len(got.Candidates) != 1 {
			t.Fatalf("got %s %v pick %v group %d ambiguity %v", got.Verdict, names(got.Candidates), got.KernelPick, len(got.Group), got.Ambiguity.Strings())
		}
		if last := got.Steps[len(got.Steps)-1]; last.Name != "reuseport" || len(last.Matched) != 1 || last.Matched[0] != g[1] {
			t.Errorf("last step %+v, want reuseport naming the member", last)
		}
		// The model's own result is not modified.
		if res.Verdict != OneOf || res.KernelPick || len(res.Steps) != len(got.Steps)-1 {
			t.Errorf("WithKernel changed its argument: %s, %d steps", res.Verdict, len(res.Steps))
		}
	})
	t.Run("reuseport BPF program: stays one-of", func(t *testing.T) {
		f := newFx()
		var g []*sockscope.Socket
		for range 3 {
			g = append(g, f.add(sockscope.TCP, "127.0.0.1:9000", sockscope.Listen, so{ra: no, rp: yes}))
		}
		g[2].ReuseportProg = sockscope.Yes
		res := Lookup(f.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.1:9000", 1), f.truth)
		got := WithKernel(res, CompareKernel(res, reply(g[1]), nil))
		if got.Verdict != OneOf || got.KernelPick || !got.Ambiguity.Has(ReuseportBPF) || len(got.Candidates) != 3 {
			t.Fatalf("got %s %v pick %v ambiguity %v, want one-of reuseport-bpf", got.Verdict, names(got.Candidates), got.KernelPick, got.Ambiguity.Strings())
		}
		if last := got.Steps[len(got.Steps)-1]; last.Name != "reuseport" || last.Detail != ReuseportBPFDetail {
			t.Errorf("last step %+v, want reuseport saying a program decides", last)
		}
	})
	t.Run("unchanged", func(t *testing.T) {
		f := newFx()
		f.add(sockscope.TCP, "127.0.0.1:9000", sockscope.Listen, so{ra: no, rp: yes})
		f.add(sockscope.TCP, "127.0.0.1:9000", sockscope.Listen, so{ra: no, rp: yes})
		other := f.add(sockscope.TCP, "127.0.0.2:9000", sockscope.Listen, so{ra: no, rp: no})
		res := Lookup(f.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.1:9000", 1), f.truth)
		for name, k := range map[string]KernelCheck{
			"not asked":     {},
			"failed":        CompareKernel(res, sockscope.LookupReply{}, errors.New("EPERM")),
			"found none":    CompareKernel(res, sockscope.LookupReply{}, sockscope.ErrNoSocket),
			"not candidate": CompareKernel(res, reply(other), nil),
		} {
			if got := WithKernel(res, k); got.Verdict != OneOf || got.KernelPick || len(got.Candidates) != 2 {
				t.Errorf("%s: got %s pick %v", name, got.Verdict, got.KernelPick)
			}
		}
		one := Lookup(f.snap, seg(sockscope.TCP, "127.0.0.9:5000", "127.0.0.2:9000", 1), f.truth)
		if got := WithKernel(one, CompareKernel(one, reply(other), nil)); got.Verdict != One || got.KernelPick || got.Socket != other {
			t.Errorf("one socket: got %s pick %v", got.Verdict, got.KernelPick)
		}
	})
	t.Run("hidden options: the kernel knows them", func(t *testing.T) {
		f := newFx()
		a := f.add(sockscope.UDP, "127.0.0.1:9000", sockscope.Close, so{})
		f.add(sockscope.UDP, "127.0.0.1:9000", sockscope.Close, so{})
		res := Lookup(f.snap, seg(sockscope.UDP, "127.0.0.9:5000", "127.0.0.1:9000", 1), nil)
		if res.Verdict != OneOf || !res.Ambiguity.Has(HiddenInput) {
			t.Fatalf("model: %s %v, want one-of on hidden input", res.Verdict, res.Ambiguity.Strings())
		}
		got := WithKernel(res, CompareKernel(res, reply(a), nil))
		if got.Verdict != One || got.Socket != a || !got.KernelPick {
			t.Errorf("got %s %v", got.Verdict, names(got.Candidates))
		}
	})
	t.Run("UDP that may turn on the CPU stays one-of", func(t *testing.T) {
		// udpScored marks a one-of among scored sockets that include a
		// connected one (its sk_incoming_cpu may add +1 on one CPU only).
		f := newFx()
		a := f.add(sockscope.UDP, "127.0.0.1:9000", sockscope.Close, so{ra: yes, rp: no})
		c := f.add(sockscope.UDP, "127.0.0.1:9000", sockscope.Established, so{ra: yes, rp: no, remote: "127.0.0.9:5000"})
		res := LookupResult{Verdict: OneOf, Ambiguity: HiddenInput, Candidates: []*sockscope.Socket{a, c}, cpuInput: true}
		if got := WithKernel(res, CompareKernel(res, reply(c), nil)); got.Verdict != OneOf || got.KernelPick {
			t.Errorf("got %s pick %v, want one-of left", got.Verdict, got.KernelPick)
		}
	})
}
