package query

import "testing"

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		fold, want    bool
	}{
		{"", "", false, true},
		{"", "a", false, false},
		{"*", "", false, true},
		{"*", "/a/b", false, true}, // no FNM_PATHNAME
		{"/tmp/*", "/tmp/a/b", false, true},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"a?c", "aéc", false, true},
		{"*.sock", "/run/x.sock", false, true},
		{"*.sock", "/run/x.socket", false, false},
		{"[ab]*", "bcd", false, true},
		{"[!ab]*", "bcd", false, false},
		{"[^ab]*", "cd", false, true},
		{"[a-c]x", "bx", false, true},
		{"[a-c]x", "dx", false, false},
		{"[]]", "]", false, true},
		{"[", "[", false, true}, // malformed bracket: literal
		{"[ab", "[ab", false, true},
		{`\*`, "*", false, true},
		{`\*`, "a", false, false},
		{`a\`, `a\`, false, true},
		{"ABC", "abc", true, true},
		{"ABC", "abc", false, false},
		{"[A-C]", "b", true, true},
		{"a*b*c", "aXXbYYc", false, true},
		{"a*b*c", "aXXbYY", false, false},
		{"*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.name, tt.fold); got != tt.want {
			t.Errorf("globMatch(%q, %q, %v) = %v, want %v", tt.pattern, tt.name, tt.fold, got, tt.want)
		}
	}
}
