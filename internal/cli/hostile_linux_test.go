package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/netns"
	"github.com/sockscope/sockscope/internal/nstest"
	"github.com/sockscope/sockscope/render"
)

// runCLITTY is runCLI with Out taken for a terminal, colours off.
func runCLITTY(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "NO_COLOR" {
			return "1"
		}
		return ""
	}
	code = Main(context.Background(), args, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, OutTTY: true, Getenv: getenv})
	return out.String(), errb.String(), code
}

// hostileNetNS creates a named namespace (ip netns add, deleted when the
// test ends) with a TCP listener on port, held by the test.
func hostileNetNS(t *testing.T, name string, port int) {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns add %q: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %q: %v: %s", name, err, out)
		}
	})
	ns, err := netns.Resolve(name, "/proc")
	if err != nil {
		t.Fatal(err)
	}
	socketIn(t, ns, unix.SOCK_STREAM, [4]byte{}, port)
}

// checkTerminalSafe fails unless out is valid UTF-8 without a control
// character other than newline and tab, nor a bidi override.
func checkTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s: output is not valid UTF-8:\n%q", what, out)
		return
	}
	for i, r := range out {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e' {
			t.Errorf("%s: raw %U at byte %d:\n%q", what, r, i, out)
			return
		}
	}
}

// TestHostileNetNSNames (issue 15 item 3): namespaces whose ip netns names
// hold escape sequences (window title, clear screen, bell) or an invalid
// UTF-8 byte are shown escaped by every view that names namespaces (ls -A
// NETNS column, the ports view's headings, port -A), on a terminal and in
// a pipe; the JSON documents stay valid UTF-8 and carry the name (an
// invalid byte as U+FFFD).
func TestHostileNetNSNames(t *testing.T) {
	if !nstest.Isolate(t) {
		return
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) is not installed")
	}
	pid := os.Getpid()
	names := []string{
		fmt.Sprintf("x%d\x1b]0;T\a\x1b[2J", pid),
		fmt.Sprintf("bad%d\xff", pid),
		fmt.Sprintf("rtl%d\u202eevil", pid),
	}
	port := 20000 + rand.IntN(40000)
	for _, name := range names {
		hostileNetNS(t, name, port)
	}
	p := strconv.Itoa(port)
	for _, args := range [][]string{{"ls", "-A", "-l"}, {"ls", "-A", "-ltp"}, {"-A"}, {"port", p, "-A"}} {
		for _, tty := range []bool{false, true} {
			run := runCLI
			if tty {
				run = runCLITTY
			}
			out, stderr, code := run(t, args...)
			what := fmt.Sprintf("%v (terminal %v)", args, tty)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", what, code, stderr)
			}
			checkTerminalSafe(t, what, out)
			checkTerminalSafe(t, what+" stderr", stderr)
			for _, name := range names {
				if want := render.Sanitize(name); !strings.Contains(out, want) {
					t.Errorf("%s: the namespace %q is not shown as %q:\n%s", what, name, want, out)
				}
			}
		}
	}
	// A name that does not exist: the error quotes it and lists the
	// known names, each escaped once.
	_, stderr, code := runCLI(t, "ls", "--netns", "nosuch\x1b")
	checkTerminalSafe(t, "--netns nosuch", stderr)
	if code != ExitUsage || !strings.Contains(stderr, `"nosuch\x1b"`) || strings.Contains(stderr, `\\`) {
		t.Errorf("--netns nosuch\\x1b: exit %d, want %d, the name quoted once:\n%s", code, ExitUsage, stderr)
	}
	for _, name := range names {
		if !strings.Contains(stderr, strconv.Quote(name)) {
			t.Errorf("--netns nosuch: the known name %q is not listed as %s:\n%s", name, strconv.Quote(name), stderr)
		}
	}
	for _, args := range [][]string{{"ls", "-A", "-l"}, {"-A"}, {"port", p, "-A"}} {
		args = append(args, "-o", "json")
		out, stderr, code := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		if !utf8.ValidString(out) || !json.Valid([]byte(out)) {
			t.Fatalf("%v: not valid JSON in UTF-8:\n%q", args, out)
		}
		// Every "netns" object, wherever it is in the document.
		var found []string
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				if ns, ok := v["netns"].(map[string]any); ok {
					if n, ok := ns["name"].(string); ok {
						found = append(found, n)
					}
				}
				for _, e := range v {
					walk(e)
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			}
		}
		var doc any
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		walk(doc)
		for _, name := range names {
			want := strings.ToValidUTF8(name, "\ufffd")
			if !strings.Contains(strings.Join(found, "\n"), want) {
				t.Errorf("%v: no netns named %q in the document (names: %q)", args, want, found)
			}
		}
	}
}
