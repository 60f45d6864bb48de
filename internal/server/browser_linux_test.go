package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// hostileComm is the command name of the child that TestPageInBrowser
// starts: markup, an escape and a bidirectional override, in the 15 bytes
// the kernel keeps.
const hostileComm = "<img src=x>\x1b\u202e"

// hostileComm as the page must show it: as text, the escape and the
// override written out (neutral() in the page).
const hostileShown = `<img src=x>\x1b\u202e`

// hostileArg0 is the child's argv[0], which the page shows in a tooltip.
const hostileArg0 = "<img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script>\x1b[31m\u202eevil"

// TestPageHostileChild is not a test: it is the child process of
// TestPageInBrowser (the test binary run again), which names itself
// hostileComm, listens on loopback, prints its port and waits for its
// standard input to close.
//
// With SOCKSCOPE_PAGE_CHILD=hold it only holds the socket it inherited
// as fd 3 until its standard input closes (startHolder).
func TestPageHostileChild(t *testing.T) {
	switch os.Getenv("SOCKSCOPE_PAGE_CHILD") {
	case "1":
	case "hold":
		fmt.Println("holding")
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	default:
		t.Skip("the child process of TestPageInBrowser")
	}
	// /proc/self/comm names the thread group leader, whichever thread
	// writes it.
	if err := os.WriteFile("/proc/self/comm", []byte(hostileComm), 0); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// startHostile starts the child and returns its pid and its port.
func startHostile(t *testing.T) (int, uint16) {
	t.Helper()
	pid, line := startChild(t, hostileArg0, "1", nil)
	port, err := strconv.ParseUint(line, 10, 16)
	if err != nil {
		t.Fatalf("child said %q", line)
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || strings.TrimSuffix(string(comm), "\n") != hostileComm {
		t.Fatalf("child comm = %q (%v), want %q", comm, err, hostileComm)
	}
	return pid, uint16(port)
}

// startHolder hands c to a child process (the test binary again) and
// closes it here: from then on the child alone holds the socket. It
// returns the child's pid.
func startHolder(t *testing.T, c net.Conn) int {
	t.Helper()
	f, err := c.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := startChild(t, "holder", "hold", f)
	f.Close()
	c.Close()
	return pid
}

// startChild runs the test binary as TestPageHostileChild in mode, with
// argv[0] arg0 and extra as its fd 3, and returns its pid and the first
// line it printed. The child ends when the test does.
func startChild(t *testing.T, arg0, mode string, extra *os.File) (int, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := &exec.Cmd{
		Path: exe,
		Args: []string{arg0, "-test.run=^TestPageHostileChild$", "-test.count=1"},
		Env:  append(os.Environ(), "SOCKSCOPE_PAGE_CHILD="+mode),
	}
	if extra != nil {
		cmd.ExtraFiles = []*os.File{extra}
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case l := <-line:
		return cmd.Process.Pid, l
	case <-time.After(20 * time.Second):
		t.Fatal("the child did not start within 20s")
	}
	return 0, ""
}

// findChromium returns the browser to drive, or skips the test.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("needs chromium (apt-get install chromium) to load the page")
	return ""
}

// browser is a headless Chromium tab whose console is recorded.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// newBrowser starts Chromium, bounded by the test's deadline of 3
// minutes, and stops it when the test ends.
func newBrowser(t *testing.T, chrome string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		// Chromium's sandbox does not run as root; the page is ours and
		// loopback-only.
		chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(1400, 1000),
	)
	base, cancelBase := context.WithTimeout(context.Background(), 3*time.Minute)
	actx, cancelAlloc := chromedp.NewExecAllocator(base, opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc(); cancelBase() })
	b := &browser{t: t, ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting %s: %v", chrome, err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// do runs actions, failing the test after 30s.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression into v.
func (b *browser) eval(expr string, v any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		b.t.Fatalf("evaluating %s: %v: %s", expr, err, raw)
	}
}

// wait polls a JavaScript condition until it holds, for at most 30s (the
// page refreshes every 5s, a filter applies within a second).
func (b *browser) wait(what, cond string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 35*time.Second)
	defer cancel()
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for {
		_, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(time.Until(deadline)), chromedp.WithPollingInterval(100*time.Millisecond)))
		// A poll that began as the page replaced its JavaScript context
		// (a navigation) is tried again in the new one.
		if err == nil || !strings.Contains(err.Error(), "Cannot find context") || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		var state string
		b.eval(`document.getElementById("status").textContent + " | " + document.getElementById("ferr").textContent + " | " + (document.getElementById("detail").open ? document.getElementById("detail").textContent : "detail closed") + " | focus " + (document.activeElement && (document.activeElement.id || document.activeElement.dataset.key || document.activeElement.tagName))`, &state)
		b.t.Fatalf("waiting for %s: %v (page status: %q; console: %q)", what, err, state, b.messages())
	}
}

// messages returns the console messages so far.
func (b *browser) messages() []chromedp.ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), b.console...)
}

// The page's view of itself, read by the test.
const pageProbe = `(() => {
  const txt = e => e ? e.textContent : null;
  const cards = [...document.querySelectorAll("#ports .card.port")].map(c => ({ key: c.dataset.key, text: c.textContent, title: [...c.querySelectorAll("[title]")].map(x => x.title).join("\n") }));
  const nodes = [...document.querySelectorAll("#gnodes > g")].map(g => ({ key: g.dataset.key, text: g.querySelector(".t1").textContent, sub: g.querySelector(".t2").textContent, title: txt(g.querySelector("title")), cls: g.getAttribute("class") }));
  const edges = [...document.querySelectorAll("#gedges > path")].map(p => p.dataset.a + " > " + p.dataset.b);
  return { cards, nodes, edges, imgs: document.querySelectorAll("img, #ports script, svg script, [onerror]").length, pwned: window.pwned || 0,
    ferr: document.getElementById("ferr").hidden ? null : txt(document.getElementById("ferr")),
    active: document.activeElement ? (document.activeElement.id || document.activeElement.dataset.key || document.activeElement.tagName) : "",
    dialog: document.getElementById("detail").open ? txt(document.getElementById("detail")) : null,
    height: Number(document.getElementById("graph").getAttribute("height")),
    unreachable: [...document.querySelectorAll("#gnodes > g")].filter(g => g.getAttribute("tabindex") !== "0" || !g.getAttribute("aria-label")).length +
      [...document.querySelectorAll("#ports .card.port")].filter(c => c.tabIndex !== 0 || !c.getAttribute("aria-label")).length };
})()`

type pageState struct {
	Cards []struct{ Key, Text, Title string } `json:"cards"`
	Nodes []struct {
		Key, Text, Sub, Title, Cls string
	} `json:"nodes"`
	Edges  []string `json:"edges"`
	Imgs   int      `json:"imgs"`
	Pwned  int      `json:"pwned"`
	Ferr   *string  `json:"ferr"`
	Active string   `json:"active"`
	Dialog *string  `json:"dialog"`
	Height float64  `json:"height"`
	// Unreachable counts the nodes and cards that the keyboard cannot
	// reach or that have no accessible name.
	Unreachable int `json:"unreachable"`
}

func (b *browser) state() pageState {
	b.t.Helper()
	var s pageState
	b.eval(pageProbe, &s)
	return s
}

// typeFilter focuses the filter with "/", replaces its text and applies
// it with Enter.
func (b *browser) typeFilter(text string) {
	b.t.Helper()
	b.do("focus the page", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
	b.do("press /", chromedp.KeyEvent("/"))
	var active string
	b.eval(`document.activeElement.id`, &active)
	if active != "filter" {
		b.t.Fatalf("after /, the focus is on %q, want the filter box", active)
	}
	// "/" selected the old text: typing replaces it.
	b.do("clear the filter", chromedp.KeyEvent(kb.Backspace))
	b.do("type "+text, chromedp.KeyEvent(text+kb.Enter))
}

func cardOf(s pageState, port uint16) (text, title string, ok bool) {
	for _, c := range s.Cards {
		if strings.HasSuffix(c.Key, ":tcp/"+strconv.Itoa(int(port))) {
			return c.Text, c.Title, true
		}
	}
	return "", "", false
}

func hasNode(s pageState, key string) bool {
	for _, n := range s.Nodes {
		if n.Key == key {
			return true
		}
	}
	return false
}

func portNodes(s pageState) int {
	n := 0
	for _, x := range s.Nodes {
		if strings.HasPrefix(x.Key, "p:") {
			n++
		}
	}
	return n
}

// TestPageInBrowser loads the page in a real headless Chromium against
// live sockets: the cards and the graph show the test's listener and its
// holder (this process), a child with a hostile name stays text, the
// filter box filters on the server, Enter opens a port's explanation, and
// the console stays free of errors.
func TestPageInBrowser(t *testing.T) {
	chrome := findChromium(t)
	myLn, myPort := listen(t)
	childPID, childPort := startHostile(t)
	// A connection to the test's listener that another process holds:
	// the graph links its peer to that process, not to this one.
	_, passed := connect(t, myLn)
	holderPID := startHolder(t, passed)
	// One connection to the child's listener (in its accept queue): a peer.
	c, err := net.DialTimeout("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(childPort))), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := serveLoopback(t, New(Config{}), ServeOptions{})
	b := newBrowser(t, chrome)
	me, child := strconv.Itoa(os.Getpid()), strconv.Itoa(childPID)
	myCard := fmt.Sprintf(`[...document.querySelectorAll("#ports .card.port")].some(c => c.dataset.key.endsWith(":tcp/%d"))`, myPort)
	childCard := fmt.Sprintf(`[...document.querySelectorAll("#ports .card.port")].some(c => c.dataset.key.endsWith(":tcp/%d"))`, childPort)

	// The whole view: both listeners as cards, with their holders.
	b.do("load the page", chromedp.Navigate("http://"+addr+"/"))
	b.wait("the cards of both listeners", myCard+" && "+childCard)
	s := b.state()
	text, _, _ := cardOf(s, myPort)
	if !strings.Contains(text, "127.0.0.1:"+strconv.Itoa(int(myPort))+" LISTEN") || !strings.Contains(text, "(pid "+me+", fd ") {
		t.Errorf("card of tcp/%d = %q, want the listener held by pid %s", myPort, text, me)
	}
	text, title, _ := cardOf(s, childPort)
	if !strings.Contains(text, hostileShown+" (pid "+child+", fd ") {
		t.Errorf("card of tcp/%d = %q, want the holder %s (pid %s) as text", childPort, text, hostileShown, child)
	}
	if !strings.Contains(title, `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>\x1b[31m\u202eevil`) {
		t.Errorf("tooltip of tcp/%d = %q, want the command line as text with escapes shown", childPort, title)
	}
	if s.Imgs != 0 || s.Pwned != 0 {
		t.Errorf("the hostile name became markup: %d elements, window.pwned = %d", s.Imgs, s.Pwned)
	}

	// The graph, narrowed to the test's two ports by the server-side
	// filter: port → listener → holder → peer.
	filter := fmt.Sprintf("sport = :%d or sport = :%d", myPort, childPort)
	b.typeFilter(filter)
	b.wait("the filter to apply", fmt.Sprintf(`document.querySelectorAll("#ports .card.port").length === 2 && %s && %s && new URLSearchParams(location.search).get("filter") === %q`, myCard, childCard, filter))
	s = b.state()
	mine, theirs := fmt.Sprintf("tcp/%d", myPort), fmt.Sprintf("tcp/%d", childPort)
	var myPortKey, childPortKey string
	for _, n := range s.Nodes {
		switch {
		case strings.HasPrefix(n.Key, "p:") && strings.HasSuffix(n.Key, ":"+mine):
			myPortKey = n.Key
		case strings.HasPrefix(n.Key, "p:") && strings.HasSuffix(n.Key, ":"+theirs):
			childPortKey = n.Key
		}
	}
	if myPortKey == "" || childPortKey == "" || portNodes(s) != 2 {
		t.Fatalf("graph port nodes: %+v; want exactly %s and %s", s.Nodes, mine, theirs)
	}
	for _, n := range s.Nodes {
		if n.Key != "h:"+child {
			continue
		}
		// The node shows the name, clipped to its width; its tooltip
		// the whole of it.
		clipped := strings.HasSuffix(n.Text, "…") && strings.HasPrefix(hostileShown, strings.TrimSuffix(n.Text, "…"))
		if n.Text != hostileShown && !clipped || !strings.HasPrefix(n.Title, hostileShown+" — pid "+child) || n.Sub != "pid "+child+" · "+currentUser(t) {
			t.Errorf("holder node of the child = %q / %q (tooltip %q), want %q / pid %s", n.Text, n.Sub, n.Title, hostileShown, child)
		}
	}
	holder := strconv.Itoa(holderPID)
	for _, e := range []string{
		myPortKey + " > l:" + strings.TrimPrefix(strings.TrimSuffix(myPortKey, mine), "p:") + "tcp:127.0.0.1:" + strconv.Itoa(int(myPort)),
		childPortKey + " > l:" + strings.TrimPrefix(strings.TrimSuffix(childPortKey, theirs), "p:") + "tcp:127.0.0.1:" + strconv.Itoa(int(childPort)),
		// The connection in the child's accept queue: no process holds it.
		childPortKey + " > r:127.0.0.1",
		// The connection passed to the holder: held by it alone.
		myPortKey + " > h:" + holder,
		"h:" + holder + " > r:127.0.0.1",
	} {
		found := false
		for _, have := range s.Edges {
			if strings.HasPrefix(have, e) {
				found = true
			}
		}
		if !found {
			t.Errorf("graph lacks the edge %q; edges: %q", e, s.Edges)
		}
	}
	for _, k := range []string{"h:" + me, "h:" + child, "h:" + holder, "r:127.0.0.1"} {
		if !hasNode(s, k) {
			t.Errorf("graph lacks node %s: %+v", k, s.Nodes)
		}
	}
	for _, e := range s.Edges {
		if e == "h:"+me+" > r:127.0.0.1" || e == "h:"+child+" > r:127.0.0.1" {
			t.Errorf("graph has the edge %q, but no connection on the filtered ports held by that process goes to 127.0.0.1", e)
		}
	}
	if s.Imgs != 0 || s.Pwned != 0 {
		t.Errorf("the hostile name became markup in the graph: %d elements, window.pwned = %d", s.Imgs, s.Pwned)
	}
	if s.Unreachable != 0 {
		t.Errorf("%d graph nodes or cards lack tabindex=0 or an aria-label", s.Unreachable)
	}

	// A narrower filter: only the child's port remains, in the cards and
	// in the graph.
	b.typeFilter("pid " + child)
	b.wait("pid filter", fmt.Sprintf(`document.querySelectorAll("#ports .card.port").length === 1 && %s`, childCard))
	if s = b.state(); portNodes(s) != 1 || !hasNode(s, childPortKey) || !hasNode(s, "h:"+child) || hasNode(s, "h:"+me) {
		t.Errorf("graph under filter pid %s: %+v", child, s.Nodes)
	}

	// A filter that does not parse: the server's message and a caret
	// under the mistake; the last result stays.
	b.typeFilter("sport = :80 stat established")
	b.wait("the filter error", `!document.getElementById("ferr").hidden`)
	s = b.state()
	if s.Ferr == nil || !strings.Contains(*s.Ferr, `unknown keyword "stat"`) || !strings.Contains(*s.Ferr, "sport = :80 stat established\n            ^") {
		t.Errorf("filter error shown = %q, want the message and a caret under \"stat\"", deref(s.Ferr))
	}
	if len(s.Cards) != 1 {
		t.Errorf("after a bad filter, %d cards, want the last result's 1", len(s.Cards))
	}
	// Live refresh goes on with the last filter that parsed, the error
	// still shown.
	b.wait("a refresh under the bad filter", `document.getElementById("status").textContent.includes("the filter does not parse, so the last one that did applies") && !document.getElementById("ferr").hidden && document.querySelectorAll("#ports .card.port").length === 1`)

	// Keyboard: Enter on a focused card opens the port's explanation;
	// Escape closes it and gives the focus back.
	b.typeFilter(filter)
	b.wait("the filter to apply again", `document.getElementById("ferr").hidden && document.querySelectorAll("#ports .card.port").length === 2`)
	b.do("focus the child's card", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`[...document.querySelectorAll("#ports .card.port")].find(c => c.dataset.key.endsWith(":tcp/%d")).focus()`, childPort)))
	b.do("press Enter", chromedp.KeyEvent(kb.Enter))
	b.wait("the detail", `document.getElementById("detail").open && document.querySelectorAll("#dbody .sentences p").length > 0`)
	s = b.state()
	reach := fmt.Sprintf("A new connection to 127.0.0.1:%d reaches tcp 127.0.0.1:%d LISTEN", childPort, childPort)
	if s.Dialog == nil || !strings.Contains(*s.Dialog, reach) || !strings.Contains(*s.Dialog, hostileShown) {
		t.Errorf("detail of %s = %q, want %q and the holder as text", theirs, deref(s.Dialog), reach)
	}
	// The dialog's close event, which gives the focus back, is queued
	// after the dialog closes: wait for the focus too, or a focus moved
	// now would be taken back by it.
	b.do("press Escape", chromedp.KeyEvent(kb.Escape))
	b.wait("the detail to close and the focus to return", fmt.Sprintf(`!document.getElementById("detail").open && document.activeElement && document.activeElement.dataset.key === %q`, childPortKey[2:]))
	if s = b.state(); s.Active != childPortKey[2:] {
		t.Errorf("after closing the detail, the focus is on %q, want the card %q", s.Active, childPortKey[2:])
	}
	// Enter on the graph's port node opens the same detail.
	b.do("focus the port node", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector('#gnodes > g[data-key=%q]').focus()`, myPortKey)))
	b.wait("the port node to have the focus", fmt.Sprintf(`document.activeElement && document.activeElement.dataset.key === %q`, myPortKey))
	b.do("press Enter", chromedp.KeyEvent(kb.Enter))
	b.wait("the detail of the node", fmt.Sprintf(`document.getElementById("detail").open && document.getElementById("dtitle").textContent === %q && document.querySelectorAll("#dbody .sentences p").length > 0`, mine))
	b.do("press Escape", chromedp.KeyEvent(kb.Escape))
	b.wait("the detail to close and the focus to return", fmt.Sprintf(`!document.getElementById("detail").open && document.activeElement && document.activeElement.dataset.key === %q`, myPortKey))

	// Live refresh in place: a new refresh keeps the same elements (no
	// flicker, focus kept).
	b.do("mark the elements", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("#ports .card.port, #gnodes > g").forEach(e => e.__kept = true); window.__status = document.getElementById("status").textContent`))
	b.wait("a refresh", `document.getElementById("status").textContent !== window.__status`)
	var kept bool
	b.eval(`[...document.querySelectorAll("#ports .card.port, #gnodes > g")].every(e => e.__kept) && document.activeElement.dataset.key === `+strconv.Quote(myPortKey), &kept)
	if !kept {
		t.Error("a refresh replaced the cards or nodes, or lost the focus")
	}

	// Arrows move along the graph's edges: right from a port to its
	// listener, right again to its holder; Enter on a process filters by
	// its pid.
	b.do("press ArrowRight twice", chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowRight))
	if s = b.state(); s.Active != "h:"+me {
		t.Errorf("after two ArrowRight from %s, the focus is on %q, want h:%s", myPortKey, s.Active, me)
	}
	b.do("press Enter", chromedp.KeyEvent(kb.Enter))
	// This process holds the test's listener and Serve's.
	b.wait("the pid filter from the process node", fmt.Sprintf(`document.getElementById("filter").value === "pid %s" && document.querySelectorAll("#ports .card.port").length === 2 && %s && !(%s)`, me, myCard, childCard))

	checkConsole(t, b.messages())
}

// checkConsole fails on any console error, warning or exception. Chromium
// logs every 4xx answer to a fetch as a network error: the 400 of the bad
// filter, which the test typed on purpose, is the only one allowed.
func checkConsole(t *testing.T, msgs []chromedp.ConsoleMessage) {
	t.Helper()
	for _, m := range msgs {
		if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleWarning && !m.IsException() {
			continue
		}
		if m.Source == "network" && strings.Contains(m.Text, "status of 400") && strings.Contains(m.URL, "filter=") {
			continue
		}
		t.Errorf("console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}

// currentUser is the name the holder scan gives this process's user.
func currentUser(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("id", "-un").Output()
	if err != nil {
		t.Skipf("id -un: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestPageInBrowserManyPorts: with 500 listened ports the graph stays
// readable: each column shows at most 40 nodes and folds the rest into
// one "more" node, which Enter unfolds (and folds again); the cards show
// every port.
func TestPageInBrowserManyPorts(t *testing.T) {
	chrome := findChromium(t)
	const n = 500
	for range n {
		listen(t)
	}
	addr := serveLoopback(t, New(Config{}), ServeOptions{})
	b := newBrowser(t, chrome)
	me := strconv.Itoa(os.Getpid())
	// This process's listeners: the test's 500 and Serve's own.
	filter := "pid " + me + " and state listening"
	b.do("load the page", chromedp.Navigate("http://"+addr+"/?filter="+url.QueryEscape(filter)))
	b.wait("the cards", fmt.Sprintf(`document.querySelectorAll("#ports .card.port").length >= %d`, n+1))
	s := b.state()
	ports := len(s.Cards)
	count := func(s pageState, prefix string) int {
		k := 0
		for _, x := range s.Nodes {
			if strings.HasPrefix(x.Key, prefix) {
				k++
			}
		}
		return k
	}
	more := func(s pageState, key string) string {
		for _, x := range s.Nodes {
			if x.Key == key {
				return x.Text
			}
		}
		return ""
	}
	if p, l := count(s, "p:"), count(s, "l:"); p != 39 || l != 39 {
		t.Errorf("folded graph shows %d ports and %d listeners, want 39 each", p, l)
	}
	if got, want := more(s, "m:0"), fmt.Sprintf("+%d more ports", ports-39); got != want {
		t.Errorf("more node of the ports = %q, want %q", got, want)
	}
	if count(s, "h:") != 1 || !hasNode(s, "h:"+me) {
		t.Errorf("processes column: %+v, want only this process", s.Nodes)
	}
	if s.Height > 45*40 {
		t.Errorf("folded graph is %.0f px high, want at most %d", s.Height, 45*40)
	}

	b.do("focus the more node", chromedp.Evaluate[chromedp.Void](`document.querySelector('#gnodes > g[data-key="m:0"]').focus()`))
	b.do("press Enter", chromedp.KeyEvent(kb.Enter))
	b.wait("the unfolded graph", fmt.Sprintf(`document.querySelectorAll('#gnodes > g[data-key^="p:"]').length === %d`, ports))
	s = b.state()
	if count(s, "l:") != ports || more(s, "m:0") != "show fewer ports" || s.Active != "m:0" {
		t.Errorf("unfolded: %d listeners of %d ports, more node %q, focus on %q", count(s, "l:"), ports, more(s, "m:0"), s.Active)
	}
	if s.Height < float64(ports*40) {
		t.Errorf("unfolded graph is %.0f px high for %d ports", s.Height, ports)
	}
	b.do("press Enter", chromedp.KeyEvent(kb.Enter))
	b.wait("the folded graph", `document.querySelectorAll('#gnodes > g[data-key^="p:"]').length === 39`)
	checkConsole(t, b.messages())
}
