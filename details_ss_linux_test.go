package sockscope_test

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/render"
)

// These tests check ls -i, -m and --timers against ss on the same sockets:
// loopback connections the test builds (in a private namespace as root).

// ssDetail runs ss with args in n's namespace and returns the row of the
// one socket s is (by its local and remote endpoints), and the detail line
// under it ("" when ss prints none).
func ssDetail(t *testing.T, n *testNet, s *sockscope.Socket, args ...string) (row, detail string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	argv := append(append([]string{"-H"}, args...), "src", s.Local.String(), "dst", s.Remote.String())
	cmd := exec.CommandContext(ctx, "ss", argv...)
	if n.private {
		cmd = exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + n.path, "ss"}, argv...)...)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("%v printed no socket", cmd.Args)
	}
	if len(lines) > 2 {
		t.Fatalf("%v printed more than one socket:\n%s", cmd.Args, out)
	}
	if len(lines) == 2 {
		detail = strings.TrimSpace(lines[1])
	}
	return lines[0], detail
}

// ssWords splits ss's detail line into key -> value: "cwnd:10" gives
// "cwnd" -> "10", "send 1bps" gives "send" -> "1bps", a lone word ("ts",
// "cubic") maps to "".
func ssWords(line string) map[string]string {
	m := map[string]string{}
	f := strings.Fields(line)
	for i := 0; i < len(f); i++ {
		w := f[i]
		if k, v, ok := strings.Cut(w, ":"); ok {
			m[k] = v
			continue
		}
		if (w == "send" || w == "pacing_rate" || w == "delivery_rate") && i+1 < len(f) {
			m[w] = f[i+1]
			i++
			continue
		}
		m[w] = ""
	}
	return m
}

// collectOne collects the TCP socket that is c's end of its connection.
func collectOne(t *testing.T, c net.Conn, opts sockscope.Options) *sockscope.Socket {
	t.Helper()
	local, remote := netip.MustParseAddrPort(c.LocalAddr().String()), netip.MustParseAddrPort(c.RemoteAddr().String())
	s := findOne(t, local, remote, opts)
	if s == nil {
		t.Fatalf("no socket %s -> %s in the snapshot", local, remote)
	}
	return s
}

// findOne collects the TCP socket whose local and remote endpoints are
// local and remote; nil when there is none. (The host's loopback may hold
// an older TIME-WAIT socket on the same local port.)
func findOne(t *testing.T, local, remote netip.AddrPort, opts sockscope.Options) *sockscope.Socket {
	t.Helper()
	opts.Protos = []sockscope.Proto{sockscope.TCP}
	opts.LocalPort = local.Port()
	snap, err := sockscope.Collect(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snap.Sockets {
		if s.Local == local && s.Remote == remote {
			return s
		}
	}
	return nil
}

// loopbackPair builds a connected pair on 127.0.0.1 in n.
func loopbackPair(t *testing.T, n *testNet) (client, server *net.TCPConn) {
	t.Helper()
	var ln net.Listener
	var err error
	n.Do(func() {
		ln, err = net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return
		}
		var c net.Conn
		c, err = net.DialTimeout("tcp4", ln.Addr().String(), 5*time.Second)
		if err == nil {
			client = c.(*net.TCPConn)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	server = s.(*net.TCPConn)
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestTCPInfoAgainstSS sends exactly N bytes one way and M the other, then
// checks tcp_info's byte counters against what was sent, and the fields
// of an idle connection against ss -tmi on the same sockets.
func TestTCPInfoAgainstSS(t *testing.T) {
	n := newTestNet(t)
	client, server := loopbackPair(t, n)
	const N, M = 12345, 777
	for _, x := range []struct {
		from, to *net.TCPConn
		n        int
	}{{client, server, N}, {server, client, M}} {
		if _, err := x.from.Write(make([]byte, x.n)); err != nil {
			t.Fatal(err)
		}
		x.to.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(x.to, make([]byte, x.n)); err != nil {
			t.Fatal(err)
		}
	}
	opts := n.Options()
	opts.TCPInfo, opts.Memory = true, true

	// Both ends' data is acknowledged once the ACKs are in: poll.
	var c, s *sockscope.Socket
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, s = collectOne(t, client, opts), collectOne(t, server, opts)
		if c.Details != nil && c.Details.TCP != nil && s.Details != nil && s.Details.TCP != nil &&
			c.Details.TCP.Unacked == 0 && s.Details.TCP.Unacked == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	ct, st := c.Details.TCP, s.Details.TCP
	if ct == nil || st == nil {
		t.Fatalf("no tcp_info: client %+v server %+v", c.Details, s.Details)
	}
	// The kernel counts the SYN in the active opener's bytes_acked (its
	// snd_una starts at the ISN); the passive side's child socket starts
	// past its SYN-ACK.
	for _, x := range []struct {
		name      string
		got, want uint64
	}{
		{"client bytes_sent", ct.BytesSent, N}, {"client bytes_acked", ct.BytesAcked, N + 1}, {"client bytes_received", ct.BytesReceived, M},
		{"server bytes_sent", st.BytesSent, M}, {"server bytes_acked", st.BytesAcked, M}, {"server bytes_received", st.BytesReceived, N},
	} {
		if x.got != x.want {
			t.Errorf("%s = %d, want %d", x.name, x.got, x.want)
		}
	}

	for _, x := range []struct {
		name string
		sock *sockscope.Socket
	}{{"client", c}, {"server", s}} {
		_, line := ssDetail(t, n, x.sock, "-tnmi", "state", "established")
		ss := ssWords(line)
		t.Logf("%s: ss: %s\n ours: %s", x.name, line, render.DetailText(x.sock, true, true, true))
		d := x.sock.Details
		ours := ssWords(render.DetailText(x.sock, true, true, true))
		if _, ok := ss[d.Congestion]; !ok || d.Congestion == "" {
			t.Errorf("%s: congestion %q, ss says %q", x.name, d.Congestion, line)
		}
		// Values an idle connection keeps: equal in the struct, and in
		// the rendered line word for word.
		want := map[string]string{
			"wscale": strconv.Itoa(int(d.TCP.SndWscale)) + "," + strconv.Itoa(int(d.TCP.RcvWscale)),
			"mss":    strconv.FormatUint(uint64(d.TCP.SndMSS), 10),
			"cwnd":   strconv.FormatUint(uint64(d.TCP.SndCwnd), 10),
			"pmtu":   strconv.FormatUint(uint64(d.TCP.PMTU), 10),
			"rcvmss": strconv.FormatUint(uint64(d.TCP.RcvMSS), 10),
			"advmss": strconv.FormatUint(uint64(d.TCP.AdvMSS), 10),
		}
		for k, v := range map[string]uint64{"bytes_sent": d.TCP.BytesSent, "bytes_acked": d.TCP.BytesAcked, "bytes_received": d.TCP.BytesReceived,
			"segs_out": uint64(d.TCP.SegsOut), "segs_in": uint64(d.TCP.SegsIn), "data_segs_out": uint64(d.TCP.DataSegsOut), "data_segs_in": uint64(d.TCP.DataSegsIn)} {
			if v != 0 { // ss omits zeros
				want[k] = strconv.FormatUint(v, 10)
			}
		}
		for k, v := range want {
			if ss[k] != v {
				t.Errorf("%s: %s = %s, ss says %q (%s)", x.name, k, v, ss[k], line)
			}
			if ours[k] != v {
				t.Errorf("%s: our line has %s:%q, want %q", x.name, k, ours[k], v)
			}
		}
		// rtt moves only with traffic; allow for a sample in between.
		ssRTT, _ := strconv.ParseFloat(strings.Split(ss["rtt"], "/")[0], 64)
		if got := float64(d.TCP.RTT) / 1000; ssRTT <= 0 || got <= 0 || got > ssRTT*5+1 || ssRTT > got*5+1 {
			t.Errorf("%s: rtt %g ms, ss says %q", x.name, got, ss["rtt"])
		}
		// skmem: the buffer sizes of an idle socket do not move.
		m := d.Memory
		if m == nil {
			t.Fatalf("%s: no memory info", x.name)
		}
		sk := regexp.MustCompile(`skmem:\(r\d+,rb(\d+),t\d+,tb(\d+),`).FindStringSubmatch(line)
		if sk == nil {
			t.Fatalf("%s: no skmem in ss's %q", x.name, line)
		}
		if strconv.FormatUint(uint64(m.Rcvbuf), 10) != sk[1] || strconv.FormatUint(uint64(m.Sndbuf), 10) != sk[2] {
			t.Errorf("%s: rb %d tb %d, ss says rb%s tb%s", x.name, m.Rcvbuf, m.Sndbuf, sk[1], sk[2])
		}
		if !strings.HasPrefix(render.DetailText(x.sock, true, false, true), "skmem:(r") {
			t.Errorf("%s: our -m line %q", x.name, render.DetailText(x.sock, true, false, true))
		}
	}
}

var ssTimer = regexp.MustCompile(`timer:\((\w+),([^,]*),(\d+)\)`)

// ssMs parses ss's print_ms_timer text ("1min39sec", "9.500ms", "59sec").
func ssMs(t *testing.T, s string) uint32 {
	t.Helper()
	m := regexp.MustCompile(`^(?:(\d+)min)?(?:(\d+)(?:sec|\.))?(?:(\d+)ms)?$`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("ss timer %q", s)
	}
	var ms uint32
	for i, unit := range []uint32{60000, 1000, 1} {
		if m[i+1] != "" {
			v, _ := strconv.Atoi(m[i+1])
			ms += uint32(v) * unit
		}
	}
	return ms
}

// checkTimer compares a socket's timer with ss -o's for the same socket.
func checkTimer(t *testing.T, n *testNet, s *sockscope.Socket, wantName string, state string) {
	t.Helper()
	row, _ := ssDetail(t, n, s, "-tno", "state", state)
	m := ssTimer.FindStringSubmatch(row)
	if m == nil {
		t.Fatalf("ss shows no timer: %q", row)
	}
	if got := render.TimerName(s.Timer); got != wantName || m[1] != wantName {
		t.Errorf("timer %q, ss says %q, want %q", got, m[1], wantName)
	}
	ssExp := ssMs(t, m[2])
	// ss reads after us and rounds down; allow for a slow machine.
	if diff := int64(s.Expires) - int64(ssExp); diff < 0 || diff > 15000 {
		t.Errorf("timer expires in %d ms, ss says %s (%d ms)", s.Expires, m[2], ssExp)
	}
	if strconv.Itoa(int(s.Retrans)) != m[3] {
		t.Errorf("timer retrans %d, ss says %s", s.Retrans, m[3])
	}
	text := render.TimerText(s)
	if !strings.HasPrefix(text, wantName+",") || !strings.HasSuffix(text, ","+m[3]) {
		t.Errorf("TIMER column %q, ss says %q", text, m[0])
	}
}

// TestTimersAgainstSS: a keepalive timer (SO_KEEPALIVE, TCP_KEEPIDLE
// 100 s) and a TIME-WAIT socket's timer, against ss -o.
func TestTimersAgainstSS(t *testing.T) {
	n := newTestNet(t)
	client, server := loopbackPair(t, n)
	if err := client.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: 100 * time.Second, Interval: 10 * time.Second, Count: 3}); err != nil {
		t.Fatal(err)
	}
	cl := netip.MustParseAddrPort(client.LocalAddr().String())
	s := collectOne(t, client, n.Options())
	if s.Expires < 60000 || s.Expires > 100000 {
		t.Errorf("keepalive timer expires in %d ms, want about 100 s (not Go's default 15 s)", s.Expires)
	}
	checkTimer(t, n, s, "keepalive", "established")

	// The client closes first, so its end waits in TIME-WAIT.
	client.Close()
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := server.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("server read: %v, want EOF", err)
	}
	server.Close()
	opts := n.Options()
	opts.States = sockscope.StateSet(0).With(sockscope.TimeWait)
	var tw *sockscope.Socket
	for deadline := time.Now().Add(5 * time.Second); tw == nil && time.Now().Before(deadline); {
		tw = findOne(t, cl, netip.MustParseAddrPort(client.RemoteAddr().String()), opts)
		if tw == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if tw == nil {
		t.Fatal("the client's end never reached TIME-WAIT")
	}
	checkTimer(t, n, tw, "timewait", "time-wait")
}

// TestUnixMemoryAgainstSS: -m on a Unix socket pair, against ss -xm.
func TestUnixMemoryAgainstSS(t *testing.T) {
	n := newTestNet(t)
	var fds [2]int
	var err error
	n.Do(func() { fds, err = unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0) })
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	// A distinctive receive buffer: the kernel doubles what is asked.
	if err := unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_RCVBUF, 50000); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fds[0], &st); err != nil {
		t.Fatal(err)
	}
	opts := n.Options()
	opts.Protos, opts.Memory = []sockscope.Proto{sockscope.Unix}, true
	snap, err := sockscope.Collect(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var s *sockscope.Socket
	for _, x := range snap.Sockets {
		if x.Inode == st.Ino {
			s = x
		}
	}
	if s == nil || s.Details == nil || s.Details.Memory == nil {
		t.Fatalf("socket %d without memory info: %+v", st.Ino, s)
	}
	if s.Details.Memory.Rcvbuf != 100000 {
		t.Errorf("rcvbuf %d, want 100000 (SO_RCVBUF 50000, doubled)", s.Details.Memory.Rcvbuf)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	argv := []string{"ss", "-Hxm"}
	if n.private {
		argv = append([]string{"nsenter", "--net=" + n.path}, argv...)
	}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
	if err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	ino := strconv.FormatUint(st.Ino, 10)
	var line string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) >= 8 && f[5] == ino {
			line = l
		}
	}
	m := regexp.MustCompile(`skmem:\(r(\d+),rb(\d+),t(\d+),tb(\d+),`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("ss -xm shows no skmem for inode %s:\n%s", ino, out)
	}
	mem := s.Details.Memory
	for i, v := range []uint32{mem.RmemAlloc, mem.Rcvbuf, mem.WmemAlloc, mem.Sndbuf} {
		if strconv.FormatUint(uint64(v), 10) != m[i+1] {
			t.Errorf("skmem value %d = %d, ss says %s (%s)", i, v, m[i+1], line)
		}
	}
	if got := render.DetailText(s, true, false, true); !strings.Contains(line, got) {
		t.Errorf("our -m line %q is not in ss's %q", got, line)
	}
}

// TestCgroupAgainstSS: -e's cgroup path of a socket the test made equals
// ss -e's and the test's own cgroup (a socket belongs to its creator's).
func TestCgroupAgainstSS(t *testing.T) {
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var want string
	for _, l := range strings.Split(string(own), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			want = p
		}
	}
	if want == "" {
		t.Skip("no cgroup v2 hierarchy (no 0:: line in /proc/self/cgroup)")
	}
	n := newTestNet(t)
	client, _ := loopbackPair(t, n)
	opts := n.Options()
	opts.Cgroups = true
	s := collectOne(t, client, opts)
	if s.CgroupID == 0 || s.Details == nil {
		t.Fatalf("no cgroup id: %+v", s)
	}
	row, _ := ssDetail(t, n, s, "-tne", "state", "established")
	m := regexp.MustCompile(`\bcgroup:(\S+)`).FindStringSubmatch(row)
	if m == nil {
		t.Fatalf("ss -e shows no cgroup: %q", row)
	}
	if s.Details.Cgroup != m[1] {
		t.Errorf("cgroup %q, ss says %q", s.Details.Cgroup, m[1])
	}
	if s.Details.Cgroup != want {
		t.Errorf("cgroup %q, the test runs in %q", s.Details.Cgroup, want)
	}
}

// TestUDPMemoryAgainstSS: -m on a UDP socket whose small receive buffer
// the test overflows: every skmem value (queued memory, drops included) of
// the idle socket equals ss -m's, and drops is not zero.
func TestUDPMemoryAgainstSS(t *testing.T) {
	n := newTestNet(t)
	var rx, tx *net.UDPConn
	var err error
	n.Do(func() {
		if rx, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			return
		}
		tx, err = net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	defer tx.Close()
	if err := rx.SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	// Loopback delivers synchronously: once the buffer is full, each
	// further datagram is dropped.
	for range 200 {
		if _, err := tx.Write(make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	opts := n.Options()
	opts.Protos, opts.Memory = []sockscope.Proto{sockscope.UDP}, true
	opts.LocalPort = uint16(rx.LocalAddr().(*net.UDPAddr).Port)
	snap, err := sockscope.Collect(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Sockets) != 1 || snap.Sockets[0].Details == nil || snap.Sockets[0].Details.Memory == nil {
		t.Fatalf("want the one UDP socket with memory info, got %d sockets", len(snap.Sockets))
	}
	s := snap.Sockets[0]
	if s.Details.Memory.Drops == 0 || s.Details.Memory.RmemAlloc == 0 {
		t.Errorf("after overflowing the buffer: %+v, want queued memory and drops", *s.Details.Memory)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	argv := []string{"ss", "-Hunma", "src", s.Local.String()}
	if n.private {
		argv = append([]string{"nsenter", "--net=" + n.path}, argv...)
	}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
	if err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	want := regexp.MustCompile(`skmem:\([^)]*\)`).FindString(string(out))
	if got := render.DetailText(s, true, false, true); got != want {
		t.Errorf("-m %q, ss -m %q", got, want)
	}
}

// TestShutdownAgainstSS: after the client's shutdown(SHUT_WR), the client's
// send side is shut and, once its FIN arrives, the server's receive side:
// ShutRead/ShutWrite say so, and render them as ss -e does ("<--",
// "-->"), on the same sockets.
func TestShutdownAgainstSS(t *testing.T) {
	n := newTestNet(t)
	client, server := loopbackPair(t, n)
	if err := client.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	opts := n.Options()
	opts.Protos = []sockscope.Proto{sockscope.TCP}
	var c, s *sockscope.Socket
	// The server's side turns CLOSE-WAIT when the FIN is in: poll.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		snap, err := sockscope.Collect(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		c, s = nil, nil
		for _, x := range snap.Sockets {
			switch {
			case x.Local.String() == client.LocalAddr().String() && x.Remote.String() == client.RemoteAddr().String():
				c = x
			case x.Local.String() == server.LocalAddr().String() && x.Remote.String() == server.RemoteAddr().String():
				s = x
			}
		}
		if c != nil && s != nil && s.State == sockscope.CloseWait {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("client %v, server %v: want the server in CLOSE-WAIT", c, s)
		}
	}
	for _, x := range []struct {
		name        string
		s           *sockscope.Socket
		read, write sockscope.Tristate
		mark        string
	}{
		{"client (shut for sending)", c, sockscope.No, sockscope.Yes, "<--"},
		{"server (the peer's FIN)", s, sockscope.Yes, sockscope.No, "-->"},
	} {
		if x.s.ShutRead != x.read || x.s.ShutWrite != x.write || render.ShutdownText(x.s) != x.mark {
			t.Errorf("%s: ShutRead %v ShutWrite %v (%q), want %v %v (%q)", x.name, x.s.ShutRead, x.s.ShutWrite, render.ShutdownText(x.s), x.read, x.write, x.mark)
		}
		row, _ := ssDetail(t, n, x.s, "-tane")
		f := strings.Fields(row)
		if len(f) == 0 || f[len(f)-1] != render.ShutdownText(x.s) {
			t.Errorf("%s: ss -tane prints %q, sockscope %q", x.name, row, render.ShutdownText(x.s))
		}
	}
}
