package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
)

// bindCase is a fixed request and answer, as demux.CheckBind returns them.
type bindCase struct {
	name string
	req  demux.BindRequest
	res  demux.BindResult
}

// bindCases covers each verdict, an EACCES from the privileged-port rule,
// 40 TIME-WAIT blockers that must print as one group, a hostile
// process name, and a dependent answer.
func bindCases() []bindCase {
	nginx := &sockscope.Process{PID: 812, Comm: "nginx\x1b[31m"}
	listener := &sockscope.Socket{Cookie: 4711, Inode: 812345, Family: sockscope.FamilyInet, Proto: sockscope.TCP,
		State: sockscope.Listen, Local: ap("0.0.0.0:80"), Remote: ap("0.0.0.0:0"), UID: 33, V6Only: sockscope.No, HoldersScanned: true,
		Holders: []sockscope.Holder{{Proc: nginx, FD: 6}, {Proc: &sockscope.Process{PID: 813, Comm: "nginx"}, FD: 6}}}
	lreason := "it listens on the wildcard 0.0.0.0:80, which covers yours; SO_REUSEADDR never lets a second socket share a listening address on Linux; your SO_REUSEPORT does not help: it does not have SO_REUSEPORT"
	twReason := "it is a TIME-WAIT socket on 127.0.0.1:80, which your wildcard covers; rebinding over it needs SO_REUSEADDR on your socket and on the socket that closed (a TIME-WAIT keeps that socket's flags, which are not visible); your SO_REUSEPORT helps only if it set SO_REUSEPORT too, which the kernel does not show"
	busy := demux.BindResult{Verdict: demux.Fail, Errno: "EADDRINUSE", Phase: "bind",
		Rule:     "tcp 0.0.0.0:80 LISTEN (cookie 4711) held by nginx (pid 812): " + lreason,
		Blockers: []demux.Blocker{{Socket: listener, Definite: true, Reason: lreason}},
		Help:     []string{"use another port, or stop the listener nginx (pid 812)", "to share the listening address, set SO_REUSEPORT on every socket, created by the same uid (33)"}}
	for i := range 40 {
		tw := &sockscope.Socket{Cookie: uint64(9000 + i), Family: sockscope.FamilyInet, Proto: sockscope.TCP, State: sockscope.TimeWait,
			Local: ap("127.0.0.1:80"), Remote: ap(fmt.Sprintf("127.0.0.9:%d", 40000+i)), HoldersScanned: true}
		busy.Blockers = append(busy.Blockers, demux.Blocker{Socket: tw, Reason: twReason})
	}
	hiddenTW := &sockscope.Socket{Cookie: 77, Family: sockscope.FamilyInet6, Proto: sockscope.TCP, State: sockscope.TimeWait,
		Local: ap("[::1]:8080"), Remote: ap("[::1]:9"), HoldersScanned: true}
	bound := &sockscope.Socket{Cookie: 78, Inode: 5000, Family: sockscope.FamilyInet, Proto: sockscope.UDP, State: sockscope.Close,
		Local: ap("127.0.0.1:5353"), Remote: ap("0.0.0.0:0"), HoldersHidden: true, HoldersScanned: true}
	return []bindCase{
		{"ok", demux.BindRequest{Proto: sockscope.TCP, Addr: ap("127.0.0.1:8080"), Listen: true, UID: 1000},
			demux.BindResult{Verdict: demux.OK, Rule: "no socket in this namespace owns the port"}},
		{"eacces", demux.BindRequest{Proto: sockscope.TCP, Addr: ap("127.0.0.1:80"), Listen: true, UID: 1000},
			demux.BindResult{Verdict: demux.Fail, Errno: "EACCES", Phase: "bind",
				Rule: "port 80 is below net.ipv4.ip_unprivileged_port_start of this namespace (1024): binding it needs CAP_NET_BIND_SERVICE, which a process of uid 1000 lacks unless it was granted it (only uid 0 has it by default)",
				Help: []string{"use a port of 1024 or above", "or lower net.ipv4.ip_unprivileged_port_start in this network namespace to 80 or below"}}},
		{"grouped", demux.BindRequest{Proto: sockscope.TCP, Addr: ap("0.0.0.0:80"), ReusePort: true, Listen: true, CapNetBindService: sockscope.Yes},
			busy},
		{"depends", demux.BindRequest{Proto: sockscope.TCP, Addr: ap("[::1]:8080"), ReuseAddr: true, V6Only: sockscope.Yes, Listen: true, UID: 1000},
			demux.BindResult{Verdict: demux.Depends, Errno: "EADDRINUSE", Phase: "bind", CacheDependent: true,
				Rule:      "tcp6 [::1]:8080 -> [::1]:9 TIME-WAIT (cookie 77) held by no process (TIME-WAIT): it is a TIME-WAIT socket on the same address [::1]:8080",
				Blockers:  []demux.Blocker{{Socket: hiddenTW, Reason: "it is a TIME-WAIT socket on the same address [::1]:8080"}},
				DependsOn: []string{"SO_REUSEADDR of the socket that left TIME-WAIT socket cookie 77", "the port's TCP bind-bucket cache (fastreuse/fastreuseport), set by the order of past binds"},
				Help:      []string{"set SO_REUSEADDR on the new socket (it also needs SO_REUSEADDR on the socket that closed), or wait for TIME-WAIT to end (60 s)"}}},
		{"udp-hidden-holder", demux.BindRequest{Proto: sockscope.UDP, Addr: ap("127.0.0.1:5353")},
			demux.BindResult{Verdict: demux.Fail, Errno: "EADDRINUSE", Phase: "bind",
				Rule:     "udp 127.0.0.1:5353 UNCONN (cookie 78): it is bound on the same address 127.0.0.1:5353",
				Blockers: []demux.Blocker{{Socket: bound, Definite: true, Reason: "it is bound on the same address 127.0.0.1:5353; UDP sharing needs SO_REUSEADDR on both sockets, or SO_REUSEPORT on both and the same uid, and yours has neither"}}}},
	}
}

// TestGoldenBindCheck renders each case as a table and as JSON and
// compares with testdata/bind-*.golden (go test ./render -update rewrites
// them).
func TestGoldenBindCheck(t *testing.T) {
	for _, c := range bindCases() {
		t.Run(c.name, func(t *testing.T) {
			var tbl, js bytes.Buffer
			if err := WriteBindCheck(&tbl, Style{}, c.req, c.res); err != nil {
				t.Fatal(err)
			}
			if err := WriteBindCheckJSON(&js, c.req, c.res); err != nil {
				t.Fatal(err)
			}
			golden(t, "bind-"+c.name, tbl.Bytes())
			golden(t, "bind-"+c.name+".json", js.Bytes())
		})
	}
}

// TestBindCheckGroups: the table prints one line per group whatever the
// number of blockers, and the JSON keeps every blocker, in groups, with
// counts that add up.
func TestBindCheckGroups(t *testing.T) {
	c := bindCases()[2]
	var tbl, js bytes.Buffer
	if err := WriteBindCheck(&tbl, Style{Color: true}, c.req, c.res); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(tbl.String(), "\n"); n > 20 {
		t.Errorf("%d lines for %d blockers:\n%s", n, len(c.res.Blockers), tbl.String())
	}
	if !strings.Contains(tbl.String(), "40 sockets: tcp TIME-WAIT 127.0.0.1:80") || !strings.Contains(tbl.String(), "and 37 more") {
		t.Errorf("no TIME-WAIT group line:\n%s", tbl.String())
	}
	if strings.Contains(tbl.String(), "\x1b[31m") && strings.Contains(tbl.String(), "nginx\x1b") {
		t.Errorf("a process name reached the terminal raw:\n%q", tbl.String())
	}
	if err := WriteBindCheckJSON(&js, c.req, c.res); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Verdict string `json:"verdict"`
		Groups  []struct {
			Count   int               `json:"count"`
			Sockets []json.RawMessage `json:"sockets"`
		} `json:"blocker_groups"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("invalid JSON: %v", err)
	}
	total := 0
	for _, g := range doc.Groups {
		if g.Count != len(g.Sockets) {
			t.Errorf("count %d, %d sockets", g.Count, len(g.Sockets))
		}
		total += g.Count
	}
	if doc.Verdict != "fail" || len(doc.Groups) != 2 || total != len(c.res.Blockers) {
		t.Errorf("verdict %q, %d groups, %d blockers; want fail, 2, %d", doc.Verdict, len(doc.Groups), total, len(c.res.Blockers))
	}
}

func TestBindCheckWriteErrors(t *testing.T) {
	c := bindCases()[2]
	if err := WriteBindCheck(failWriter{}, Style{}, c.req, c.res); !errors.Is(err, errBroken) {
		t.Errorf("table: %v", err)
	}
	if err := WriteBindCheckJSON(failWriter{}, c.req, c.res); !errors.Is(err, errBroken) {
		t.Errorf("JSON: %v", err)
	}
	// An invalid verdict is an error, not a document.
	if err := WriteBindCheckJSON(&bytes.Buffer{}, c.req, demux.BindResult{}); err == nil {
		t.Error("zero verdict encoded")
	}
}
