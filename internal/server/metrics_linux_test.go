package server

import (
	"context"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
)

// TestMetricsTimeWaitPerPort: the end that closes first keeps its
// socket in TIME-WAIT; when that is the server, the TIME-WAIT socket is
// on the listened port and shows in sockscope_port_sockets.
func TestMetricsTimeWaitPerPort(t *testing.T) {
	ln, port := listen(t)
	client, accepted := connect(t, ln)
	accepted.Close() // FIN from the server: it will be the one in TIME-WAIT
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("client read after the server's close: %v, want EOF", err)
	}
	client.Close()
	srv := httptest.NewServer(New(Config{Collect: onlyPorts(port)}))
	defer srv.Close()
	p := strconv.Itoa(int(port))
	var got float64
	var n int
	deadline := time.Now().Add(10 * time.Second)
	for {
		mfs := scrapeMetrics(t, srv.URL)
		got, n = value(mfs, "sockscope_port_sockets", map[string]string{"proto": "tcp", "port": p, "state": "time_wait"})
		if n == 1 && got == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sockscope_port_sockets{port=%s,state=time_wait} = %v (%d series) after 10s, want 1", p, got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMetricsProcessSockets: with holders, this process's sockets are
// counted, and the cap keeps the processes holding the most.
func TestMetricsProcessSockets(t *testing.T) {
	var ports []uint16
	for range 3 {
		_, p := listen(t)
		ports = append(ports, p)
	}
	pid := strconv.Itoa(os.Getpid())
	srv := httptest.NewServer(New(Config{Collect: onlyPorts(ports...), MetricsHolders: true}))
	defer srv.Close()
	mfs := scrapeMetrics(t, srv.URL)
	if v, n := value(mfs, "sockscope_process_sockets", map[string]string{"pid": pid}); n != 1 || v != 3 {
		t.Errorf("sockscope_process_sockets{pid=%s} = %v (%d series), want this test's 3 listeners", pid, v, n)
	}
	if v, n := value(mfs, "sockscope_processes_omitted", nil); n != 1 || v != 0 {
		t.Errorf("sockscope_processes_omitted = %v (%d series), want 0", v, n)
	}

	// Without holders there is nothing to count.
	plain := httptest.NewServer(New(Config{Collect: onlyPorts(ports...)}))
	defer plain.Close()
	if _, n := value(scrapeMetrics(t, plain.URL), "sockscope_process_sockets", nil); n != 0 {
		t.Errorf("sockscope_process_sockets without holders: %d series", n)
	}
}

// TestEmitProcessesCap: the cap keeps the processes holding the most
// sockets, ties by PID, and counts the rest.
func TestEmitProcessesCap(t *testing.T) {
	procs := []*sockscope.Process{{PID: 10, Comm: "a"}, {PID: 20, Comm: "b\x1b[31m"}, {PID: 30, Comm: "c"}}
	snap := &sockscope.Snapshot{}
	// 10 holds 1 socket, 20 holds 3 (one of them by two fds), 30 holds 2.
	add := func(holders ...sockscope.Holder) {
		snap.Sockets = append(snap.Sockets, &sockscope.Socket{Proto: sockscope.TCP, State: sockscope.Established, Holders: holders})
	}
	add(sockscope.Holder{Proc: procs[0], FD: 3}, sockscope.Holder{Proc: procs[1], FD: 4})
	add(sockscope.Holder{Proc: procs[1], FD: 5}, sockscope.Holder{Proc: procs[1], FD: 6})
	add(sockscope.Holder{Proc: procs[1], FD: 7}, sockscope.Holder{Proc: procs[2], FD: 3})
	add(sockscope.Holder{Proc: procs[2], FD: 4})
	mfs := gatherEmit(t, snap, limits{ports: 500, procs: 2}, true)
	want := map[string]float64{"20": 3, "30": 2}
	if _, n := value(mfs, "sockscope_process_sockets", nil); n != len(want) {
		t.Errorf("%d sockscope_process_sockets series, want %d", n, len(want))
	}
	for pid, w := range want {
		if v, n := value(mfs, "sockscope_process_sockets", map[string]string{"pid": pid}); n != 1 || v != w {
			t.Errorf("sockscope_process_sockets{pid=%s} = %v (%d series), want %v", pid, v, n, w)
		}
	}
	if _, n := value(mfs, "sockscope_process_sockets", map[string]string{"pid": "20", "comm": `b\x1b[31m`}); n != 1 {
		t.Errorf("comm of pid 20 not escaped as on a terminal: %+v", mfs["sockscope_process_sockets"])
	}
	if v, _ := value(mfs, "sockscope_processes_omitted", nil); v != 1 {
		t.Errorf("sockscope_processes_omitted = %v, want 1", v)
	}
}

// TestIsOrphan: closing sockets without an inode are orphans; TIME-WAIT,
// request sockets and unaccepted connections (no inode either) are not.
func TestIsOrphan(t *testing.T) {
	for _, tt := range []struct {
		s    sockscope.Socket
		want bool
	}{
		{sockscope.Socket{Proto: sockscope.TCP, State: sockscope.FinWait1}, true},
		{sockscope.Socket{Proto: sockscope.TCP, State: sockscope.FinWait2}, true},
		{sockscope.Socket{Proto: sockscope.TCP, State: sockscope.Closing}, true},
		{sockscope.Socket{Proto: sockscope.TCP, State: sockscope.LastAck}, true},
		{sockscope.Socket{Proto: sockscope.TCP, State: sockscope.FinWait1, Inode: 7}, false},
		{sockscope.Socket{Proto: sockscope.TCP, State: sockscope.TimeWait}, false},
		{sockscope.Socket{Proto: sockscope.TCP, State: sockscope.SynRecv}, false},
		{sockscope.Socket{Proto: sockscope.TCP, State: sockscope.Established}, false},
		{sockscope.Socket{Proto: sockscope.TCP, State: sockscope.CloseWait}, false},
		{sockscope.Socket{Proto: sockscope.UDP, State: sockscope.FinWait1}, false},
	} {
		if got := isOrphan(&tt.s); got != tt.want {
			t.Errorf("isOrphan(%s %s inode %d) = %v, want %v", tt.s.Proto, tt.s.State, tt.s.Inode, got, tt.want)
		}
	}
}

// TestStateLabels: every state has a label in node_exporter's style, and
// no two states share one.
func TestStateLabels(t *testing.T) {
	seen := map[string]sockscope.State{}
	for st := sockscope.State(0); st <= sockscope.BoundInactive; st++ {
		l := stateLabel(st)
		for _, c := range l {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
				t.Errorf("state %s: label %q is not lower_snake_case", st, l)
				break
			}
		}
		if o, ok := seen[l]; ok {
			t.Errorf("states %s and %s share the label %q", o, st, l)
		}
		seen[l] = st
	}
	if got := stateLabel(sockscope.TimeWait); got != "time_wait" {
		t.Errorf("TIME-WAIT label = %q, want time_wait", got)
	}
}

// gatherEmit runs emitSnapshot and parses what it sends through the
// text exposition, as a scrape would.
func gatherEmit(t *testing.T, snap *sockscope.Snapshot, lim limits, holders bool) map[string]*family {
	t.Helper()
	s := New(Config{
		Collect:        func(_ context.Context, o sockscope.Options) (*sockscope.Snapshot, error) { return snap, nil },
		MetricsHolders: holders,
		MaxPorts:       lim.ports,
		MaxProcesses:   lim.procs,
	})
	srv := httptest.NewServer(s)
	defer srv.Close()
	return scrapeMetrics(t, srv.URL)
}

// TestMetricsSynRecvPerPort: with TCP_DEFER_ACCEPT the listener ignores
// the handshake's final ACK without data, so the server side of a
// connection stays a request socket in SYN-RECV (while the client is
// ESTAB): sockscope_port_sockets counts it under state="syn_recv".
func TestMetricsSynRecvPerPort(t *testing.T) {
	ln, port := listen(t)
	raw, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 30)
	}); err != nil || serr != nil {
		t.Fatalf("TCP_DEFER_ACCEPT: %v %v", err, serr)
	}
	const conns = 2
	for range conns {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	srv := httptest.NewServer(New(Config{Collect: onlyPorts(port)}))
	defer srv.Close()
	p := strconv.Itoa(int(port))
	var got float64
	var n int
	deadline := time.Now().Add(10 * time.Second)
	for {
		mfs := scrapeMetrics(t, srv.URL)
		got, n = value(mfs, "sockscope_port_sockets", map[string]string{"proto": "tcp", "port": p, "state": "syn_recv"})
		if n == 1 && got == conns {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sockscope_port_sockets{port=%s,state=syn_recv} = %v (%d series) after 10s, want %d", p, got, n, conns)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
