package cli

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockscope/sockscope/internal/netns"
)

// privateNS creates a named network namespace with lo up, deleted when the
// test ends; it skips the test when not root or without ip(8).
func privateNS(t *testing.T, what string) (name string, ns netns.NS) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) is not installed")
	}
	name = fmt.Sprintf("sockscope-%s-%d-%06d", what, os.Getpid(), rand.IntN(1e6))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s link set lo up: %v: %s", name, err, out)
	}
	ns, err := netns.Resolve(name, "/proc")
	if err != nil {
		t.Fatal(err)
	}
	return name, ns
}

// tcpPairs opens, in the calling thread's namespace, a listener on network
// ("tcp4" or "tcp6") loopback with n accepted connections, all closed when
// the test ends; it returns the listener and the client and server ends.
func tcpPairs(t *testing.T, network string, n int) (ln net.Listener, clients, servers []net.Conn, err error) {
	addr := "127.0.0.1:0"
	if network == "tcp6" {
		addr = "[::1]:0"
	}
	ln, err = net.Listen(network, addr)
	if err != nil {
		return nil, nil, nil, err
	}
	t.Cleanup(func() { ln.Close() })
	for range n {
		c, err := net.Dial(network, ln.Addr().String())
		if err != nil {
			return nil, nil, nil, err
		}
		a, err := ln.Accept()
		if err != nil {
			return nil, nil, nil, err
		}
		t.Cleanup(func() { c.Close(); a.Close() })
		clients, servers = append(clients, c), append(servers, a)
	}
	return ln, clients, servers, nil
}

type summaryDoc struct {
	NetNS []struct {
		NetNS    struct{ Name string } `json:"netns"`
		SockStat map[string]map[string]int64
		SS       *struct {
			Total       int64 `json:"total"`
			TCPTotal    int64 `json:"tcp_total"`
			TCPEstab    int64 `json:"tcp_estab"`
			TCPClosed   int64 `json:"tcp_closed"`
			TCPOrphaned int64 `json:"tcp_orphaned"`
			TCPTimeWait int64 `json:"tcp_timewait"`
			Transport   map[string]struct {
				Total, IPv4, IPv6 int64
			} `json:"transport"`
		} `json:"ss"`
		Sockets   int `json:"sockets"`
		Protocols []struct {
			Proto, Family string
			Total         int
			States        map[string]int
		} `json:"protocols"`
		Ports []struct {
			Proto                           string
			Port                            int
			Sockets, Listening, Established int
		} `json:"busiest_ports"`
		Processes []struct {
			PID     int
			Comm    string
			Sockets int
		} `json:"busiest_processes"`
	} `json:"netns"`
}

func runSummaryJSON(t *testing.T, args ...string) summaryDoc {
	t.Helper()
	out, stderr, code := runCLI(t, append(args, "-o", "json")...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	var d summaryDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v: invalid JSON: %v\n%s", args, err, out)
	}
	return d
}

// ssSummary parses ss -s: Total, the TCP line and the transport rows.
func ssSummary(t *testing.T, out string) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	num := func(s string) int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("ss -s: %q is not a number in\n%s", s, out)
		}
		return n
	}
	if r := regexp.MustCompile(`(?m)^Total: (\d+)`).FindStringSubmatch(out); r != nil {
		m["total"] = num(r[1])
	}
	if r := regexp.MustCompile(`(?m)^TCP:\s+(\d+) \(estab (-?\d+), closed (-?\d+), orphaned (\d+), timewait (\d+)`).FindStringSubmatch(out); r != nil {
		m["tcp_total"], m["tcp_estab"], m["tcp_closed"], m["tcp_orphaned"], m["tcp_timewait"] = num(r[1]), num(r[2]), num(r[3]), num(r[4]), num(r[5])
	}
	for _, r := range regexp.MustCompile(`(?m)^(RAW|UDP|TCP|INET|FRAG)\s+(\d+)\s+(\d+)\s+(\d+)`).FindAllStringSubmatch(out, -1) {
		k := "transport_" + strings.ToLower(r[1])
		m[k+"_total"], m[k+"_ipv4"], m[k+"_ipv6"] = num(r[2]), num(r[3]), num(r[4])
	}
	if len(m) != 1+5+15 {
		t.Fatalf("ss -s: could not read every number (got %v) from\n%s", m, out)
	}
	return m
}

// TestSummaryVsSS builds a namespace's sockets (a TCP listener with two
// connections over IPv4, one TCP listener over IPv6, a UDP socket of each
// family) and compares summary with what was built and with ss -s run in
// the same namespace.
func TestSummaryVsSS(t *testing.T) {
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("ss (iproute2) is not installed")
	}
	name, ns := privateNS(t, "summary")
	var port int
	err := netns.Do(ns, func() error {
		ln, _, _, err := tcpPairs(t, "tcp4", 2)
		if err != nil {
			return err
		}
		port = ln.Addr().(*net.TCPAddr).Port
		if _, _, _, err := tcpPairs(t, "tcp6", 0); err != nil {
			return err
		}
		for _, nw := range []string{"udp4", "udp6"} {
			addr := map[string]string{"udp4": "127.0.0.1:0", "udp6": "[::1]:0"}[nw]
			u, err := net.ListenPacket(nw, addr)
			if err != nil {
				return err
			}
			t.Cleanup(func() { u.Close() })
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d := runSummaryJSON(t, "--netns", name, "summary")
	if len(d.NetNS) != 1 || d.NetNS[0].SS == nil {
		t.Fatalf("want one namespace with the kernel's counters, got %+v", d)
	}
	got := d.NetNS[0]
	ss := got.SS
	// What the test built.
	want := map[string][2]int64{"tcp": {5, 1}, "udp": {1, 1}, "raw": {0, 0}, "inet": {6, 2}}
	for k, v := range want {
		if tr := ss.Transport[k]; tr.IPv4 != v[0] || tr.IPv6 != v[1] || tr.Total != v[0]+v[1] {
			t.Errorf("transport %s = %+v, want ipv4 %d ipv6 %d", k, tr, v[0], v[1])
		}
	}
	if ss.TCPEstab != 4 || ss.TCPTimeWait != 0 {
		t.Errorf("tcp estab %d timewait %d, want 4 and 0", ss.TCPEstab, ss.TCPTimeWait)
	}
	if ss.Total < 8 {
		t.Errorf("total %d, want at least the 8 sockets built", ss.Total)
	}
	states := map[string]map[string]int{}
	for _, p := range got.Protocols {
		states[p.Proto+"/"+p.Family] = p.States
	}
	if s := states["tcp/ipv4"]; s["ESTAB"] != 4 || s["LISTEN"] != 1 || len(s) != 2 {
		t.Errorf("tcp/ipv4 states %v, want ESTAB 4, LISTEN 1", s)
	}
	if s := states["tcp/ipv6"]; s["LISTEN"] != 1 || len(s) != 1 {
		t.Errorf("tcp/ipv6 states %v, want LISTEN 1", s)
	}
	if len(got.Ports) == 0 || got.Ports[0].Port != port || got.Ports[0].Sockets != 3 || got.Ports[0].Listening != 1 || got.Ports[0].Established != 2 {
		t.Errorf("busiest ports %+v, want tcp/%d first with 3 sockets (1 listening, 2 established)", got.Ports, port)
	}
	if len(got.Processes) != 1 || got.Processes[0].PID != os.Getpid() || got.Processes[0].Sockets != 8 {
		t.Errorf("busiest processes %+v, want only this test (pid %d) with 8 sockets", got.Processes, os.Getpid())
	}

	// ss -s in the same namespace: every number it prints. Total counts
	// every socket of the namespace, including the netlink sockets that
	// ss or sockscope open while reading: allow those two.
	out, err := exec.Command("ip", "netns", "exec", name, "ss", "-s").CombinedOutput()
	if err != nil {
		t.Fatalf("ss -s: %v: %s", err, out)
	}
	m := ssSummary(t, string(out))
	mine := map[string]int64{
		"tcp_estab": ss.TCPEstab, "tcp_timewait": ss.TCPTimeWait,
	}
	for k, tr := range ss.Transport {
		k = "transport_" + k
		mine[k+"_total"], mine[k+"_ipv4"], mine[k+"_ipv6"] = tr.Total, tr.IPv4, tr.IPv6
	}
	for k, v := range mine {
		if m[k] != v {
			t.Errorf("%s: sockscope %d, ss -s %d", k, v, m[k])
		}
	}
	// ss's total also counts the netlink sockets sockscope closed just
	// before: the kernel frees them after an RCU grace period, which a
	// loaded machine makes long. Ask ss again until they are gone.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		d := m["total"] - ss.Total
		if d >= -2 && d <= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("total: sockscope %d, ss -s %d", ss.Total, m["total"])
			break
		}
		out, err := exec.Command("ip", "netns", "exec", name, "ss", "-s").CombinedOutput()
		if err != nil {
			t.Fatalf("ss -s: %v: %s", err, out)
		}
		m = ssSummary(t, string(out))
	}

	// The table prints ss's lines.
	tbl, stderr, code := runCLI(t, "--netns", name, "ls", "-s")
	if code != 0 {
		t.Fatalf("ls -s: exit %d: %s", code, stderr)
	}
	tm := ssSummary(t, tbl)
	for k, v := range mine {
		if tm[k] != v {
			t.Errorf("ls -s table %s = %d, JSON %d\n%s", k, tm[k], v, tbl)
		}
	}
}

// TestSummaryLoopback runs as any user: a loopback listener with three
// connections appears among the ports with its counts, and this process
// among the holders.
func TestSummaryLoopback(t *testing.T) {
	ln, _, _, err := tcpPairs(t, "tcp4", 3)
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	d := runSummaryJSON(t, "summary", "--top", "1000000")
	if len(d.NetNS) != 1 {
		t.Fatalf("want one namespace, got %d", len(d.NetNS))
	}
	got := d.NetNS[0]
	if got.SS == nil || got.SS.Transport["tcp"].IPv4 < 7 {
		t.Errorf("kernel counters %+v: want at least the 7 TCP sockets built", got.SS)
	}
	found := false
	for _, p := range got.Ports {
		if p.Proto == "tcp" && p.Port == port {
			found = true
			if p.Sockets != 4 || p.Listening != 1 || p.Established != 3 {
				t.Errorf("tcp/%d: %+v, want 4 sockets, 1 listening, 3 established", port, p)
			}
		}
	}
	if !found {
		t.Errorf("tcp/%d not among the ports %+v", port, got.Ports)
	}
	for _, p := range got.Processes {
		if p.PID == os.Getpid() {
			if p.Sockets < 7 {
				t.Errorf("this process holds %d sockets, want at least 7", p.Sockets)
			}
			return
		}
	}
	t.Errorf("pid %d not among the processes %+v", os.Getpid(), got.Processes)
}

func TestSummaryUsage(t *testing.T) {
	for _, args := range [][]string{{"summary", "extra"}, {"summary", "--top", "0"}, {"ls", "-s", "sport", "=", ":22"}} {
		if _, stderr, code := runCLI(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, ExitUsage, stderr)
		}
	}
}
