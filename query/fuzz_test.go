package query

import (
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	seeds := []string{
		"", "state established ( dport = :ssh or sport = :ssh )",
		"state fin-wait-1 ( sport = :http or sport = :https ) dst 193.233.7/24",
		"exclude listening", "sport ge :1024", "state connected dport = :443",
		"src /tmp/.X11-unix/*", "dst [::1]:443", "src 2001:db8::/32:80", "not ( a",
		"((((", "))", "proc ng* or pid 1 and user 0", `proc \and`, "netns net:[1]",
		"dport>=1024", "!(sport = :1)", "dst 10.0.0.0/255.0.0.0", "src inet:*:80",
		"dst [2001:db8::]/32:443", "state estab exclude estab", "sport = :split",
		"\x00\xff(", "dst *:*", "user alice",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	opts := []Option{fixtureServices(f), testUsers}
	f.Fuzz(func(t *testing.T, in string) {
		flt, err := Parse(in, opts...)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q): error %T is not a *SyntaxError", in, err)
			}
			if se.Pos < 0 || se.Pos > len(in) {
				t.Fatalf("Parse(%q): Pos %d outside the input", in, se.Pos)
			}
			_ = se.Error()
			_ = se.Caret()
			return
		}
		s := flt.String()
		g, err := Parse(s, opts...)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not re-parse: %v", in, s, err)
		}
		if g.String() != s {
			t.Fatalf("Parse(%q): String %q re-parses as %q", in, s, g.String())
		}
		if g.States() != flt.States() || g.NeedsHolders() != flt.NeedsHolders() {
			t.Fatalf("Parse(%q): re-parse of %q changes States or NeedsHolders", in, s)
		}
		for _, sock := range fixtureSockets() {
			if flt.Match(sock) != g.Match(sock) {
				t.Fatalf("Parse(%q) and its canonical %q disagree on a socket", in, s)
			}
		}
	})
}
