package render

import (
	"strings"
	"testing"
	"time"
)

// TestWatchFrameLag: the header says "lagging: every D" with the real
// time between refreshes, rounded, only when there is a lag.
func TestWatchFrameLag(t *testing.T) {
	taken := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		lag  time.Duration
		want string
	}{
		{0, "# 12:00:00  0 sockets  +0 -0 ~0  (every 1s)\n"},
		{2345 * time.Millisecond, "# 12:00:00  0 sockets  +0 -0 ~0  (every 1s; lagging: every 2.3s)\n"},
		{1500*time.Millisecond + 40*time.Microsecond, "# 12:00:00  0 sockets  +0 -0 ~0  (every 1s; lagging: every 1.5s)\n"},
		{123456 * time.Microsecond, "# 12:00:00  0 sockets  +0 -0 ~0  (every 1s; lagging: every 123ms)\n"},
	} {
		var b strings.Builder
		if err := WriteWatchFrame(&b, WatchFrame{Taken: taken, Interval: time.Second, Lag: tc.lag}, Style{Numeric: true}); err != nil {
			t.Fatal(err)
		}
		header, _, _ := strings.Cut(b.String(), "\n")
		if header+"\n" != tc.want {
			t.Errorf("lag %v: header %q, want %q", tc.lag, header+"\n", tc.want)
		}
	}
}
