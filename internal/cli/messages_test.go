//go:build linux

package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
	"github.com/sockscope/sockscope/render"
)

// TestMessagesEscapedOnce (issue 15 item 8): a message that quotes one
// string (%q) and holds another raw escapes the raw one and leaves the
// quoted one as it was: `"x\x1b"`, never `"x\\x1b"`.
func TestMessagesEscapedOnce(t *testing.T) {
	var b bytes.Buffer
	report(usagef("bad --netns %q: known: %s", "x\x1b", "raw\x1b]0;T\a\xff"), &b)
	first := strings.SplitN(b.String(), "\n", 2)[0]
	if want := `sockscope: bad --netns "x\x1b": known: raw\x1b]0;T\x07\xff`; first != want {
		t.Errorf("report printed\n%s\nwant\n%s", first, want)
	}

	b.Reset()
	g := &globals{io: IOStreams{ErrOut: &b}, output: "table"}
	g.warn(&sockscope.Snapshot{Warnings: []sockscope.Warning{
		{Kind: sockscope.WarnHolders, Count: 1, Msg: "holders of \"p\\x1b\" (raw\x1b[2J) could not be read\nsecond\u202e line"},
	}})
	if want := "sockscope: note: holders of \"p\\x1b\" (raw\\x1b[2J) could not be read; second\\u202e line\n"; b.String() != want {
		t.Errorf("warn printed\n%q\nwant\n%q", b.String(), want)
	}
	// A message with nothing to escape is printed as it is.
	if got := terminalSafe(`a\b "日本" ok`); got != `a\b "日本" ok` {
		t.Errorf("terminalSafe changed a safe line: %q", got)
	}
}

// TestPrefixOnce (issue 15 item 8): the library's errors do not name the
// program, so that a wrapped one does not read "sockscope: ...: sockscope:
// ..."; the command line adds "sockscope: " once, to errors and notes.
func TestPrefixOnce(t *testing.T) {
	ctx := context.Background()
	_, lookupErr := sockscope.LookupSocket(ctx, sockscope.Options{AllNetNS: true},
		sockscope.LookupRequest{Proto: sockscope.TCP, Src: netip.MustParseAddrPort("127.0.0.1:1"), Dst: netip.MustParseAddrPort("127.0.0.1:2")})
	_, ifaceErr := sockscope.Interfaces(ctx, sockscope.Options{NetNS: []string{"a", "b"}})
	for _, err := range []error{lookupErr, ifaceErr} {
		if err == nil {
			t.Fatal("want an error")
		}
		if strings.Contains(err.Error(), "sockscope:") {
			t.Errorf("library error names the program: %q", err)
		}
		var b bytes.Buffer
		report(fmt.Errorf("sockscope: %w", err), &b)
		if n := strings.Count(b.String(), "sockscope:"); n != 1 {
			t.Errorf("report printed the prefix %d times: %q", n, b.String())
		}
		b.Reset()
		g := &globals{io: IOStreams{ErrOut: &b}}
		g.note("sockscope: " + err.Error())
		if n := strings.Count(b.String(), "sockscope:"); n != 1 || !strings.HasPrefix(b.String(), "sockscope: note: ") {
			t.Errorf("note printed %q", b.String())
		}
	}
	// demux prints the kernel check's error inside a sentence.
	var b bytes.Buffer
	seg := demux.Segment{Proto: sockscope.TCP, Src: netip.MustParseAddrPort("127.0.0.1:1"), Dst: netip.MustParseAddrPort("127.0.0.1:2")}
	if err := render.WriteDemux(&b, render.Style{}, render.DemuxReport{Segment: seg, Kernel: demux.KernelCheck{Asked: true, Err: lookupErr}}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "sockscope:") {
		t.Errorf("demux names the program inside a sentence:\n%s", b.String())
	}
}

// TestFilterCaretWide (issue 15 item 8): the caret printed for a bad
// filter stands under the word after wide (CJK) text.
func TestFilterCaretWide(t *testing.T) {
	_, stderr, code := runCLI(t, "ls", "proc", "日本語", "stat", "x")
	lines := strings.Split(stderr, "\n")
	if code != ExitUsage || len(lines) < 3 || lines[1] != "proc 日本語 stat x" || lines[2] != strings.Repeat(" ", 12)+"^" {
		t.Errorf("exit %d, stderr:\n%s\nwant the caret under %q (column 12)", code, stderr, "stat")
	}
}

// TestNoNotesWhenInterrupted (issue 15 item 7): once the run is
// interrupted, its notes on what it could not see are not printed: the
// run did not finish, and its status (130, 143, ...) says so.
func TestNoNotesWhenInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var b bytes.Buffer
	g := &globals{ctx: ctx, io: IOStreams{ErrOut: &b}, output: "table"}
	g.warn(&sockscope.Snapshot{Warnings: []sockscope.Warning{{Kind: sockscope.WarnPermission, Count: 3, Msg: "3 sockets' holders are hidden: 1 process could not be inspected"}}})
	if b.Len() != 0 {
		t.Errorf("an interrupted run printed %q", b.String())
	}
}
