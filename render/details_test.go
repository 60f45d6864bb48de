package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sockscope/sockscope"
)

// TestMsTimer: ss's print_ms_timer, case by case.
func TestMsTimer(t *testing.T) {
	for ms, want := range map[uint32]string{
		0: "", 5: "005ms", 200: "200ms", 9500: "9.500ms", 15000: "15sec", 15500: "15sec",
		59999: "59sec", 61050: "1min1sec", 98000: "1min38sec", 599000: "9min59sec", 600000: "10min", 7205000: "120min",
	} {
		if got := string(appendMsTimer(nil, ms)); got != want {
			t.Errorf("%d ms: %q, want %q", ms, got, want)
		}
	}
}

// detailSockets are a connected socket with a short (Linux 3.x, 104-byte)
// tcp_info and a 7-value meminfo, one with a full one and a timer, a
// TIME-WAIT socket, and a Unix socket with memory only.
func detailSockets() []*sockscope.Socket {
	short := &sockscope.TCPInfo{Size: 104, Options: 7, SndWscale: 7, RcvWscale: 7, RTO: 204000, RTT: 40, RTTVar: 20,
		SndMSS: 1448, SndCwnd: 10, Reordering: 3, TotalRetrans: 2, Retrans: 1}
	full := &sockscope.TCPInfo{Size: 280, Options: 3, RTO: 3000000, RTT: 1500, RTTVar: 750, SndMSS: 1000, SndCwnd: 8,
		Reordering: 3, PacingRate: 1000, MaxPacingRate: ^uint64(0), BytesAcked: 12346, BytesSent: 12345, BusyTime: 4000,
		RwndLimited: 1000, DeliveryRate: 125, AppLimited: true, State: 10, Sacked: 128, Options2: 1}
	return []*sockscope.Socket{
		{Proto: sockscope.TCP, Family: sockscope.FamilyInet, State: sockscope.Established,
			Local: netip.MustParseAddrPort("127.0.0.1:443"), Remote: netip.MustParseAddrPort("127.0.0.1:5000"),
			Timer: 1, Expires: 9500, Retrans: 2, CgroupID: 77,
			Details: &sockscope.Details{TCP: short, Congestion: "cu\x1bbic", Cgroup: "/sys\x1b.slice",
				Memory: &sockscope.MemInfo{N: 7, Rcvbuf: 131072, Sndbuf: 16384, FwdAlloc: 4096}}},
		{Proto: sockscope.TCP, Family: sockscope.FamilyInet, State: sockscope.Listen, Local: netip.MustParseAddrPort("0.0.0.0:80"),
			Timer: 2, Expires: 98000, CgroupID: 78,
			Details: &sockscope.Details{TCP: full, Congestion: "bbr", BBR: &sockscope.BBRInfo{BW: 1000, MinRTT: 12, PacingGain: 739, CwndGain: 512},
				DCTCP: &sockscope.DCTCPInfo{}, Vegas: &sockscope.VegasInfo{Enabled: 1, RTTCnt: 2, RTT: 3000, MinRTT: 1000}}},
		{Proto: sockscope.TCP, Family: sockscope.FamilyInet, State: sockscope.TimeWait, Local: netip.MustParseAddrPort("127.0.0.1:1"),
			Remote: netip.MustParseAddrPort("127.0.0.1:2"), Timer: 3, Expires: 59999},
		{Proto: sockscope.Unix, Family: sockscope.FamilyUnix, Type: sockscope.SockStream, State: sockscope.Established, Path: "/run/a",
			Details: &sockscope.Details{Memory: &sockscope.MemInfo{N: 9, Rcvbuf: 212992, Sndbuf: 212992, Drops: 1}}},
	}
}

func TestDetailText(t *testing.T) {
	socks := detailSockets()
	want := []string{
		"skmem:(r0,rb131072,t0,tb16384,f4096,w0,o0) ts sack cu\\x1bbic wscale:7,7 rto:204 rtt:0.04/0.02 mss:1448 cwnd:10 send 2896000000bps retrans:1/2",
		// rto 3 s is TCP_TIMEOUT_INIT, which ss leaves out; a listener's
		// sacked (its backlog) too.
		"ts sack bbr rtt:1.5/0.75 mss:1000 cwnd:8 bytes_sent:12345 bytes_acked:12346 dctcp:fallback " +
			"bbr:(bw:8000bps,mrtt:0.012,pacing_gain:2.88672,cwnd_gain:2) vegas:(rttcnt:2,rtt:3,minrtt:1) send 21333333bps pacing_rate 8000bps delivery_rate 1000bps app_limited busy:4ms rwnd_limited:1ms(25.0%)",
		"",
		"skmem:(r0,rb212992,t0,tb212992,f0,w0,o0,bl0,d1)",
	}
	for i, s := range socks {
		if got := DetailText(s, true, true, true); got != want[i] {
			t.Errorf("socket %d:\n got %q\nwant %q", i, got, want[i])
		}
	}
	if got := DetailText(socks[1], false, true, false); !strings.Contains(got, "send 21.3Mbps") || !strings.Contains(got, "pacing_rate 8Kbps") {
		t.Errorf("scaled rates: %q", got)
	}
	if got := DetailText(socks[0], false, true, true); strings.Contains(got, "skmem") {
		t.Errorf("-i alone shows memory: %q", got)
	}
	for i, w := range []string{"on,9.500ms,2", "keepalive,1min38sec,0", "timewait,59sec,0", ""} {
		if got := TimerText(socks[i]); got != w {
			t.Errorf("timer %d: %q, want %q", i, got, w)
		}
	}
	if got := CgroupText(socks[0]); got != `/sys\x1b.slice` {
		t.Errorf("cgroup %q", got)
	}
	if got := CgroupText(socks[1]); got != "unreachable:4e" {
		t.Errorf("unresolved cgroup %q", got)
	}
}

// TestDetailsJSON: the members are valid JSON, and a short tcp_info omits
// the fields the kernel did not send instead of writing zeros.
func TestDetailsJSON(t *testing.T) {
	socks := detailSockets()
	var docs []map[string]any
	for i, s := range socks {
		b := AppendSocketJSON(nil, s)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("socket %d: %v\n%s", i, err, b)
		}
		docs = append(docs, m)
	}
	ti := docs[0]["tcp_info"].(map[string]any)
	if ti["congestion"] != "cu\x1bbic" || ti["total_retrans"] != 2.0 || ti["rtt_us"] != 40.0 {
		t.Errorf("short tcp_info: %v", ti)
	}
	for _, k := range []string{"pacing_rate_bps", "bytes_acked", "snd_wnd", "options2"} {
		if _, ok := ti[k]; ok {
			t.Errorf("a 104-byte tcp_info has %q", k)
		}
	}
	if diff := cmp.Diff([]any{"ts", "sack", "wscale"}, ti["options"]); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"name": "on", "expires_ms": 9500.0, "retrans": 2.0}, docs[0]["timer"]); diff != "" {
		t.Errorf("timer (-want +got):\n%s", diff)
	}
	mem := docs[0]["memory"].(map[string]any)
	if len(mem) != 7 || mem["rcvbuf_bytes"] != 131072.0 || mem["fwd_alloc_bytes"] != 4096.0 {
		t.Errorf("7-value memory: %v", mem)
	}
	if diff := cmp.Diff(map[string]any{"id": 77.0, "path": "/sys\x1b.slice"}, docs[0]["cgroup"]); diff != "" {
		t.Errorf("cgroup (-want +got):\n%s", diff)
	}
	full := docs[1]["tcp_info"].(map[string]any)
	if full["pacing_rate_bps"] != 8000.0 || full["bytes_acked"] != 12346.0 || full["options2"] != 1.0 || full["delivery_rate_bps"] != 1000.0 {
		t.Errorf("full tcp_info: %v", full)
	}
	if _, ok := full["max_pacing_rate_bps"]; ok {
		t.Errorf("unlimited max pacing rate written: %v", full["max_pacing_rate_bps"])
	}
	if diff := cmp.Diff(map[string]any{"bw_bps": 8000.0, "min_rtt_us": 12.0, "pacing_gain": 2.88671875, "cwnd_gain": 2.0}, full["bbr"]); diff != "" {
		t.Errorf("bbr (-want +got):\n%s", diff)
	}
	if _, ok := docs[1]["cgroup"].(map[string]any)["path"]; ok {
		t.Errorf("unresolved cgroup has a path")
	}
	for i, k := range []string{"tcp_info", "memory", "cgroup"} {
		if _, ok := docs[2][k]; ok {
			t.Errorf("TIME-WAIT socket has %q (%d)", k, i)
		}
	}
	if docs[2]["timer"].(map[string]any)["name"] != "timewait" {
		t.Errorf("TIME-WAIT timer %v", docs[2]["timer"])
	}
	if _, ok := docs[3]["tcp_info"]; ok || docs[3]["memory"].(map[string]any)["drops"] != 1.0 {
		t.Errorf("unix socket: %v", docs[3])
	}
}

// TestDetailColumns: the pipe records equal the table's cells with the new
// columns, and a terminal prints the detail line under its socket.
func TestDetailColumns(t *testing.T) {
	socks := detailSockets()
	for _, st := range []Style{
		{Numeric: true, Timers: true}, {Numeric: true, Cgroup: true, Extended: true}, {Numeric: true, TCPInfo: true},
		{Numeric: true, Memory: true, Processes: true}, {Numeric: true, TCPInfo: true, Memory: true, Timers: true, Cgroup: true},
	} {
		t.Run(fmt.Sprintf("%+v", st), func(t *testing.T) {
			var got bytes.Buffer
			if err := writeSocketRecords(&got, socks, st); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tableRecords(socks, st), got.String()); diff != "" {
				t.Errorf("records differ from the table (-want +got):\n%s", diff)
			}
		})
	}
	var b bytes.Buffer
	st := Style{TTY: true, Numeric: true, TCPInfo: true, Timers: true}
	if err := WriteSockets(&b, socks[:3], st); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "NETID") || !strings.HasSuffix(strings.TrimSpace(lines[0]), "TIMER") ||
		lines[2] != "\t "+DetailText(socks[0], false, true, true) || lines[4] != "\t "+DetailText(socks[1], false, true, true) ||
		!strings.Contains(lines[5], "timewait,59sec,0") {
		t.Errorf("terminal table:\n%s", b.String())
	}
}
