package cli

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/google/go-cmp/cmp"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/render"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// goldenTUI compares got with testdata/name.golden, or rewrites it under
// -update (as render's golden helper).
func goldenTUI(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -run TestWatchTUI -update to create it)", err)
	}
	if !bytes.Equal([]byte(got), want) {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", path, cmp.Diff(string(want), got))
	}
}

// tuiHarness drives a watchModel through a real watcher's step and
// destroyed, as watch does, with constructed snapshots.
type tuiHarness struct {
	t    *testing.T
	m    *watchModel
	w    *watcher
	prev *sockscope.Snapshot
	at   time.Time
}

func newTUIHarness(t *testing.T, st render.Style, width, height int) *tuiHarness {
	g := &globals{output: "table"}
	o := &watchOptions{interval: time.Second}
	h := &tuiHarness{t: t, m: newWatchModel(st, time.Second), at: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	h.w = &watcher{g: g, o: o, gone: map[uint64]bool{}, pending: map[uint64]time.Time{}}
	h.w.send = func(msg tea.Msg) { h.m.Update(msg) }
	h.m.Update(tea.WindowSizeMsg{Width: width, Height: height})
	return h
}

// snap feeds a snapshot of socks, one interval after the previous one.
func (h *tuiHarness) snap(socks ...*sockscope.Socket) {
	h.t.Helper()
	s := &sockscope.Snapshot{Taken: h.at, Sockets: socks}
	h.at = h.at.Add(time.Second)
	if err := h.w.step(h.prev, s); err != nil {
		h.t.Fatal(err)
	}
	h.prev = s
}

// destroy feeds the kernel's destroy event of the socket with cookie c.
func (h *tuiHarness) destroy(c uint64) {
	h.t.Helper()
	if err := h.w.destroyed(sockscope.DestroyEvent{Cookie: c, Time: h.at}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *tuiHarness) keys(keys ...tea.KeyMsg) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		_, cmd = h.m.Update(k)
	}
	return cmd
}

func runes(s string) tea.KeyMsg    { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }
func key(t tea.KeyType) tea.KeyMsg { return tea.KeyMsg{Type: t} }

// typeText types s at the prompt, a key press per rune.
func typeText(s string) []tea.KeyMsg {
	var ks []tea.KeyMsg
	for _, r := range s {
		if r == ' ' {
			ks = append(ks, key(tea.KeySpace))
			continue
		}
		ks = append(ks, runes(string(r)))
	}
	return ks
}

func tcpSock(cookie uint64, local, remote string, state sockscope.State, comm string) *sockscope.Socket {
	s := &sockscope.Socket{Cookie: cookie, Inode: cookie + 1000, Family: sockscope.FamilyInet, Proto: sockscope.TCP, Type: sockscope.SockStream,
		State: state, Local: netip.MustParseAddrPort(local)}
	if remote != "" {
		s.Remote = netip.MustParseAddrPort(remote)
	}
	if comm != "" {
		s.Holders = []sockscope.Holder{{Proc: &sockscope.Process{PID: int(cookie) + 100, Comm: comm}, FD: 3}}
	}
	return s
}

// cookies lists the cookies of the rows on screen, in order.
func (h *tuiHarness) cookies() []uint64 {
	var cs []uint64
	for _, r := range h.m.visible() {
		cs = append(cs, r.Socket.Cookie)
	}
	return cs
}

// checkFits fails unless the frame is exactly the terminal's height and
// no line is wider than it.
func checkFits(t *testing.T, view string, width, height int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != height {
		t.Errorf("frame has %d lines, want the terminal's %d:\n%s", len(lines), height, view)
	}
	for i, l := range lines {
		if n := len([]rune(l)); n > width {
			t.Errorf("line %d is %d columns, wider than %d: %q", i, n, width, l)
		}
		if strings.Contains(l, "\x1b") && !strings.Contains(l, "\x1b[") {
			t.Errorf("line %d has a raw escape: %q", i, l)
		}
	}
}

// TestWatchTUIRefreshes feeds three snapshots and a destroy event and
// checks the marks: new rows '+', changed '~', closed '-' kept for
// tuiLinger refreshes and then dropped, and the frames (golden).
func TestWatchTUIRefreshes(t *testing.T) {
	st := render.Style{TTY: true, Numeric: true, Processes: true}
	h := newTUIHarness(t, st, 100, 10)
	a := tcpSock(1, "127.0.0.1:22", "", sockscope.Listen, "sshd")
	b := tcpSock(2, "127.0.0.1:8080", "", sockscope.Listen, "evil\x1b[2J\u202e")
	c := tcpSock(3, "127.0.0.1:40000", "127.0.0.1:22", sockscope.Established, "ssh")
	h.snap(a, b, c)
	v := h.m.View()
	checkFits(t, v, 100, 10)
	if strings.Contains(v, "\x1b[2J") || strings.Contains(v, "\u202e") {
		t.Errorf("a hostile process name reached the screen raw:\n%q", v)
	}
	goldenTUI(t, "watch_tui_first", v)

	// c changes state, d comes, a goes.
	c2 := *c
	c2.State = sockscope.CloseWait
	d := tcpSock(4, "127.0.0.1:9090", "", sockscope.Listen, "nc")
	h.snap(b, &c2, d)
	marks := map[uint64]byte{}
	for _, r := range h.m.visible() {
		marks[r.Socket.Cookie] = r.Mark
	}
	want := map[uint64]byte{1: render.MarkClosed, 2: 0, 3: render.MarkChanged, 4: render.MarkAdded}
	if !cmp.Equal(marks, want) {
		t.Errorf("marks after the second refresh: %v, want %v", marks, want)
	}
	if h.m.head.Added != 1 || h.m.head.Removed != 1 || h.m.head.Changed != 1 {
		t.Errorf("header counts +%d -%d ~%d, want +1 -1 ~1", h.m.head.Added, h.m.head.Removed, h.m.head.Changed)
	}
	goldenTUI(t, "watch_tui_changes", h.m.View())

	// A destroy event closes d at once, before the next snapshot.
	h.destroy(4)
	if r := h.m.rows[d.Key()]; r == nil || r.Mark != render.MarkClosed {
		t.Fatalf("after d's destroy event its row is %+v, want closed", r)
	}
	if h.m.head.Removed != 2 {
		t.Errorf("removed count after the destroy event: %d, want 2", h.m.head.Removed)
	}
	// The next snapshot (taken before d was freed) still has d: it must
	// not bring it back, nor count its removal again.
	h.snap(b, &c2, d)
	if r := h.m.rows[d.Key()]; r == nil || r.Mark != render.MarkClosed {
		t.Errorf("a snapshot that still had d revived its row: %+v", r)
	}
	if h.m.head.Removed != 1 || h.m.head.Added != 0 {
		t.Errorf("header after the destroy event's refresh: +%d -%d, want +0 -1 (the event's)", h.m.head.Added, h.m.head.Removed)
	}
	// a closed two refreshes ago: gone after tuiLinger.
	for range tuiLinger {
		h.snap(b, &c2)
	}
	if got := h.cookies(); !cmp.Equal(got, []uint64{2, 3}) {
		t.Errorf("rows after %d more refreshes: %v, want the two live ones [2 3]", tuiLinger, got)
	}
	for _, r := range h.m.visible() {
		if r.Mark != 0 {
			t.Errorf("socket %d still marked %q after %d refreshes", r.Socket.Cookie, r.Mark, tuiLinger)
		}
	}
}

// TestWatchTUIColorClosed checks that a closed row is drawn dimmed and
// struck through, and a new one bold, with colors on.
func TestWatchTUIColorClosed(t *testing.T) {
	h := newTUIHarness(t, render.Style{TTY: true, Color: true, Numeric: true}, 120, 8)
	a := tcpSock(1, "127.0.0.1:22", "", sockscope.Listen, "")
	b := tcpSock(2, "127.0.0.1:23", "", sockscope.Listen, "")
	h.snap(a)
	h.snap(b)
	var closed, added string
	for _, l := range strings.Split(h.m.View(), "\n") {
		switch {
		case strings.Contains(l, ":22"):
			closed = l
		case strings.Contains(l, ":23"):
			added = l
		}
	}
	if !strings.HasPrefix(closed, "\x1b[2;9m") {
		t.Errorf("closed row not dimmed and struck: %q", closed)
	}
	if !strings.HasPrefix(added, "\x1b[1m") {
		t.Errorf("new row not bold: %q", added)
	}
}

// TestWatchTUIScroll checks the scrolling keys against the rows' count
// and the screen's height.
func TestWatchTUIScroll(t *testing.T) {
	const width, height = 80, 10
	h := newTUIHarness(t, render.Style{TTY: true, Numeric: true}, width, height)
	var socks []*sockscope.Socket
	for i := range 30 {
		socks = append(socks, tcpSock(uint64(i+1), fmt.Sprintf("127.0.0.1:%d", 1000+i), "", sockscope.Listen, ""))
	}
	h.snap(socks...)
	page := render.WatchPageRows(height, "")
	last := 30 - page
	steps := []struct {
		key  tea.KeyMsg
		want int
	}{
		{key(tea.KeyUp), 0},
		{runes("k"), 0},
		{runes("j"), 1},
		{key(tea.KeyDown), 2},
		{key(tea.KeyPgDown), 2 + page},
		{key(tea.KeyEnd), last},
		{key(tea.KeyPgDown), last},
		{runes("j"), last},
		{key(tea.KeyPgUp), last - page},
		{key(tea.KeyHome), 0},
		{runes("G"), last},
		{runes("g"), 0},
	}
	for i, s := range steps {
		h.keys(s.key)
		if h.m.offset != s.want {
			t.Fatalf("step %d (%v): offset %d, want %d", i, s.key, h.m.offset, s.want)
		}
	}
	h.keys(key(tea.KeyEnd))
	v := h.m.View()
	checkFits(t, v, width, height)
	if !strings.Contains(v, fmt.Sprintf("rows %d-30 of 30", last+1)) || !strings.Contains(v, "127.0.0.1:1029") || strings.Contains(v, "127.0.0.1:1000 ") {
		t.Errorf("the end of the list is not what End shows:\n%s", v)
	}
	// A smaller terminal: the offset stays within the rows.
	h.m.Update(tea.WindowSizeMsg{Width: 40, Height: 40})
	if h.m.offset != 0 {
		t.Errorf("offset %d when every row fits, want 0", h.m.offset)
	}
	checkFits(t, h.m.View(), 40, 40)
}

// TestWatchTUISort cycles the sort columns and reverses them.
func TestWatchTUISort(t *testing.T) {
	h := newTUIHarness(t, render.Style{TTY: true, Numeric: true, Processes: true}, 120, 20)
	a := tcpSock(1, "127.0.0.1:300", "127.0.0.3:1", sockscope.Established, "zeta")
	b := tcpSock(2, "127.0.0.1:100", "127.0.0.2:1", sockscope.Listen, "")
	h.snap(a, b)
	c := tcpSock(3, "127.0.0.1:200", "127.0.0.1:1", sockscope.CloseWait, "alpha")
	h.snap(a, b, c)
	steps := []struct {
		key  tea.KeyMsg
		sort string
		want []uint64
	}{
		{tea.KeyMsg{}, "local", []uint64{2, 3, 1}},
		{runes("r"), "local", []uint64{1, 3, 2}},
		{runes("r"), "local", []uint64{2, 3, 1}},
		{runes("s"), "remote", []uint64{3, 2, 1}},
		{runes("s"), "state", []uint64{3, 1, 2}}, // CLOSE-WAIT, ESTAB, LISTEN
		{runes("s"), "process", []uint64{3, 1, 2}},
		{runes("s"), "age", []uint64{3, 2, 1}}, // c is youngest, then by local
		{runes("s"), "local", []uint64{2, 3, 1}},
		{runes("S"), "age", []uint64{3, 2, 1}},
	}
	for i, s := range steps {
		h.keys(s.key)
		if got := tuiSorts[h.m.sort]; got != s.sort {
			t.Fatalf("step %d: sort %q, want %q", i, got, s.sort)
		}
		if got := h.cookies(); !cmp.Equal(got, s.want) {
			t.Errorf("step %d (sort %s, desc %v): rows %v, want %v", i, s.sort, h.m.desc, got, s.want)
		}
	}
	if v := h.m.View(); !strings.Contains(v, "sort: age ↑") {
		t.Errorf("header does not name the sort:\n%s", v)
	}
}

// TestWatchTUIPause checks that a paused view keeps its last frame while
// refreshes go on, and shows them when resumed.
func TestWatchTUIPause(t *testing.T) {
	h := newTUIHarness(t, render.Style{TTY: true, Numeric: true}, 100, 10)
	a := tcpSock(1, "127.0.0.1:22", "", sockscope.Listen, "")
	h.snap(a)
	h.keys(key(tea.KeySpace))
	paused := h.m.View()
	if !strings.Contains(paused, "[paused]") {
		t.Fatalf("no paused indication:\n%s", paused)
	}
	b := tcpSock(2, "127.0.0.1:23", "", sockscope.Listen, "")
	h.snap(b)
	h.destroy(2)
	if v := h.m.View(); v != paused {
		t.Errorf("the paused frame changed (-before +after):\n%s", cmp.Diff(paused, v))
	}
	h.keys(runes("p"))
	v := h.m.View()
	if strings.Contains(v, "[paused]") || !strings.Contains(v, "127.0.0.1:23") {
		t.Errorf("resumed view does not show the refreshes made while paused:\n%s", v)
	}
}

// TestWatchTUIFilter types filters at the / prompt: a good one narrows
// the rows, a bad one shows query's caret message and keeps the prompt.
func TestWatchTUIFilter(t *testing.T) {
	const width, height = 100, 12
	h := newTUIHarness(t, render.Style{TTY: true, Numeric: true}, width, height)
	h.snap(tcpSock(1, "127.0.0.1:22", "", sockscope.Listen, ""),
		tcpSock(2, "127.0.0.1:8080", "", sockscope.Listen, ""),
		tcpSock(3, "127.0.0.1:40000", "127.0.0.1:22", sockscope.Established, ""))

	h.keys(runes("/"))
	h.keys(typeText("stat listening")...)
	h.keys(key(tea.KeyEnter))
	if !h.m.prompting || h.m.filter != nil {
		t.Fatalf("a bad filter left the prompt (prompting %v) or was applied", h.m.prompting)
	}
	v := h.m.View()
	checkFits(t, v, width, height)
	if !strings.Contains(v, "stat listening\n^") || !strings.Contains(v, `did you mean "state"?`) && !strings.Contains(v, "valid here:") {
		t.Errorf("no caret message for the bad filter:\n%s", v)
	}
	goldenTUI(t, "watch_tui_filter_error", v)

	// Fix it: backspace over the whole word, type the right one.
	for range len("stat listening") {
		h.keys(key(tea.KeyBackspace))
	}
	h.keys(typeText("sport = :22 or dport = :22")...)
	h.keys(key(tea.KeyEnter))
	if h.m.prompting || h.m.filter == nil {
		t.Fatalf("a good filter did not close the prompt: prompting %v, error %q", h.m.prompting, h.m.promptErr)
	}
	if got := h.cookies(); !cmp.Equal(got, []uint64{1, 3}) {
		t.Errorf("rows under the filter: %v, want [1 3]", got)
	}
	if v := h.m.View(); !strings.Contains(v, "filter: sport = :22 or dport = :22") {
		t.Errorf("header does not show the filter:\n%s", v)
	}
	// A process filter without -p says what would work.
	h.keys(runes("/"), key(tea.KeyCtrlU))
	h.keys(typeText("proc sshd")...)
	h.keys(key(tea.KeyEnter))
	if !strings.Contains(h.m.promptErr, "-p") {
		t.Errorf("process filter without holders: error %q, want one naming -p", h.m.promptErr)
	}
	// Esc leaves the prompt, keeping the filter; an empty one clears it.
	h.keys(key(tea.KeyEsc))
	if h.m.prompting || h.m.filterText == "" {
		t.Errorf("Esc: prompting %v, filter %q", h.m.prompting, h.m.filterText)
	}
	h.keys(runes("/"), key(tea.KeyCtrlU), key(tea.KeyEnter))
	if h.m.filter != nil || len(h.cookies()) != 3 {
		t.Errorf("an empty filter did not clear it: %d rows", len(h.cookies()))
	}
}

// TestWatchTUIQuitAndLag checks the header's lag and the quit keys.
func TestWatchTUIQuitAndLag(t *testing.T) {
	h := newTUIHarness(t, render.Style{TTY: true, Numeric: true}, 100, 6)
	h.w.lag = 2345 * time.Millisecond
	h.snap(tcpSock(1, "127.0.0.1:22", "", sockscope.Listen, ""))
	if v := h.m.View(); !strings.Contains(v, "(every 1s; lagging: every 2.3s)") {
		t.Errorf("no lag in the header:\n%s", v)
	}
	for _, k := range []tea.KeyMsg{runes("q"), key(tea.KeyCtrlC)} {
		m := newWatchModel(render.Style{}, time.Second)
		_, cmd := m.Update(k)
		if cmd == nil {
			t.Fatalf("%v: no command, want tea.Quit", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Errorf("%v: command does not quit", k)
		}
	}
	if _, cmd := newWatchModel(render.Style{}, time.Second).Update(key(tea.KeyCtrlZ)); cmd == nil {
		t.Error("Ctrl-Z: no command, want tea.Suspend")
	} else if _, ok := cmd().(tea.SuspendMsg); !ok {
		t.Error("Ctrl-Z does not suspend")
	}
	// q at the prompt is text, not quit.
	if cmd := h.keys(runes("/"), runes("q")); cmd != nil || string(h.m.input) != "q" {
		t.Errorf("q at the prompt: cmd %v, input %q", cmd, string(h.m.input))
	}
}

// TestWatchTUIKeyBursts feeds keys as bubbletea delivers keys typed
// faster than they are read (several runes in one message) and pasted
// text, and the frame shown before the first snapshot.
func TestWatchTUIKeyBursts(t *testing.T) {
	h := newTUIHarness(t, render.Style{TTY: true, Numeric: true}, 100, 12)
	if v := h.m.View(); !strings.Contains(v, "taking the first snapshot…") || !strings.Contains(v, "no rows") {
		t.Errorf("frame before the first snapshot:\n%s", v)
	}
	h.snap(tcpSock(1, "127.0.0.1:22", "", sockscope.Listen, ""))
	h.keys(runes("ss"))
	if got := tuiSorts[h.m.sort]; got != "state" {
		t.Errorf(`"ss" in one message: sort %q, want "state"`, got)
	}
	if cmd := h.keys(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q"), Paste: true}); cmd != nil {
		t.Error("a pasted q quit the view")
	}
	h.keys(runes("/stat x"), key(tea.KeyEnter))
	if !h.m.prompting || string(h.m.input) != "stat x" || !strings.Contains(h.m.promptErr, "^") {
		t.Errorf(`"/stat x" in one message: prompting %v, input %q, error %q`, h.m.prompting, string(h.m.input), h.m.promptErr)
	}
}
