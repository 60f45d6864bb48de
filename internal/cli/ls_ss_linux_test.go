package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// runCLIIn calls Main with stdin and a terminal flag.
func runCLIIn(t *testing.T, stdin string, tty bool, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errb, OutTTY: tty,
		Getenv: func(k string) string {
			if k == "NO_COLOR" {
				return "1"
			}
			return ""
		}})
	return out.String(), errb.String(), code
}

// TestLsSSSwitches: -H drops the header on a terminal, -F reads the
// filter from a file or stdin as if typed, --query tcp is -t, -O is
// accepted, -D is refused.
func TestLsSSSwitches(t *testing.T) {
	port, _ := server(t, 1)
	flt := "sport = :" + strconv.Itoa(port) + " or dport = :" + strconv.Itoa(port)
	want, stderr, code := runCLIIn(t, "", true, "ls", "-tan", flt)
	if code != 0 || !strings.HasPrefix(want, "NETID") || strings.Count(want, "\n") != 4 {
		t.Fatalf("ls -tan on a terminal: exit %d, want a header and 3 rows:\n%s%s", code, want, stderr)
	}

	if got, _, code := runCLIIn(t, "", true, "ls", "-tanH", flt); code != 0 || strings.Contains(got, "NETID") || strings.Count(got, "\n") != 3 {
		t.Errorf("-H: exit %d:\n%s", code, got)
	}
	file := filepath.Join(t.TempDir(), "filter")
	if err := os.WriteFile(file, []byte("# the test's connection\nsport = :"+strconv.Itoa(port)+"\n  or dport = :"+strconv.Itoa(port)+" # both ends\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, stderr, code := runCLIIn(t, "", true, "ls", "-tan", "-F", file); code != 0 || got != want {
		t.Errorf("-F FILE: exit %d:\n%s\nwant\n%s%s", code, got, want, stderr)
	}
	if got, stderr, code := runCLIIn(t, flt, true, "ls", "-tan", "-F", "-"); code != 0 || got != want {
		t.Errorf("-F -: exit %d:\n%s\nwant\n%s%s", code, got, want, stderr)
	}
	if got, stderr, code := runCLIIn(t, "", true, "ls", "-an", "--query", "tcp", "-O", flt); code != 0 || got != want {
		t.Errorf("--query tcp -O: exit %d:\n%s\nwant\n%s%s", code, got, want, stderr)
	}
	// -O: the -i details stay on the socket's line on a terminal.
	multi, _, code := runCLIIn(t, "", true, "ls", "-tani", flt)
	one, stderr, code2 := runCLIIn(t, "", true, "ls", "-taniO", flt)
	if code != 0 || code2 != 0 || strings.Count(multi, "\n") <= 4 || strings.Count(one, "\n") != 4 || !strings.Contains(one, "DETAILS") || strings.Count(one, " rtt:") != 2 {
		t.Errorf("-i on a terminal:\n%s\n-iO:\n%s%s", multi, one, stderr)
	}
	for _, args := range [][]string{
		{"ls", "-D", "dump.bin"},
		{"ls", "-F", filepath.Join(t.TempDir(), "missing")},
		{"ls", "-F", file, "sport", "=", ":1"},
		{"ls", "--query", "tcp,bogus"},
		{"ls", "--query", "unix_stream"},
		{"ls", "--dry-run"},
	} {
		if _, stderr, code := runCLI(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, ExitUsage, stderr)
		}
	}
}
