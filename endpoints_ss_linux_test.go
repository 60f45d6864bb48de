package sockscope_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/internal/cli"
	"github.com/sockscope/sockscope/internal/nstest"
)

// bindKind is one way to bind a socket: a family, an address, for
// AF_INET6 IPV6_V6ONLY (-1: leave the default), and whether to bind to the
// device lo first (SO_BINDTODEVICE).
type bindKind struct {
	fam    int
	addr   netip.Addr
	v6only int
	dev    bool
}

func (k bindKind) String() string {
	s := k.addr.String()
	if k.fam == unix.AF_INET6 {
		s = "[" + s + "]"
		switch k.v6only {
		case 0:
			s += " dual-stack"
		case 1:
			s += " v6only"
		}
	}
	if k.dev {
		s += " on device lo"
	}
	return s
}

// epGen draws random sockets over every address kind issue 9 names.
type epGen struct {
	r  *rand.Rand
	v6 bool // IPv6 works on lo
}

// loop4 is 127.0.0.1 or another address of 127/8.
func (g *epGen) loop4() netip.Addr {
	if g.r.IntN(3) == 0 {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	return netip.AddrFrom4([4]byte{127, byte(g.r.IntN(256)), byte(g.r.IntN(256)), byte(1 + g.r.IntN(254))})
}

func mapped(a netip.Addr) netip.Addr { return netip.AddrFrom16(a.As16()) }

func (g *epGen) kind() bindKind {
	k := g.addrKind()
	k.dev = g.r.IntN(5) == 0
	return k
}

func (g *epGen) addrKind() bindKind {
	n := 3
	if g.v6 {
		n = 8
	}
	switch g.r.IntN(n) {
	case 0:
		return bindKind{unix.AF_INET, netip.IPv4Unspecified(), -1, false}
	case 1:
		return bindKind{unix.AF_INET, netip.AddrFrom4([4]byte{127, 0, 0, 1}), -1, false}
	case 2:
		return bindKind{unix.AF_INET, g.loop4(), -1, false}
	case 3:
		return bindKind{unix.AF_INET6, netip.IPv6Unspecified(), 1, false}
	case 4:
		return bindKind{unix.AF_INET6, netip.IPv6Unspecified(), 0, false}
	case 5:
		return bindKind{unix.AF_INET6, netip.IPv6Loopback(), -1, false}
	case 6:
		return bindKind{unix.AF_INET6, mapped(netip.AddrFrom4([4]byte{127, 0, 0, 1})), 0, false}
	default:
		return bindKind{unix.AF_INET6, mapped(g.loop4()), 0, false}
	}
}

// target returns an address a socket of kind k can reach: what a
// connection to a listener bound as k, or a datagram from a socket bound
// as k, may use.
func (g *epGen) target(k bindKind) netip.Addr {
	switch {
	case k.fam == unix.AF_INET && k.addr.IsUnspecified():
		return g.loop4()
	case k.fam == unix.AF_INET:
		return k.addr
	case k.addr.IsUnspecified() && k.v6only == 1, k.addr == netip.IPv6Loopback():
		return netip.IPv6Loopback()
	case k.addr.IsUnspecified():
		if g.r.IntN(2) == 0 {
			return netip.IPv6Loopback()
		}
		return mapped(g.loop4())
	}
	return k.addr // v4-mapped
}

func sockaddrOf(fam int, a netip.Addr, port int) unix.Sockaddr {
	if fam == unix.AF_INET {
		return &unix.SockaddrInet4{Addr: a.Unmap().As4(), Port: port}
	}
	return &unix.SockaddrInet6{Addr: a.As16(), Port: port}
}

// epFail is a failure on the namespace's thread, where t.Fatal must not be
// called (it would end that goroutine, not the test): failf panics with
// it and doIn reports it from the test's goroutine.
type epFail string

func failf(format string, args ...any) { panic(epFail(fmt.Sprintf(format, args...))) }

// doIn runs f on n's thread and fails the test if f called failf.
func doIn(t *testing.T, n *testNet, f func()) {
	t.Helper()
	var fail epFail
	n.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				msg, ok := r.(epFail)
				if !ok {
					panic(r)
				}
				fail = msg
			}
		}()
		f()
	})
	if fail != "" {
		t.Fatal(string(fail))
	}
}

// epSockets creates sockets and remembers their fds and inodes.
type epSockets struct {
	fds    []int
	inodes map[uint64]string // inode -> how it was made, for messages
}

func (e *epSockets) keep(fd int, what string) {
	ino, err := nstest.Inode(fd)
	if err != nil {
		failf("%s: %v", what, err)
	}
	e.fds = append(e.fds, fd)
	e.inodes[ino] = what
}

// open creates a socket bound as k (port 0), unbound when k is the zero
// bindKind but fam is given.
func (e *epSockets) open(typ, fam int, k *bindKind, what string) int {
	fd, err := unix.Socket(fam, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		failf("%s: socket: %v", what, err)
	}
	e.fds = append(e.fds, fd)
	if k != nil && k.fam == unix.AF_INET6 && k.v6only >= 0 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, k.v6only); err != nil {
			failf("%s: IPV6_V6ONLY: %v", what, err)
		}
	}
	if k != nil && k.dev {
		if err := unix.BindToDevice(fd, "lo"); err != nil {
			failf("%s: SO_BINDTODEVICE lo: %v", what, err)
		}
	}
	if k != nil {
		if err := unix.Bind(fd, sockaddrOf(k.fam, k.addr, 0)); err != nil {
			failf("%s: bind: %v", what, err)
		}
	}
	return fd
}

func localPort(fd int) int {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		failf("getsockname: %v", err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return sa.Port
	case *unix.SockaddrInet6:
		return sa.Port
	}
	failf("getsockname: %T", sa)
	return 0
}

// acceptOne accepts one connection on a listener, polling with a deadline.
func acceptOne(lfd int) int {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		nfd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
		if err == nil {
			return nfd
		}
		if !errors.Is(err, unix.EAGAIN) {
			failf("accept: %v", err)
		}
		pfd := []unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, 100); err != nil && !errors.Is(err, unix.EINTR) {
			failf("poll: %v", err)
		}
	}
	failf("no connection to accept within 5s")
	return -1
}

// build makes n random sockets: TCP listeners and established pairs, UDP
// bound and connected sockets.
func (e *epSockets) build(g *epGen, n int) {
	for i := 0; i < n; i++ {
		k := g.kind()
		switch g.r.IntN(4) {
		case 0: // TCP listener
			what := fmt.Sprintf("tcp listener on %v", k)
			fd := e.open(unix.SOCK_STREAM, k.fam, &k, what)
			if err := unix.Listen(fd, 16); err != nil {
				failf("%s: listen: %v", what, err)
			}
			e.keep(fd, what)
		case 1: // TCP established: a listener, a client, the accepted end
			what := fmt.Sprintf("tcp listener on %v", k)
			lfd := e.open(unix.SOCK_STREAM|unix.SOCK_NONBLOCK, k.fam, &k, what)
			if err := unix.Listen(lfd, 16); err != nil {
				failf("%s: listen: %v", what, err)
			}
			e.keep(lfd, what)
			dst := g.target(k)
			cfam := unix.AF_INET6
			if dst.Is4() || (dst.Is4In6() && g.r.IntN(2) == 0) {
				cfam = unix.AF_INET // an IPv4 client, also to a v4-mapped listener
			}
			if k.fam == unix.AF_INET && g.r.IntN(2) == 0 && g.v6 {
				cfam, dst = unix.AF_INET6, mapped(dst) // a dual-stack client to an IPv4 listener
			}
			cwhat := fmt.Sprintf("tcp client (family %d) to %v of the %s", cfam, dst, what)
			cfd := e.open(unix.SOCK_STREAM, cfam, nil, cwhat)
			if err := unix.Connect(cfd, sockaddrOf(cfam, dst, localPort(lfd))); err != nil {
				failf("%s: connect: %v", cwhat, err)
			}
			e.keep(cfd, cwhat)
			e.keep(acceptOne(lfd), "accepted end of the "+cwhat)
		case 2: // UDP bound
			what := fmt.Sprintf("udp bound to %v", k)
			e.keep(e.open(unix.SOCK_DGRAM, k.fam, &k, what), what)
		default: // UDP connected, bound first or not
			var kp *bindKind
			if g.r.IntN(3) > 0 {
				kp = &k
			}
			dst := g.target(k)
			port := 1 + g.r.IntN(65535)
			what := fmt.Sprintf("udp (bound to %v: %v) connected to %v:%d", k, kp != nil, dst, port)
			fd := e.open(unix.SOCK_DGRAM, k.fam, kp, what)
			if k.fam == unix.AF_INET6 && kp == nil && k.v6only >= 0 {
				if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, k.v6only); err != nil {
					failf("%s: IPV6_V6ONLY: %v", what, err)
				}
			}
			if err := unix.Connect(fd, sockaddrOf(k.fam, dst, port)); err != nil {
				failf("%s: connect: %v", what, err)
			}
			e.keep(fd, what)
		}
	}
}

// epRow is one socket as "proto state local remote".
type epRows map[uint64]string

// ssRows runs `ss -tuanHe` (in the namespace at path, if any) and returns
// its rows by inode, and the count of rows.
func ssRows(t *testing.T, path string) (epRows, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	argv := []string{"ss", "-tuanHe"}
	if path != "" {
		argv = append([]string{"nsenter", "--net=" + path}, argv...)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, stderr.Bytes())
	}
	rows, n := epRows{}, 0
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		n++
		m := ssIno.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("ss row without ino: %q", line)
		}
		ino, _ := strconv.ParseUint(m[1], 10, 64)
		rows[ino] = strings.Join(f[:2], " ") + " " + f[4] + " " + f[5]
	}
	return rows, n
}

// cliOut runs sockscope's command line in-process.
func cliOut(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := cli.Main(ctx, args, cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, OutTTY: false,
		Getenv: func(k string) string {
			if k == "NO_COLOR" {
				return "1"
			}
			return ""
		}})
	if code != 0 {
		t.Fatalf("sockscope %s: exit %d: %s", strings.Join(args, " "), code, errb.Bytes())
	}
	return out.String()
}

// sockscopeRows reads the test's namespace three ways: the library, and
// `ls -tuan` as JSON and as pipe records.
func sockscopeRows(t *testing.T, n *testNet) map[string]epRows {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := n.Options()
	opts.Protos = []sockscope.Proto{sockscope.TCP, sockscope.UDP}
	snap, err := sockscope.Collect(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]epRows{"Collect": {}, "ls -o json": {}, "ls (pipe)": {}}
	for _, s := range snap.Sockets {
		all["Collect"][s.Inode] = s.Proto.String() + " " + s.State.String() + " " + s.LocalString() + " " + s.RemoteString()
	}
	var global []string
	if n.private {
		global = []string{"--netns", n.path}
	}
	var doc struct {
		Sockets []struct {
			Proto, State, Local, Remote string
			Inode                       uint64
		}
	}
	js := cliOut(t, append(global, "ls", "-tuan", "-o", "json")...)
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatalf("ls -tuan -o json: %v\n%.500s", err, js)
	}
	for _, s := range doc.Sockets {
		all["ls -o json"][s.Inode] = s.Proto + " " + s.State + " " + s.Local + " " + s.Remote
	}
	// Pipe records: netid state recv-q send-q local peer uid inode cookie.
	for _, line := range strings.Split(cliOut(t, append(global, "ls", "-tuane")...), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 9 {
			continue
		}
		ino, err := strconv.ParseUint(f[7], 10, 64)
		if err != nil {
			t.Fatalf("ls -tuane: inode column %q: %v", f[7], err)
		}
		all["ls (pipe)"][ino] = f[0] + " " + f[1] + " " + f[4] + " " + f[5]
	}
	return all
}

// TestEndpointsMatchSS is the property test of issue 9: random sockets over
// every address kind (0.0.0.0, [::] with and without IPV6_V6ONLY, v4-mapped,
// 127.0.0.1 and other 127/8 addresses, ::1; TCP listeners and connections,
// UDP bound and connected) print, through the library, `ls -tuan -o json`
// and `ls -tuane`, byte for byte as `ss -tuanH` prints them. As root the
// sockets live in a private namespace and the whole tables must agree,
// also when both read /proc/net (where IPV6_V6ONLY is unknown and ss prints
// "*" for every [::]); otherwise on the shared loopback, and only our
// sockets (by inode) count.
func TestEndpointsMatchSS(t *testing.T) {
	for _, tool := range []string{"ss", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	g := &epGen{r: rand.New(rand.NewPCG(seed, 0x5eed))}
	const rounds, perRound = 4, 16
	deadline := time.Now().Add(60 * time.Second)
	for round := 0; round < rounds && time.Now().Before(deadline); round++ {
		n := newTestNet(t)
		e := &epSockets{inodes: map[uint64]string{}}
		doIn(t, n, func() {
			g.v6 = v6Works()
			e.build(g, perRound)
		})
		if !g.v6 {
			t.Log("IPv6 does not work on lo here: IPv4 kinds only")
		}
		ss, ssN := ssRows(t, n.path)
		for src, rows := range sockscopeRows(t, n) {
			for ino, what := range e.inodes {
				want, ok := ss[ino]
				if !ok {
					t.Errorf("round %d: ss does not list our %s (inode %d)", round, what, ino)
					continue
				}
				if got := rows[ino]; got != want {
					t.Errorf("round %d: %s: %s (inode %d):\n got %q\nwant %q (ss)", round, src, what, ino, got, want)
				}
			}
			if n.private && (len(rows) != ssN || ssN != len(e.inodes)) {
				t.Errorf("round %d: in our namespace %s lists %d sockets, ss %d, we made %d:\n%s\nss:\n%s",
					round, src, len(rows), ssN, len(e.inodes), rowsText(rows), rowsText(ss))
			}
		}
		t.Logf("round %d: %d sockets compared with ss (%d rows)", round, len(e.inodes), ssN)
		if n.private {
			// The /proc/net source knows no IPV6_V6ONLY: sockscope prints
			// what ss prints from /proc (PROC_ROOT makes ss read it).
			want := ssProcTable(t, n.path)
			for src, got := range sockscopeProcTables(t, n) {
				if got != want {
					t.Errorf("round %d: %s differs from PROC_ROOT=/proc ss -tuanH:\n%s\nss:\n%s", round, src, got, want)
				}
			}
		}
		for _, fd := range e.fds {
			unix.Close(fd)
		}
		if t.Failed() {
			break
		}
	}
}

// ssProcTable runs `ss -tuanH` reading /proc/net in the namespace at
// path and returns its sorted "proto state local remote" lines.
func ssProcTable(t *testing.T, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "nsenter", "--net="+path, "ss", "-tuanH")
	cmd.Env = append(cmd.Environ(), "PROC_ROOT=/proc")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("PROC_ROOT=/proc ss -tuanH: %v: %s", err, stderr.Bytes())
	}
	var lines []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 6 {
			lines = append(lines, f[0]+" "+f[1]+" "+f[4]+" "+f[5])
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// sockscopeProcTables reads the namespace from /proc/net through the
// library and `ls -tuan -o json`, as sorted "proto state local remote"
// lines.
func sockscopeProcTables(t *testing.T, n *testNet) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := n.Options()
	opts.Protos = []sockscope.Proto{sockscope.TCP, sockscope.UDP}
	opts.Source = sockscope.SourceProc
	snap, err := sockscope.Collect(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	var lib []string
	for _, s := range snap.Sockets {
		lib = append(lib, s.Proto.String()+" "+s.State.String()+" "+s.LocalString()+" "+s.RemoteString())
	}
	var doc struct {
		Sockets []struct{ Proto, State, Local, Remote string }
	}
	js := cliOut(t, "--netns", n.path, "--source", "proc", "ls", "-tuan", "-o", "json")
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatalf("--source proc ls -tuan -o json: %v", err)
	}
	var cl []string
	for _, s := range doc.Sockets {
		cl = append(cl, s.Proto+" "+s.State+" "+s.Local+" "+s.Remote)
	}
	sort.Strings(lib)
	sort.Strings(cl)
	return map[string]string{"Collect (proc)": strings.Join(lib, "\n"), "--source proc ls -o json": strings.Join(cl, "\n")}
}

// v6Works reports whether an AF_INET6 socket can bind ::1 in the calling
// thread's namespace.
func v6Works() bool {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.Bind(fd, &unix.SockaddrInet6{Addr: netip.IPv6Loopback().As16()}) == nil
}

func rowsText(r epRows) string {
	var lines []string
	for ino, s := range r {
		lines = append(lines, fmt.Sprintf("  %s ino:%d", s, ino))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestJSONHoldersAbsentVersusEmpty (issue 9 item 8): without a holder scan
// the socket objects of `ls -o json` have no "holders" member; with -p every
// socket has one, and a socket no process holds (TIME-WAIT) has [].
func TestJSONHoldersAbsentVersusEmpty(t *testing.T) {
	n := newTestNet(t)
	e := &epSockets{inodes: map[uint64]string{}}
	var lport int
	doIn(t, n, func() {
		k := bindKind{unix.AF_INET, netip.AddrFrom4([4]byte{127, 0, 0, 1}), -1, false}
		lfd := e.open(unix.SOCK_STREAM|unix.SOCK_NONBLOCK, unix.AF_INET, &k, "listener")
		if err := unix.Listen(lfd, 4); err != nil {
			failf("listen: %v", err)
		}
		e.keep(lfd, "listener")
		lport = localPort(lfd)
		cfd := e.open(unix.SOCK_STREAM, unix.AF_INET, nil, "client")
		if err := unix.Connect(cfd, sockaddrOf(unix.AF_INET, k.addr, lport)); err != nil {
			failf("connect: %v", err)
		}
		afd := acceptOne(lfd)
		// The client closes first, then the server: the client's end
		// goes to TIME-WAIT, a socket no process holds.
		unix.Close(cfd)
		unix.Close(afd)
	})
	defer func() {
		for _, fd := range e.fds {
			unix.Close(fd)
		}
	}()
	var global []string
	if n.private {
		global = []string{"--netns", n.path}
	}
	type sock struct {
		State   string
		Local   string
		Remote  string
		Holders *[]json.RawMessage
	}
	read := func(args ...string) []sock {
		var doc struct{ Sockets []sock }
		out := cliOut(t, append(global, args...)...)
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		var mine []sock
		ours := "127.0.0.1:" + strconv.Itoa(lport)
		for _, s := range doc.Sockets {
			if s.Local == ours || s.Remote == ours {
				mine = append(mine, s)
			}
		}
		return mine
	}
	deadline := time.Now().Add(10 * time.Second)
	var scanned []sock
	for {
		scanned = read("ls", "-tan", "-p", "-o", "json")
		tw := false
		for _, s := range scanned {
			tw = tw || s.State == "TIME-WAIT"
		}
		if tw {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no TIME-WAIT socket on port %d within 10s: %+v", lport, scanned)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, s := range scanned {
		switch {
		case s.Holders == nil:
			t.Errorf("ls -p: %s %s has no \"holders\" member; want one after a scan", s.State, s.Local)
		case s.State == "TIME-WAIT" && len(*s.Holders) != 0:
			t.Errorf("ls -p: TIME-WAIT socket has holders %s", *s.Holders)
		case s.State == "LISTEN" && len(*s.Holders) == 0:
			t.Errorf("ls -p: our listener has \"holders\": [], want this process")
		}
	}
	for _, s := range read("ls", "-tan", "-o", "json") {
		if s.Holders != nil {
			t.Errorf("ls without -p: %s %s has \"holders\": %s; want the member absent (not scanned)", s.State, s.Local, *s.Holders)
		}
	}
}

// TestHostileDeviceName: an interface name is chosen by whoever owns the
// namespace (an unprivileged user can own one) and may hold control
// characters. ss prints it raw; sockscope prints the same endpoint with the
// name escaped in tables, and exactly in JSON strings.
func TestHostileDeviceName(t *testing.T) {
	if unix.Geteuid() != 0 {
		t.Skip("needs root: creates a veth pair in a private namespace")
	}
	for _, tool := range []string{"ss", "nsenter", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	n := newTestNet(t)
	const name = "d\x1b[2Jx"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "nsenter", "--net="+n.path, "ip", "link", "add", name, "type", "veth", "peer", "name", "vp0").CombinedOutput(); err != nil {
		t.Fatalf("ip link add: %v: %s", err, out)
	}
	e := &epSockets{inodes: map[uint64]string{}}
	var port int
	doIn(t, n, func() {
		fd := e.open(unix.SOCK_DGRAM, unix.AF_INET, nil, "udp on the device")
		if err := unix.BindToDevice(fd, name); err != nil {
			failf("SO_BINDTODEVICE: %v", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{}); err != nil {
			failf("bind: %v", err)
		}
		e.keep(fd, "udp on the device")
		port = localPort(fd)
	})
	defer func() {
		for _, fd := range e.fds {
			unix.Close(fd)
		}
	}()
	raw := "0.0.0.0%" + name + ":" + strconv.Itoa(port)
	ss, _ := ssRows(t, n.path)
	for ino := range e.inodes {
		if want := "udp UNCONN " + raw + " 0.0.0.0:*"; ss[ino] != want {
			t.Fatalf("ss prints %q, want %q", ss[ino], want)
		}
	}
	js := cliOut(t, "--netns", n.path, "ls", "-uan", "-o", "json")
	if want := `"local":"0.0.0.0%d\u001b[2Jx:` + strconv.Itoa(port) + `"`; !strings.Contains(js, want) {
		t.Errorf("ls -o json lacks %s:\n%s", want, js)
	}
	pipe := cliOut(t, "--netns", n.path, "ls", "-uan")
	if want := `0.0.0.0%d\x1b[2Jx:` + strconv.Itoa(port); !strings.Contains(pipe, want) || strings.Contains(pipe, "\x1b") {
		t.Errorf("ls -uan = %q, want %q and no raw escape", pipe, want)
	}
}

// TestLookupReplyEndpoints: the kernel's own lookup (demux's check) reports
// the listener's IPV6_V6ONLY, so its endpoints print as ss prints that
// socket: "*:P" for a dual-stack listener, "[::]:P" for a v6only one.
func TestLookupReplyEndpoints(t *testing.T) {
	n := newTestNet(t)
	for _, c := range []struct {
		v6only      int
		dst         netip.Addr
		local, peer string
	}{
		{0, netip.AddrFrom4([4]byte{127, 0, 0, 1}), "*", "*"},
		{1, netip.IPv6Loopback(), "[::]", "[::]"},
	} {
		e := &epSockets{inodes: map[uint64]string{}}
		var port int
		var v6 bool
		doIn(t, n, func() { v6 = v6Works() })
		if !v6 {
			t.Skip("IPv6 does not work on lo here")
		}
		doIn(t, n, func() {
			k := bindKind{unix.AF_INET6, netip.IPv6Unspecified(), c.v6only, false}
			fd := e.open(unix.SOCK_STREAM, unix.AF_INET6, &k, "listener")
			if err := unix.Listen(fd, 4); err != nil {
				failf("listen: %v", err)
			}
			port = localPort(fd)
		})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		r, err := sockscope.LookupSocket(ctx, n.Options(), sockscope.LookupRequest{Proto: sockscope.TCP,
			Src: netip.AddrPortFrom(c.dst, 40000), Dst: netip.AddrPortFrom(c.dst, uint16(port)), Ifindex: 1})
		cancel()
		for _, fd := range e.fds {
			unix.Close(fd)
		}
		if err != nil {
			t.Fatalf("v6only=%d: LookupSocket: %v", c.v6only, err)
		}
		wantL, wantR := c.local+":"+strconv.Itoa(port), c.peer+":*"
		if l, p := sockscope.FormatSocketAddrPort(r.Local, r.V6Only), sockscope.FormatSocketAddrPort(r.Remote, r.V6Only); l != wantL || p != wantR {
			t.Errorf("v6only=%d: kernel's lookup reply prints %s -> %s, want %s -> %s (as ss)", c.v6only, l, p, wantL, wantR)
		}
	}
}
