package cli

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// TestLsDetails: ls -i -m -e on a connection the test made: JSON carries
// tcp_info (with the bytes sent), memory, timer and cgroup; a pipe record
// carries the TIMER, CGROUP and DETAILS columns; plain ls -o json carries
// no tcp_info or memory (the kernel is not asked for them).
func TestLsDetails(t *testing.T) {
	port, conns := server(t, 1)
	p := strconv.Itoa(port)
	const n = 4321
	if _, err := conns[0].Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, n)
	for got := 0; got < n; {
		k, err := conns[1].Read(buf[got:])
		if err != nil {
			t.Fatal(err)
		}
		got += k
	}
	type doc struct {
		Sockets []struct {
			Local   string `json:"local"`
			TCPInfo *struct {
				Congestion    string `json:"congestion"`
				BytesReceived uint64 `json:"bytes_received"`
				SndCwnd       uint64 `json:"snd_cwnd"`
			} `json:"tcp_info"`
			Memory *struct {
				Rcvbuf uint64 `json:"rcvbuf_bytes"`
			} `json:"memory"`
			Timer *struct {
				Name string `json:"name"`
			} `json:"timer"`
			Cgroup *struct {
				ID uint64 `json:"id"`
			} `json:"cgroup"`
		} `json:"sockets"`
	}
	out, stderr, code := runCLI(t, "ls", "-tnime", "-o", "json", "sport", "=", ":"+p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var d doc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(d.Sockets) != 1 {
		t.Fatalf("want the accepted socket only:\n%s", out)
	}
	s := d.Sockets[0]
	if s.TCPInfo == nil || s.TCPInfo.Congestion == "" || s.TCPInfo.BytesReceived != n || s.TCPInfo.SndCwnd == 0 {
		t.Errorf("tcp_info %+v, want a congestion control, bytes_received %d and a cwnd:\n%s", s.TCPInfo, n, out)
	}
	if s.Memory == nil || s.Memory.Rcvbuf == 0 {
		t.Errorf("memory %+v:\n%s", s.Memory, out)
	}
	// Go turns keepalive on for accepted connections.
	if s.Timer == nil || s.Timer.Name != "keepalive" {
		t.Errorf("timer %+v, want keepalive:\n%s", s.Timer, out)
	}
	if s.Cgroup == nil || s.Cgroup.ID == 0 {
		t.Errorf("cgroup %+v:\n%s", s.Cgroup, out)
	}

	out, _, _ = runCLI(t, "ls", "-tn", "-o", "json", "sport", "=", ":"+p)
	if strings.Contains(out, "tcp_info") || strings.Contains(out, "memory") {
		t.Errorf("plain ls -o json has details:\n%s", out)
	}

	out, _, _ = runCLI(t, "ls", "-tnime", "sport", "=", ":"+p)
	f := strings.Split(strings.TrimRight(out, "\n"), "\t")
	// NETID STATE RECV-Q SEND-Q LOCAL PEER TIMER UID INODE COOKIE SHUT CGROUP DETAILS
	if len(f) != 13 || !strings.HasPrefix(f[6], "keepalive,") || f[10] != "<->" || !strings.HasPrefix(f[11], "/") ||
		!strings.HasPrefix(f[12], "skmem:(r") || !strings.Contains(f[12], " bytes_received:"+strconv.Itoa(n)+" ") {
		t.Errorf("pipe record %q", out)
	}
}
