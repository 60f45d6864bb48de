package query

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sockscope/sockscope"
)

// fixtureServices resolves names from testdata/services, so tests do not
// depend on the machine's /etc/services.
func fixtureServices(t testing.TB) Option {
	t.Helper()
	f, err := os.Open("testdata/services")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tab := parseServices(f)
	return WithServices(tab.lookup)
}

var testUsers = WithUsers(func(name string) (uint32, bool) {
	switch name {
	case "root":
		return 0, true
	case "www-data":
		return 33, true
	case "alice":
		return 1000, true
	}
	return 0, false
})

func mustParse(t testing.TB, s string) *Filter {
	t.Helper()
	f, err := Parse(s, fixtureServices(t), testUsers)
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			t.Fatalf("Parse(%q): %v\n%s", s, err, se.Caret())
		}
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return f
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical String()
	}{
		{"", ""},
		{"   ", ""},
		{"state established", "state established"},
		{"state ESTABLISHED", "state established"},
		{"state estab", "state established"},
		{"state listen", "state listening"},
		{"state unconnected", "state closed"},
		{"state close", "state closed"},
		{"state syn-rcv", "state syn-recv"},
		{"state all", ""},
		{"state connected", "state connected"},
		{"state synchronized", "state synchronized"},
		{"state bucket", "state bucket"},
		{"state big", "state big"},
		{"state established state time-wait", "state established state time-wait"},
		{"exclude listening", "exclude listening"},
		{"excl listening exclude closed", "exclude closed exclude listening"},
		{"exclude listening state listening", ""},
		{"state connected exclude time-wait", "exclude time-wait exclude closed exclude listening exclude bound-inactive"},
		{"state connected dport = :443", "state connected dport = :443"},
		{"dport = :443 state connected", "state connected dport = :443"},
		{"state established and dport = :443", "state established dport = :443"},
		{"dport = :443 and state established", "state established dport = :443"},
		// Ports: forms and operators.
		{"sport = :22", "sport = :22"},
		{"sport :22", "sport = :22"},
		{"sport 22", "sport = :22"},
		{"sport == 22", "sport = :22"},
		{"sport eq :ssh", "sport = :22"},
		{"dport = :http", "dport = :80"},
		{"dport = www", "dport = :80"},
		{"dport = :ntp", "dport = :123"},
		{"dport = :udponly", "dport = :7002"},
		{"sport != :22", "not sport = :22"},
		{"sport ne :22", "not sport = :22"},
		{"sport neq :22", "not sport = :22"},
		{"sport < :1024", "sport < :1024"},
		{"sport lt :1024", "sport < :1024"},
		{"sport <= :1024", "sport <= :1024"},
		{"sport le :1024", "sport <= :1024"},
		{"sport leq :1024", "sport <= :1024"},
		{"sport > :1024", "sport > :1024"},
		{"sport gt :1024", "sport > :1024"},
		{"sport >= :1024", "sport >= :1024"},
		{"sport ge :1024", "sport >= :1024"},
		{"sport geq :1024", "sport >= :1024"},
		{"sport = :0", "sport = :0"},
		{"sport = :65535", "sport = :65535"},
		{"sport = *", "sport = *"},
		{"sport = :*", "sport = *"},
		{"sport != *", "not sport = *"},
		{"dport>=1024", "dport >= :1024"},
		{"dport=:ssh", "dport = :22"},
		{"SPORT = :22", "sport = :22"},
		// Hosts.
		{"dst 10.0.0.1", "dst 10.0.0.1"},
		{"dst = 10.0.0.1", "dst 10.0.0.1"},
		{"dst != 10.0.0.1", "not dst 10.0.0.1"},
		{"dst 10.0.0.0/8", "dst 10.0.0.0/8"},
		{"dst 10.1.2.3/8", "dst 10.0.0.0/8"},
		{"dst 10/8", "dst 10.0.0.0/8"},
		{"dst 193.233.7/24", "dst 193.233.7.0/24"},
		{"dst 10.0.0.0/255.0.0.0", "dst 10.0.0.0/8"},
		{"dst 0.0.0.0/0", "dst 0.0.0.0/0"},
		{"dst 10.0.0.1:80", "dst 10.0.0.1:80"},
		{"dst 10.0.0.0/8:80", "dst 10.0.0.0/8:80"},
		{"dst 10.0.0.1:https", "dst 10.0.0.1:443"},
		{"dst 10.0.0.1:*", "dst 10.0.0.1"},
		{"src [::1]", "src [::1]"},
		{"src [::1]:443", "src [::1]:443"},
		{"src ::1", "src [::1]"},
		{"src ::", "src [::]"},
		{"src :::80", "src [::]:80"},
		{"src 2001:db8::/32", "src 2001:db8::/32"},
		{"src 2001:db8::/32:443", "src 2001:db8::/32:443"},
		{"src [2001:db8::]/32:443", "src 2001:db8::/32:443"},
		{"src [2001:db8::/32]:443", "src 2001:db8::/32:443"},
		{"src [::ffff:127.0.0.1]", "src [::ffff:127.0.0.1]"},
		{"src *", "src *"},
		{"src *:80", "src *:80"},
		{"src :80", "src *:80"},
		{"src *:*", "src *"},
		{"src inet:*", "src inet:*"},
		{"src inet:*:80", "src inet:*:80"},
		{"src inet6:[::1]:80", "src inet6:[::1]:80"},
		{"src inet:127.0.0.1", "src inet:127.0.0.1"},
		{"src unix:/run/*.sock", "src unix:/run/*.sock"},
		{"src /tmp/.X11-unix/*", "src unix:/tmp/.X11-unix/*"},
		{"src @abstract", "src unix:@abstract"},
		{`src unix:/tmp/a\ b`, `src unix:/tmp/a\ b`},
		{"dst unix:", "dst unix:"},
		// Boolean structure: left to right, equal precedence.
		{"sport = :22 or sport = :80", "sport = :22 or sport = :80"},
		{"sport = :22 || sport = :80", "sport = :22 or sport = :80"},
		{"sport = :22 | sport = :80", "sport = :22 or sport = :80"},
		{"sport = :22 and dport = :80", "sport = :22 and dport = :80"},
		{"sport = :22 && dport = :80", "sport = :22 and dport = :80"},
		{"sport = :22 & dport = :80", "sport = :22 and dport = :80"},
		{"sport = :22 dport = :80", "sport = :22 and dport = :80"},
		{"sport = :22 or sport = :80 and dport = :1", "( sport = :22 or sport = :80 ) and dport = :1"},
		{"sport = :22 or ( sport = :80 and dport = :1 )", "sport = :22 or ( sport = :80 and dport = :1 )"},
		{"sport = :22 and sport = :80 or dport = :1", "( sport = :22 and sport = :80 ) or dport = :1"},
		{"not sport = :22", "not sport = :22"},
		{"! sport = :22", "not sport = :22"},
		{"!sport = :22", "not sport = :22"},
		{"not not sport = :22", "not not sport = :22"},
		{"not ( sport = :22 or sport = :80 )", "not ( sport = :22 or sport = :80 )"},
		{"not sport = :22 and dport = :1", "not sport = :22 and dport = :1"},
		{"(sport = :22)", "sport = :22"},
		{"((sport = :22))", "sport = :22"},
		{"( dport = :ssh or sport = :ssh )", "dport = :22 or sport = :22"},
		{"(dport = :ssh or sport = :ssh)", "dport = :22 or sport = :22"},
		{"!(sport = :1)", "not sport = :1"},
		// sockscope's own terms.
		{"proc nginx", "proc nginx"},
		{"proc = nginx", "proc nginx"},
		{"proc != nginx", "not proc nginx"},
		{"proc 'ng*'", "proc 'ng*'"},
		{"proc ng*", "proc ng*"},
		{"pid 1", "pid 1"},
		{"pid = 4242", "pid 4242"},
		{"user root", "user root"},
		{"user 1000", "user 1000"},
		{"user alice", "user alice"},
		{"netns host", "netns host"},
		{"netns 4026531840", "netns 4026531840"},
		{"netns net:[4026531840]", "netns net:[4026531840]"},
		{"container 3f2a", "container 3f2a"},
		{"unit nginx", "unit nginx"},
		{"unit 'nginx*'", "unit 'nginx*'"},
		{`proc \and`, `proc \and`},
		{`proc a=b`, `proc \a=b`},
		{`netns \le`, `netns \le`},
		{`netns = le`, `netns \le`},
		{`proc \(x\)`, `proc \(x\)`},
		{"state listening proc sshd or proc nginx", "state listening proc sshd or proc nginx"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			f := mustParse(t, tt.in)
			if got := f.String(); got != tt.want {
				t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
			// Canonical form is a fixed point.
			g := mustParse(t, f.String())
			if g.String() != f.String() {
				t.Errorf("re-parse of %q gives %q", f.String(), g.String())
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		in      string
		pos     int
		msg     string // a fragment the message must contain
		inValid string // an entry Valid must contain ("" = any)
	}{
		{"stat established", 0, `did you mean "state"`, "state"},
		{"sprot = :22", 0, `did you mean "sport"`, "sport"},
		{"dprot = :22", 0, `did you mean "dport"`, "dport"},
		{"foo", 0, "unknown keyword", "sport"},
		{"established", 0, `write "state established"`, ""},
		{":22", 0, "expected a term", ""},
		{"state establised", 6, `did you mean "established"`, "established"},
		{"state listenin", 6, `did you mean "listening"`, "listening"},
		{"state nonsense", 6, "unknown state", "time-wait"},
		{"state new-syn-recv", 6, "kernel detail", ""},
		{"state", 5, "missing state", "established"},
		{"state (", 6, "missing state", ""},
		{"state established exclude established", 18, "no state", ""},
		{"( state established )", 2, "inside parentheses", ""},
		{"not state established", 4, "negated", "exclude"},
		{"sport = :22 or state established", 15, `after "or"`, ""},
		{"sport = :70000", 9, "out of range 0-65535", ":PORT (0-65535)"},
		{"sport = 70000", 8, "out of range", ""},
		{"sport = :-1", 9, "out of range", ""},
		{"sport = :nosuchservice", 9, "unknown service", ""},
		{"sport = :split", 9, "ambiguous service", ""},
		{"sport = :a%b", 9, "not a number or a service name", ""},
		{"sport = :", 9, "missing port number", ""},
		{"sport =", 7, "missing port", "*"},
		{"sport", 5, "missing port", "="},
		{"sport > *", 8, "wildcard", ""},
		{"sport = 127.0.0.1:80", 8, "not an address", ""},
		{"dst 10.0.0.256", 4, "malformed IPv4", "ADDR/LEN"},
		{"dst 10.0.0.1.2", 4, "malformed IPv4", ""},
		{"dst 010.0.0.1", 4, "malformed IPv4", ""},
		{"dst 10.0.0", 4, `did you mean "10.0.0.0/24"`, ""},
		{"dst 10.0.0.0/33", 13, "out of range 0-32", ""},
		{"dst 10.0.0.0/x", 13, "malformed prefix length", ""},
		{"dst 10.0.0.0/255.0.255.0", 13, "malformed netmask", ""},
		{"dst ::1/129", 8, "out of range 0-128", ""},
		{"dst [::1", 4, `missing "]"`, ""},
		{"dst [::1]80", 9, `":PORT"`, ""},
		{"dst [10.0.0.1]", 4, "brackets", ""},
		{"dst [zz::1]", 4, "malformed IPv6", ""},
		{"dst fe80::1%eth0", 4, "zones", ""},
		{"dst localhost", 4, "host names", ""},
		{"dst 10.0.0.1:99999", 13, "out of range", ""},
		{"dst *80", 5, `":PORT"`, ""},
		{"dst inet:[::1]", 9, "family", ""},
		{"dst inet6:127.0.0.1", 10, "family", ""},
		{"dst link:eth0", 4, "not supported", ""},
		{"dst", 3, "missing address", "ADDR"},
		{"dst > 1.2.3.4", 4, "takes = or !=", "="},
		{"( sport = :22", 0, `unbalanced "("`, ")"},
		{"sport = :22 )", 12, `unbalanced ")"`, ""},
		{"( )", 2, "empty parentheses", ""},
		{"sport = :22 or", 14, `missing operand after "or"`, "sport"},
		{"sport = :22 and", 15, `missing operand after "and"`, ""},
		{"state established and", 21, `missing operand after "and"`, ""},
		{"state established and or sport = :1", 22, "missing operand between", ""},
		{"or sport = :22", 0, `missing operand before "or"`, ""},
		{"sport = :22 or or sport = :80", 15, "missing operand between", ""},
		{"not", 3, `missing operand after "not"`, ""},
		{"not )", 4, `missing operand after "not"`, ""},
		{"sport = :22 :80", 12, "expected a term", ""},
		{"sport = :22 garbage", 12, "unknown keyword", ""},
		{"dev eth0", 0, "not supported", ""},
		{"autobound", 0, "not supported", ""},
		{"pid 0", 4, "not a process id", ""},
		{"pid abc", 4, "not a process id", ""},
		{"pid", 3, "missing process id", ""},
		{"user nobodyatall", 5, "unknown user", ""},
		{"user 99999999999", 5, "out of range", ""},
		{"proc < x", 5, "takes = or !=", ""},
		{"netns 99999999999999999999999", 6, "out of range", ""},
		{`proc \`, 5, "empty", ""},
		{"sport = :22 ( dport = :1", 12, `unbalanced "("`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			f, err := Parse(tt.in, fixtureServices(t), testUsers)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want an error", tt.in, f.String())
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %v is %T, want *SyntaxError", tt.in, err, err)
			}
			if se.Pos != tt.pos {
				t.Errorf("Parse(%q): Pos = %d, want %d (%v)\n%s", tt.in, se.Pos, tt.pos, err, se.Caret())
			}
			if se.Input != tt.in {
				t.Errorf("Input = %q, want %q", se.Input, tt.in)
			}
			if !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("Parse(%q): Msg = %q, want it to contain %q", tt.in, se.Msg, tt.msg)
			}
			if tt.inValid != "" && !slices.Contains(se.Valid, tt.inValid) {
				t.Errorf("Parse(%q): Valid = %q, want it to contain %q", tt.in, se.Valid, tt.inValid)
			}
			if s := err.Error(); !strings.HasPrefix(s, "filter: ") || strings.Contains(s, "\n") {
				t.Errorf("Error() = %q, want one line starting with \"filter: \"", s)
			}
		})
	}
}

// TestSSExamples checks that the examples of ss(8) and of ss's help parse,
// and mean what ss means.
func TestSSExamples(t *testing.T) {
	tests := []struct {
		in     string
		states sockscope.StateSet
		want   string
	}{
		{"state established '( dport = :ssh or sport = :ssh )'", 0, ""}, // quotes are the shell's: see below
		{"state established ( dport = :ssh or sport = :ssh )", sockscope.StateSet(0).With(sockscope.Established), "state established dport = :22 or sport = :22"},
		{"state established '(' dport = :ssh or sport = :ssh ')'", 0, ""},
		{"state fin-wait-1 ( sport = :http or sport = :https ) dst 193.233.7/24", sockscope.StateSet(0).With(sockscope.FinWait1), "state fin-wait-1 ( sport = :80 or sport = :443 ) and dst 193.233.7.0/24"},
		{"src /tmp/.X11-unix/*", sockscope.AllStates, "src unix:/tmp/.X11-unix/*"},
		{"sport ge :1024", sockscope.AllStates, "sport >= :1024"},
		{"exclude listening", sockscope.AllStates &^ sockscope.StateSet(0).With(sockscope.Listen), "exclude listening"},
		{"state connected dport = :443", sockscope.StatesConnected, "state connected dport = :443"},
		{"dst 10.0.0.0/8 and not sport = :22", sockscope.AllStates, "dst 10.0.0.0/8 and not sport = :22"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if tt.want == "" {
				// The shell removes these quotes; the CLI receives the
				// unquoted words, joined with spaces.
				tt.in = strings.ReplaceAll(tt.in, "'", "")
				f := mustParse(t, tt.in)
				if f.String() != "state established dport = :22 or sport = :22" {
					t.Errorf("String() = %q", f.String())
				}
				return
			}
			f := mustParse(t, tt.in)
			if f.String() != tt.want {
				t.Errorf("String() = %q, want %q", f.String(), tt.want)
			}
			if f.States() != tt.states {
				t.Errorf("States() = %b, want %b", f.States(), tt.states)
			}
		})
	}
}

func TestStatesAndHolders(t *testing.T) {
	tests := []struct {
		in      string
		states  sockscope.StateSet
		holders bool
	}{
		{"", sockscope.AllStates, false},
		{"sport = :22", sockscope.AllStates, false},
		{"state listening", sockscope.StateSet(0).With(sockscope.Listen), false},
		{"state listening state established", sockscope.StateSet(0).With(sockscope.Listen, sockscope.Established), false},
		{"exclude listening exclude closed", sockscope.AllStates &^ sockscope.StateSet(0).With(sockscope.Listen, sockscope.Close), false},
		{"state bucket exclude time-wait", sockscope.StateSet(0).With(sockscope.SynRecv), false},
		{"proc sshd", sockscope.AllStates, true},
		{"not pid 1", sockscope.AllStates, true},
		{"sport = :1 or user 0", sockscope.AllStates, true},
		{"netns host", sockscope.AllStates, false},
		{"container x", sockscope.AllStates, true}, // also matches the holders' container
		{"unit y", sockscope.AllStates, true},      // a host namespace holds many units
		{"netns host container x unit y", sockscope.AllStates, true},
	}
	for _, tt := range tests {
		f := mustParse(t, tt.in)
		if f.States() != tt.states {
			t.Errorf("Parse(%q).States() = %b, want %b", tt.in, f.States(), tt.states)
		}
		if f.NeedsHolders() != tt.holders {
			t.Errorf("Parse(%q).NeedsHolders() = %v, want %v", tt.in, f.NeedsHolders(), tt.holders)
		}
	}
	var nilF *Filter
	if nilF.States() != sockscope.AllStates || nilF.NeedsHolders() || nilF.String() != "" || !nilF.Match(&sockscope.Socket{}) || !nilF.Match(nil) {
		t.Error("nil *Filter must match everything and constrain nothing")
	}
}

func TestSyntaxErrorCaret(t *testing.T) {
	_, err := Parse("state establised", fixtureServices(t))
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want *SyntaxError", err)
	}
	lines := strings.Split(se.Caret(), "\n")
	if len(lines) != 3 {
		t.Fatalf("Caret() has %d lines, want 3:\n%s", len(lines), se.Caret())
	}
	if lines[0] != "state establised" || lines[1] != "      ^" {
		t.Errorf("Caret() =\n%s", se.Caret())
	}
	if !strings.HasPrefix(lines[2], "valid here: ") || !strings.Contains(lines[2], "established") {
		t.Errorf("third line = %q, want the valid state names", lines[2])
	}
	want := `filter: unknown state "establised"; did you mean "established"? at position 6 (near "establised")`
	if se.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", se.Error(), want)
	}

	// Non-ASCII and control characters keep the caret under the word.
	_, err = Parse("proc é\tstat x", fixtureServices(t))
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want *SyntaxError", err)
	}
	lines = strings.Split(se.Caret(), "\n")
	if lines[0] != "proc é stat x" || lines[1] != "       ^" {
		t.Errorf("Caret() =\n%s", se.Caret())
	}

	// An error at the end points past the last word.
	_, err = Parse("sport =", fixtureServices(t))
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want *SyntaxError", err)
	}
	if !strings.Contains(se.Error(), `(near "=")`) || strings.Split(se.Caret(), "\n")[1] != "       ^" {
		t.Errorf("Error() = %q, Caret() =\n%s", se.Error(), se.Caret())
	}
}

func TestParseLongInput(t *testing.T) {
	in := strings.Repeat("( ", maxTokens) + "sport = :1"
	if _, err := Parse(in, fixtureServices(t)); err == nil {
		t.Error("a filter of more than maxTokens words parsed")
	}
	deep := strings.Repeat("( ", 500) + "sport = :1" + strings.Repeat(" )", 500)
	f := mustParse(t, deep)
	if f.String() != "sport = :1" {
		t.Errorf("String() = %q", f.String())
	}
	nots := strings.Repeat("not ", 1000) + "sport = :1"
	mustParse(t, nots)
}

// caretColumn returns the caret line's column of "^" and the input line
// of a SyntaxError for in.
func caretColumn(t *testing.T, in string) (echo string, col int) {
	t.Helper()
	_, err := Parse(in, fixtureServices(t))
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("Parse(%q): got %v, want *SyntaxError", in, err)
	}
	lines := strings.Split(se.Caret(), "\n")
	if len(lines) != 3 || strings.TrimLeft(lines[1], " ") != "^" {
		t.Fatalf("Parse(%q): Caret() =\n%s", in, se.Caret())
	}
	return lines[0], len(lines[1]) - 1
}

// TestCaretDisplayWidth (issue 15 item 8): the caret counts terminal
// columns, not runes: a CJK character takes two, a combining mark none,
// and a format character (U+202E) or an invalid byte is shown as a space.
func TestCaretDisplayWidth(t *testing.T) {
	for _, tt := range []struct {
		in, echo string
		col      int
	}{
		{"proc 日本語 stat x", "proc 日本語 stat x", 12},
		{"proc ｆｕｌｌ stat x", "proc ｆｕｌｌ stat x", 14},
		{"proc e\u0301e\u0301 stat x", "proc e\u0301e\u0301 stat x", 8},
		{"proc a\u202eb stat x", "proc a b stat x", 9},
		{"proc a\xffb stat x", "proc a b stat x", 9},
	} {
		echo, col := caretColumn(t, tt.in)
		if echo != tt.echo || col != tt.col {
			t.Errorf("Parse(%q): caret under column %d of %q, want column %d of %q", tt.in, col, echo, tt.col, tt.echo)
		}
	}
}

// TestCaretTooLong (issue 15 item 8): "filter too long" points at the
// first token past the limit, also inside one long word, and a long
// input is cut around the caret rather than printed whole.
func TestCaretTooLong(t *testing.T) {
	for _, in := range []string{
		strings.Repeat("(", maxTokens+50) + " sport = :1",
		strings.Repeat("( ", maxTokens+50) + "sport = :1",
	} {
		_, err := Parse(in, fixtureServices(t))
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(se.Msg, "too long") {
			t.Fatalf("got %v, want filter too long", err)
		}
		// The first token past the limit is the (maxTokens+1)th "(".
		if n := strings.Count(in[:se.Pos], "("); n != maxTokens {
			t.Errorf("Pos %d follows %d tokens, want %d", se.Pos, n, maxTokens)
		}
		echo, col := caretColumn(t, in)
		runes := []rune(echo)
		if col == 0 || col >= len(runes) || runes[col] != '(' {
			t.Errorf("caret at column %d of %q, want under a parenthesis past column 0", col, echo)
		}
		if w := len(runes); w > 2*caretContext+2 {
			t.Errorf("the input line is %d columns, want it cut to about %d", w, 2*caretContext)
		}
		if !strings.HasPrefix(echo, "…") || !strings.HasSuffix(echo, "…") {
			t.Errorf("a cut input line is not marked with …: %q", echo)
		}
	}
}
