package netns

import "testing"

func TestIsKernelThread(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"kthreadd", "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 8 0 0", true},
		{"user process", "1057 (bash) S 1056 1057 1057 34816 1057 4194560 100 0 0 0", false},
		{"name with spaces and parens", "77 (a) b (c)) S 1 77 77 0 -1 2129984 0", true},
		{"name with spaces, user", "77 (a) b (c)) S 1 77 77 0 -1 4194560 0", false},
		{"truncated", "2 (kthreadd) S 0 0", false},
		{"no paren", "2 kthreadd S 0 0 0 0 -1 2129984", false},
		{"bad flags", "2 (kthreadd) S 0 0 0 0 -1 x", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isKernelThread([]byte(tt.in)); got != tt.want {
				t.Errorf("isKernelThread(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzIsKernelThread(f *testing.F) {
	f.Add([]byte("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0"))
	f.Add([]byte("1 (init) S 0 1 1 0 -1 4194560"))
	f.Add([]byte(")))"))
	f.Fuzz(func(t *testing.T, in []byte) {
		_ = isKernelThread(in)
	})
}
