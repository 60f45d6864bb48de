package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sockscope/sockscope"
)

// watchSockets are n TCP connections to 127.0.0.1:8080, then a listener,
// then a Unix socket held by a process with a hostile name.
func watchSockets(n int) []*sockscope.Socket {
	ns := &sockscope.NetNS{Inode: 4026531840, Name: "host"}
	var socks []*sockscope.Socket
	for i := range n {
		socks = append(socks, &sockscope.Socket{
			Proto: sockscope.TCP, Family: sockscope.FamilyInet, Type: sockscope.SockStream, State: sockscope.Established,
			Local:  netip.MustParseAddrPort("127.0.0.1:8080"),
			Remote: netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", 40000+i)),
			Inode:  uint64(1000 + i), Cookie: uint64(2000 + i), NetNS: ns, HoldersScanned: true, // watch -p
		})
	}
	evil := &sockscope.Process{PID: 666, Comm: "ev\x1b[31mil\n\u202e", User: "nobody", UID: 65534}
	socks = append(socks,
		&sockscope.Socket{
			Proto: sockscope.TCP, Family: sockscope.FamilyInet, Type: sockscope.SockStream, State: sockscope.Listen,
			Local: netip.MustParseAddrPort("127.0.0.1:8080"), Remote: netip.MustParseAddrPort("0.0.0.0:0"),
			Inode: 900, Cookie: 901, NetNS: ns, HoldersScanned: true,
		},
		&sockscope.Socket{
			Proto: sockscope.Unix, Family: sockscope.FamilyUnix, Type: sockscope.SockStream, State: sockscope.Listen,
			Path: "/run/ev\x1bil.sock", Inode: 700, Cookie: 701, NetNS: ns,
			Holders: []sockscope.Holder{{Proc: evil, FD: 3}}, HoldersScanned: true,
		},
	)
	return socks
}

var watchTime = time.Date(2026, 11, 30, 10, 0, 0, 123456789, time.UTC)

func TestWatchEventJSON(t *testing.T) {
	socks := watchSockets(1)
	var b []byte
	for i, ev := range []WatchEvent{
		{Time: watchTime, Kind: EventAdded, Source: SourcePoll, Socket: socks[0]},
		{Time: watchTime.Add(time.Second), Kind: EventChanged, Source: SourcePoll, Socket: socks[1]},
		{Time: watchTime.Add(2 * time.Second).In(time.FixedZone("X", 3600)), Kind: EventRemoved, Source: SourceDestroy, Socket: socks[2]},
	} {
		var err error
		if b, err = AppendWatchEventJSON(b, ev); err != nil {
			t.Fatal(err)
		}
		// Each line is one object whose socket is AppendSocketJSON's.
		lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
		var got struct {
			Version int             `json:"version"`
			Time    time.Time       `json:"time"`
			Event   string          `json:"event"`
			Source  string          `json:"source"`
			Socket  json.RawMessage `json:"socket"`
		}
		if err := json.Unmarshal(lines[i], &got); err != nil {
			t.Fatalf("line %d %q: %v", i, lines[i], err)
		}
		if got.Version != SchemaVersion || !got.Time.Equal(ev.Time) || got.Event != ev.Kind || got.Source != ev.Source {
			t.Errorf("line %d = %+v, want %+v", i, got, ev)
		}
		if want := AppendSocketJSON(nil, ev.Socket); !bytes.Equal(got.Socket, want) {
			t.Errorf("line %d socket\n%s\nwant\n%s", i, got.Socket, want)
		}
	}
	golden(t, "watch.ndjson", b)
}

func TestWatchFrame(t *testing.T) {
	socks := watchSockets(3) // 5 sockets
	frame := func(height int, st Style, marks map[*sockscope.Socket]byte) string {
		var b bytes.Buffer
		f := WatchFrame{Taken: watchTime, Sockets: socks, Marks: marks, Added: len(marks), Removed: 1, Interval: time.Second, Count: 1, Height: height}
		if err := WriteWatchFrame(&b, f, st); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	tty := Style{TTY: true, Numeric: true, Processes: true}
	marks := map[*sockscope.Socket]byte{socks[4]: '+', socks[1]: '~'}

	for _, tt := range []struct {
		name   string
		height int
		st     Style
	}{
		{"watch_tty", 0, tty},
		{"watch_tty_fits", 8, tty},
		{"watch_tty_cut", 6, tty},
		{"watch_tty_tiny", 2, tty},
		{"watch_tty_color", 0, Style{TTY: true, Color: true, Numeric: true, Processes: true}},
		{"watch_pipe", 3, Style{Numeric: true, Processes: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := frame(tt.height, tt.st, marks)
			golden(t, tt.name, []byte(got))
			if strings.ContainsAny(strings.ReplaceAll(got, ClearScreen, ""), "\x07\u202e") || strings.Contains(got, "\x1bil") {
				t.Errorf("raw hostile bytes in the frame:\n%q", got)
			}
			if tt.height > 0 && tt.st.TTY {
				// The frame, with the line the cursor rests on, fits the
				// screen, so the header is never scrolled away.
				if n := strings.Count(got, "\n") + 1; n > tt.height && tt.height >= watchReserved {
					t.Errorf("height %d: frame takes %d lines", tt.height, n)
				}
			}
		})
	}

	// A cut frame keeps the marked rows and counts the others.
	got := frame(6, tty, marks) // room for 2 rows of 5
	if !strings.Contains(got, "3 more rows not shown") {
		t.Errorf("cut frame does not count the hidden rows:\n%s", got)
	}
	for _, l := range []string{"+ ", "~ "} {
		if !strings.Contains(got, "\n"+l) {
			t.Errorf("cut frame lost the %q row:\n%s", l, got)
		}
	}
	// Exactly as many rows as fit: nothing is cut.
	if got := frame(8, tty, marks); strings.Contains(got, "not shown") {
		t.Errorf("height 8 fits 5 rows, but rows were cut:\n%s", got)
	}
	if got := frame(7, tty, marks); !strings.Contains(got, "… 2 more rows not shown") {
		t.Errorf("height 7 fits 3 of 5 rows:\n%s", got)
	}
}

func TestCountOf(t *testing.T) {
	for n, want := range map[int]string{0: "0 sockets", 1: "1 socket", 2: "2 sockets"} {
		if got := countOf(n, "socket", "sockets"); got != want {
			t.Errorf("countOf(%d) = %q, want %q", n, got, want)
		}
	}
}
