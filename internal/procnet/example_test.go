package procnet_test

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/sockscope/sockscope/internal/procnet"
	"github.com/sockscope/sockscope/internal/sockdiag"
)

func ExampleParseInet() {
	const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 31337 1 0000000000000000 100 0 0 10 0
   1: 0100007F:A8B4 0100007F:1F90 06 00000000:00000000 03:0000175C 00000000     0        0 0 3 0000000000000000
`
	const afInet, ipprotoTCP = 2, 6
	err := procnet.ParseInet(strings.NewReader(tcp), afInet, ipprotoTCP, func(r *sockdiag.InetRecord) error {
		fmt.Println(netip.AddrPortFrom(r.Src, r.SrcPort), netip.AddrPortFrom(r.Dst, r.DstPort), r.State, r.UID, r.Inode)
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// 127.0.0.1:8080 0.0.0.0:0 10 1000 31337
	// 127.0.0.1:43188 127.0.0.1:8080 6 0 0
}

func ExampleParseUnix() {
	const unix = `Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 20001 /run/my app.sock
0000000000000000: 00000003 00000000 00000000 0001 03 20002
0000000000000000: 00000002 00000000 00010000 0005 01 20003 @abstract@name
`
	err := procnet.ParseUnix(strings.NewReader(unix), func(r *sockdiag.UnixRecord) error {
		fmt.Printf("type %d state %d inode %d name %q\n", r.Type, r.State, r.Inode, r.Name)
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// type 1 state 10 inode 20001 name "/run/my app.sock"
	// type 1 state 1 inode 20002 name ""
	// type 5 state 10 inode 20003 name "@abstract@name"
}
