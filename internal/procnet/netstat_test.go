package procnet

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParseNetstat(t *testing.T) {
	in := "TcpExt: SyncookiesSent ListenOverflows ListenDrops\n" +
		"TcpExt: 1 22 333\n" +
		"Tcp: RtoAlgorithm MaxConn ActiveOpens\n" +
		"Tcp: 1 -1 18446744073709551615\n"
	m, err := ParseNetstat(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]uint64{
		"TcpExt": {"SyncookiesSent": 1, "ListenOverflows": 22, "ListenDrops": 333},
		"Tcp":    {"RtoAlgorithm": 1, "ActiveOpens": 18446744073709551615},
	}
	for g, names := range want {
		for n, v := range names {
			if got, ok := m[g][n]; !ok || got != v {
				t.Errorf("%s %s = %d (present %v), want %d", g, n, got, ok, v)
			}
		}
		if len(m[g]) != len(names) {
			t.Errorf("%s has %d counters, want %d: %v", g, len(m[g]), len(names), m[g])
		}
	}
	if _, ok := m["Tcp"]["MaxConn"]; ok {
		t.Errorf("negative MaxConn kept")
	}
}

func TestParseNetstatBad(t *testing.T) {
	for _, in := range []string{
		"TcpExt: A B\nTcpExt: 1\n",                  // too few values
		"TcpExt: A B\nIpExt: 1 2\n",                 // group changes
		"TcpExt: A B\n",                             // names without values
		"TcpExt: A B\nTcpExt: 1 x\n",                // not a number
		"TcpExt: A\nTcpExt: 99999999999999999999\n", // out of range
		"no colon here\n",
		"TcpExt: A\nTcpExt: -x\n",
	} {
		_, err := ParseNetstat(strings.NewReader(in))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("ParseNetstat(%q) = %v, want a *ParseError", in, err)
		}
	}
	long := "TcpExt: " + strings.Repeat("A", maxCounterLine) + "\n"
	if _, err := ParseNetstat(strings.NewReader(long)); !errors.Is(err, bufio.ErrTooLong) {
		t.Errorf("a line over %d bytes: %v, want bufio.ErrTooLong", maxCounterLine, err)
	}
}

// TestNetstatLive parses this machine's /proc/self/net/netstat: every
// name of each names line has its value.
func TestNetstatLive(t *testing.T) {
	raw, err := os.ReadFile("/proc/self/net/netstat")
	if err != nil {
		t.Skipf("no /proc/self/net/netstat: %v", err)
	}
	m, err := FS{}.Netstat("self/net/netstat")
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
	for i := 0; i+1 < len(lines); i += 2 {
		g, names, _ := bytes.Cut(lines[i], []byte(":"))
		if n := len(bytes.Fields(names)); len(m[string(g)]) != n {
			t.Errorf("%s: %d counters parsed, the file names %d", g, len(m[string(g)]), n)
		}
	}
	for _, n := range []string{"ListenOverflows", "ListenDrops"} {
		if _, ok := m["TcpExt"][n]; !ok {
			t.Errorf("TcpExt %s missing", n)
		}
	}
	if _, err := (FS{}).Netstat("../etc/passwd"); err == nil {
		t.Errorf("a path outside the proc root was read")
	}
}
