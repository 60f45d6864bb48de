package demux_test

import (
	"fmt"
	"net/netip"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
)

func ExampleCheckBind() {
	nginx := &sockscope.Socket{
		Cookie: 4711, Inode: 812345, Family: sockscope.FamilyInet, Proto: sockscope.TCP,
		State: sockscope.Listen, Local: netip.MustParseAddrPort("0.0.0.0:8080"), UID: 33,
		Holders: []sockscope.Holder{{Proc: &sockscope.Process{PID: 812, Comm: "nginx"}, FD: 6}},
	}
	snap := &sockscope.Snapshot{Sockets: []*sockscope.Socket{nginx}}
	req := demux.BindRequest{Proto: sockscope.TCP, Addr: netip.MustParseAddrPort("127.0.0.1:8080"), ReuseAddr: true, UID: 1000}
	r := demux.CheckBind(snap, req, demux.DefaultEnv(), nil)
	fmt.Println(r.Verdict, r.Errno)
	fmt.Println(r.Rule)
	// Output:
	// fail EADDRINUSE
	// tcp 0.0.0.0:8080 LISTEN (cookie 4711) held by nginx (pid 812): it listens on the wildcard 0.0.0.0:8080, which covers yours; SO_REUSEADDR never lets a second socket share a listening address on Linux; SO_REUSEPORT would help only with the same owner: it belongs to uid 33, you bind as uid 1000
}

func ExampleLookup() {
	mk := func(local string, dev uint32, inode uint64) *sockscope.Socket {
		return &sockscope.Socket{Inode: inode, Family: sockscope.FamilyInet, Proto: sockscope.TCP,
			State: sockscope.Listen, Local: netip.MustParseAddrPort(local), Interface: dev}
	}
	snap := &sockscope.Snapshot{Sockets: []*sockscope.Socket{
		mk("0.0.0.0:80", 0, 10), mk("127.0.0.1:80", 0, 11),
	}}
	seg := demux.Segment{Proto: sockscope.TCP, Src: netip.MustParseAddrPort("127.0.0.1:40000"), Dst: netip.MustParseAddrPort("127.0.0.1:80"), Ifindex: 1}
	r := demux.Lookup(snap, seg, nil)
	fmt.Println(r.Verdict, sockscope.FormatAddrPort(r.Socket.Local))
	// Output:
	// socket 127.0.0.1:80
}
