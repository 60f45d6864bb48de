package render

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostile are strings an attacker can put in a process name, command line
// or Unix socket path.
var hostile = []string{
	"",
	"nginx",
	"\x1b[31mred\x1b[0m",
	"\x1b]0;title\x07",
	"\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\",
	"line1\nline2\r\n",
	"tab\there",
	"nul\x00byte",
	"\x7fdel",
	"\x9b31m", // C1 CSI as a raw byte: invalid UTF-8
	"\u009b31m",
	"bad\xff\xfeutf8",
	"\xc3", // truncated sequence
	"rtl\u202eevil\u202c",
	"zero\u200bwidth",
	"line\u2028sep\u2029",
	"back\\slash",
	"quote\"d",
	"日本語 ok",
	"emoji 🙂",
	strings.Repeat("A\x1b", 5000),
}

// checkTerminalSafe fails when out could act on a terminal: any C0/C1
// control byte or DEL, invalid UTF-8, or a bidi/format character.
func checkTerminalSafe(t *testing.T, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("Sanitize(%q) = %q: not valid UTF-8", in, out)
	}
	for _, r := range out {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || isBidiOrFormat(r) || r == 0x2028 || r == 0x2029 {
			t.Errorf("Sanitize(%q) = %q: contains %U", in, out, r)
			return
		}
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nginx", "nginx"},
		{"\x1b[31mred", `\x1b[31mred`},
		{"\x1b]0;title\x07", `\x1b]0;title\x07`},
		{"a\nb\tc\rd", `a\nb\tc\rd`},
		{"nul\x00", `nul\x00`},
		{"\x7f", `\x7f`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"\u009b", `\u009b`},
		{"rtl\u202e", `rtl\u202e`},
		{"back\\slash", `back\\slash`},
		{"日本語", "日本語"},
		{"\U000e0001", `\U000e0001`}, // language tag: not printable
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in); got != tt.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, in := range hostile {
		out := Sanitize(in)
		checkTerminalSafe(t, in, out)
		if got := string(AppendSanitized([]byte("x"), in)); got != "x"+out {
			t.Errorf("AppendSanitized(%q) = %q, want %q", in, got, "x"+out)
		}
	}
}

// TestSanitizeInjective checks that distinct inputs stay distinguishable: a
// literal backslash sequence never looks like an escaped control byte.
func TestSanitizeInjective(t *testing.T) {
	if Sanitize("\x1b") == Sanitize(`\x1b`) {
		t.Errorf("Sanitize conflates ESC and the text \\x1b: %q", Sanitize("\x1b"))
	}
}

func checkJSONString(t *testing.T, in string) {
	t.Helper()
	b := appendJSONString(nil, in)
	if !json.Valid(b) {
		t.Fatalf("appendJSONString(%q) = %s: not valid JSON", in, b)
	}
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			t.Fatalf("appendJSONString(%q) = %q: raw control byte %#x", in, b, c)
		}
	}
	var got string
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	want := in
	if !utf8.ValidString(in) {
		// Each invalid byte becomes U+FFFD, as encoding/json does.
		want = string([]rune(in))
	}
	if got != want {
		t.Errorf("appendJSONString(%q) decodes to %q, want %q", in, got, want)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, in := range hostile {
		checkJSONString(t, in)
	}
	// Same bytes as encoding/json for valid UTF-8 without HTML characters.
	for _, in := range []string{"a\"b\\c", "\x00\x1f", "日本"} {
		want, _ := json.Marshal(in)
		if got := appendJSONString(nil, in); string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", in, got, want)
		}
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkTerminalSafe(t, in, Sanitize(in))
	})
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkJSONString(t, in)
	})
}
