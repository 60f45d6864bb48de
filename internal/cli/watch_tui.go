package cli

import (
	"cmp"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"golang.org/x/term"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/query"
	"github.com/sockscope/sockscope/render"
)

// This file is watch's full-screen view: a bubbletea model (a state
// machine fed key presses, window sizes and the watcher's snapshots and
// destroy events) whose View is render.WatchScreen.

// tuiLinger is how many refreshes a row stays marked new or changed, and
// a closed row stays on screen.
const tuiLinger = 3

// tuiSorts are the sort columns, in the order s cycles through them.
var tuiSorts = []string{"local", "remote", "state", "process", "age"}

// tuiSnapMsg is one refresh: the snapshot (the command line's filter
// applied) and its changes, as the watcher computed them.
type tuiSnapMsg struct {
	snap *sockscope.Snapshot
	evs  []render.WatchEvent
	// between counts the removals destroy events reported since the
	// previous snapshot.
	between int
	lag     time.Duration
	first   bool
}

// tuiDestroyMsg is a destroy event of a socket on screen.
type tuiDestroyMsg struct{ key sockscope.Key }

// tuiNoteMsg is a note (the first snapshot's warnings) for the status line.
type tuiNoteMsg struct{ text string }

// tuiErrMsg ends the view with an error of the watcher.
type tuiErrMsg struct{ err error }

// tuiRow is one socket the view knows: on screen now, or closed and
// lingering.
type tuiRow struct {
	render.WatchRow
	key sockscope.Key
	// left is how many more refreshes the mark lasts (a closed row: how
	// many more it stays).
	left int
}

// watchModel is the full-screen view's state.
type watchModel struct {
	st       render.Style
	interval time.Duration

	rows map[sockscope.Key]*tuiRow
	// frozen is the rows as they were when the view was paused; nil when
	// it runs.
	frozen []*tuiRow
	// The last refresh's header fields; frozenHead keeps them while paused.
	head, frozenHead render.WatchScreen

	width, height int
	offset        int
	sort          int
	desc          bool

	filter     *query.Filter
	filterText string
	prompting  bool
	input      []rune
	promptErr  string
	message    string

	// vis caches visible(): the rows on screen, filtered and sorted;
	// nil when something they depend on changed.
	vis []*tuiRow

	err  error
	quit bool
}

func newWatchModel(st render.Style, interval time.Duration) *watchModel {
	return &watchModel{st: st, interval: interval, rows: map[sockscope.Key]*tuiRow{}}
}

// Init implements tea.Model.
func (m *watchModel) Init() tea.Cmd { return nil }

// Update implements tea.Model.
func (m *watchModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.KeyMsg:
		if msg.Type == tea.KeyCtrlZ {
			// The terminal is raw: Ctrl-Z is a key. Suspend as the
			// shell's job control would, the terminal restored.
			return m, tea.Suspend
		}
		if m.key(msg) {
			m.quit = true
			return m, tea.Quit
		}
	case tuiSnapMsg:
		m.refresh(msg)
	case tuiDestroyMsg:
		if r, ok := m.rows[msg.key]; ok && r.Mark != render.MarkClosed {
			r.Mark, r.left = render.MarkClosed, tuiLinger
			m.head.Removed++
		}
	case tuiNoteMsg:
		m.message = "note: " + strings.TrimPrefix(msg.text, "sockscope: note: ")
	case tuiErrMsg:
		m.err = msg.err
		return m, tea.Quit
	}
	m.clamp()
	return m, nil
}

// key handles a key press; it reports whether the view should quit.
func (m *watchModel) key(k tea.KeyMsg) bool {
	if k.Type == tea.KeyCtrlC {
		return true
	}
	if m.prompting {
		m.promptKey(k)
		return false
	}
	m.message = ""
	page := render.WatchPageRows(m.height, m.promptErr)
	switch k.Type {
	case tea.KeyUp:
		m.offset--
	case tea.KeyDown:
		m.offset++
	case tea.KeyPgUp:
		m.offset -= page
	case tea.KeyPgDown:
		m.offset += page
	case tea.KeyHome:
		m.offset = 0
	case tea.KeyEnd:
		m.offset = len(m.visible())
	case tea.KeySpace:
		m.togglePause()
	case tea.KeyEsc:
		m.promptErr = ""
	case tea.KeyRunes:
		if k.Paste {
			return false // text pasted outside the prompt is no command
		}
		// Keys typed faster than they are read come as one message.
		for i, r := range k.Runes {
			if m.prompting {
				m.input = append(m.input, k.Runes[i:]...)
				break
			}
			if m.runeKey(r) {
				return true
			}
		}
	}
	return false
}

// runeKey handles a character key outside the prompt; it reports whether
// the view should quit.
func (m *watchModel) runeKey(r rune) bool {
	switch r {
	case 'q':
		return true
	case 'k':
		m.offset--
	case 'j':
		m.offset++
	case 'g':
		m.offset = 0
	case 'G':
		m.offset = len(m.visible())
	case 'p', ' ':
		m.togglePause()
	case 's':
		m.sort = (m.sort + 1) % len(tuiSorts)
		m.vis = nil
	case 'S':
		m.sort = (m.sort + len(tuiSorts) - 1) % len(tuiSorts)
		m.vis = nil
	case 'r':
		m.desc = !m.desc
		m.vis = nil
	case '/':
		m.prompting = true
		m.input = []rune(m.filterText)
	}
	return false
}

// promptKey edits the filter prompt. Enter applies the filter, or keeps
// the prompt open with the parse error's caret message; Esc leaves it.
func (m *watchModel) promptKey(k tea.KeyMsg) {
	switch k.Type {
	case tea.KeyEnter:
		text := strings.TrimSpace(string(m.input))
		m.vis = nil
		if text == "" {
			m.filter, m.filterText = nil, ""
			m.prompting, m.promptErr = false, ""
			return
		}
		flt, err := query.Parse(text)
		if err != nil {
			m.promptErr = filterErrText(err)
			return
		}
		if flt.NeedsHolders() && !m.st.Processes {
			m.promptErr = "a process filter needs the holders: run watch with -p"
			return
		}
		m.filter, m.filterText = flt, text
		m.prompting, m.promptErr = false, ""
		m.offset = 0
	case tea.KeyEsc:
		m.prompting, m.promptErr = false, ""
	case tea.KeyBackspace:
		if len(m.input) > 0 {
			m.input = m.input[:len(m.input)-1]
		}
	case tea.KeyCtrlU:
		m.input = m.input[:0]
	case tea.KeySpace:
		m.input = append(m.input, ' ')
	case tea.KeyRunes:
		m.input = append(m.input, k.Runes...)
	}
}

// filterErrText is a filter's error for the prompt: what is wrong and the
// caret message of a syntax error, else the error's text.
func filterErrText(err error) string {
	var se *query.SyntaxError
	if errors.As(err, &se) {
		return "filter: " + se.Msg + "\n" + se.Caret()
	}
	return err.Error()
}

func (m *watchModel) togglePause() {
	m.vis = nil
	if m.frozen != nil {
		m.frozen = nil
		return
	}
	m.frozen = make([]*tuiRow, 0, len(m.rows))
	for _, r := range m.rows {
		c := *r
		m.frozen = append(m.frozen, &c)
	}
	m.frozenHead = m.head
}

// refresh applies a snapshot: rows new since the last one are marked
// added, changed ones changed, and rows gone (not already closed by a
// destroy event) closed; marks fade and closed rows go after tuiLinger
// refreshes.
func (m *watchModel) refresh(msg tuiSnapMsg) {
	m.vis = nil
	for k, r := range m.rows {
		if r.left > 0 {
			r.left--
		}
		if r.left == 0 {
			if r.Mark == render.MarkClosed {
				delete(m.rows, k)
				continue
			}
			r.Mark = 0
		}
	}
	taken := msg.snap.Taken
	h := render.WatchScreen{Taken: taken, Now: taken, Sockets: len(msg.snap.Sockets), Removed: msg.between, Interval: m.interval, Lag: msg.lag}
	for _, ev := range msg.evs {
		k := ev.Socket.Key()
		switch ev.Kind {
		case render.EventAdded:
			h.Added++
			r := &tuiRow{key: k, WatchRow: render.WatchRow{Socket: ev.Socket, Seen: taken, Initial: msg.first}}
			if !msg.first {
				r.Mark, r.left = render.MarkAdded, tuiLinger
			}
			m.rows[k] = r
		case render.EventChanged:
			h.Changed++
			if r, ok := m.rows[k]; ok {
				r.Socket, r.Mark, r.left = ev.Socket, render.MarkChanged, tuiLinger
			}
		case render.EventRemoved:
			h.Removed++
			if r, ok := m.rows[k]; ok && r.Mark != render.MarkClosed {
				r.Mark, r.left = render.MarkClosed, tuiLinger
			}
		}
	}
	// Sockets neither added nor changed are the snapshot's newer copies.
	for _, s := range msg.snap.Sockets {
		if r, ok := m.rows[s.Key()]; ok && r.Mark != render.MarkClosed {
			r.Socket = s
		}
	}
	m.head = h
}

// visible returns the rows on screen, filtered and sorted. A destroy
// event changes a row's mark only, not the order: the cache stays.
func (m *watchModel) visible() []*tuiRow {
	if m.vis != nil {
		return m.vis
	}
	var all []*tuiRow
	if m.frozen != nil {
		all = slices.Clone(m.frozen)
	} else {
		all = make([]*tuiRow, 0, len(m.rows))
		for _, r := range m.rows {
			all = append(all, r)
		}
	}
	if m.filter != nil {
		all = slices.DeleteFunc(all, func(r *tuiRow) bool { return !m.filter.Match(r.Socket) })
	}
	by := tuiSorts[m.sort]
	var procs map[*tuiRow]string
	if by == "process" {
		procs = make(map[*tuiRow]string, len(all))
		for _, r := range all {
			procs[r] = render.HolderText(r.Socket.Holders, 0)
		}
	}
	slices.SortFunc(all, func(a, b *tuiRow) int {
		c := compareRows(by, a, b, procs)
		if m.desc {
			c = -c
		}
		if c == 0 {
			c = compareRows("local", a, b, nil)
		}
		if c == 0 {
			c = cmp.Or(cmp.Compare(a.key.NetNS, b.key.NetNS), cmp.Compare(a.key.Cookie, b.key.Cookie), cmp.Compare(a.key.Inode, b.key.Inode))
		}
		return c
	})
	m.vis = all
	return all
}

// compareRows orders two rows by a sort column; procs holds the rows'
// holders' text for the process column.
func compareRows(by string, a, b *tuiRow, procs map[*tuiRow]string) int {
	x, y := a.Socket, b.Socket
	switch by {
	case "local":
		return cmp.Or(x.Local.Compare(y.Local), strings.Compare(x.Path, y.Path), cmp.Compare(x.Inode, y.Inode))
	case "remote":
		return cmp.Or(x.Remote.Compare(y.Remote), cmp.Compare(x.PeerInode, y.PeerInode))
	case "state":
		return strings.Compare(x.State.String(), y.State.String())
	case "process":
		// Sockets without a holder last.
		hx, hy := len(x.Holders) > 0, len(y.Holders) > 0
		if hx != hy {
			if hx {
				return -1
			}
			return 1
		}
		return strings.Compare(procs[a], procs[b])
	case "age":
		// Youngest first.
		return b.Seen.Compare(a.Seen)
	}
	return 0
}

// clamp keeps the scroll offset within the rows.
func (m *watchModel) clamp() {
	page := render.WatchPageRows(m.height, m.promptErr)
	m.offset = min(m.offset, len(m.visible())-page)
	m.offset = max(m.offset, 0)
}

// View implements tea.Model.
func (m *watchModel) View() string {
	if m.quit {
		return ""
	}
	sc := m.head
	if m.frozen != nil {
		sc = m.frozenHead
	}
	vis := m.visible()
	page := render.WatchPageRows(m.height, m.promptErr)
	start := min(m.offset, len(vis))
	shown := vis[start:min(start+page, len(vis))]
	sc.Rows = make([]render.WatchRow, len(shown))
	for i, r := range shown {
		sc.Rows[i] = r.WatchRow
	}
	sc.Offset, sc.Total = start, len(vis)
	sc.Width, sc.Height = m.width, m.height
	sc.Sort, sc.Desc = tuiSorts[m.sort], m.desc
	sc.Filter, sc.Paused = m.filterText, m.frozen != nil
	sc.Prompting, sc.Input, sc.PromptErr = m.prompting, string(m.input), m.promptErr
	sc.Message = m.message
	if sc.Interval == 0 {
		sc.Interval = m.interval
	}
	return sc.Render(m.st)
}

// useTUI reports whether watch shows the full-screen view: a table on a
// terminal, input from a terminal, no --count, no --no-tui.
func useTUI(g *globals, o *watchOptions) bool {
	if o.noTUI || o.count != 0 || g.output != "table" || !g.io.OutTTY {
		return false
	}
	in, ok := g.io.In.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return false
	}
	out := terminalOut(g)
	return out != nil && term.IsTerminal(int(out.Fd()))
}

// terminalOut returns the output as Main was given it (g.rawOut, under
// its wrappers ctxWriter and errWriter), nil if it is no file. The view
// writes to it directly: bubbletea then sizes the view itself and follows
// the terminal's resizing, and its last writes, which leave the alternate
// screen, go through when an interrupt ended ctx.
func terminalOut(g *globals) *os.File {
	f, _ := g.rawOut.(*os.File)
	return f
}

// runTUI runs the watcher in the background, feeding the full-screen
// view, until q, Ctrl-C or ctx's end.
func (w *watcher) runTUI(ctx context.Context) error {
	st := w.g.style()
	st.Processes = w.o.ls.processes
	st.Extended = w.o.ls.extended
	m := newWatchModel(st, w.o.interval)
	if width, height, err := w.g.io.TermSize(); err == nil {
		m.width, m.height = width, height
	}
	// ctx's end quits the view as q does, not through tea.WithContext:
	// that kills the program, which closes its input reader without
	// waiting for the goroutine still reading it (a data race).
	p := tea.NewProgram(m, tea.WithInput(w.g.io.In), tea.WithOutput(terminalOut(w.g)),
		tea.WithAltScreen(), tea.WithoutSignalHandler())
	stopQuit := context.AfterFunc(ctx, p.Quit)
	defer stopQuit()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.send = p.Send
	done := make(chan error, 1)
	go func() {
		err := w.run(wctx)
		if err != nil && wctx.Err() == nil {
			p.Send(tuiErrMsg{err})
		}
		done <- err
	}()
	_, err := p.Run()
	cancel()
	<-done
	if w.notes != "" {
		_, _ = io.WriteString(w.g.io.ErrOut, w.notes)
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return err
	}
	return m.err
}
