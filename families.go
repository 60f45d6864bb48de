package sockscope

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sockscope/sockscope/internal/holders"
	"github.com/sockscope/sockscope/internal/netns"
	"github.com/sockscope/sockscope/internal/sockdiag"
)

// ExtraFamily names a socket family that ls lists apart from the inet and
// Unix tables: packet and netlink sockets, and the protocols whose diag
// module the kernel may lack.
type ExtraFamily string

// The families CollectExtra reads.
const (
	ExtraPacket  ExtraFamily = "packet"  // AF_PACKET, packet_diag
	ExtraNetlink ExtraFamily = "netlink" // AF_NETLINK, netlink_diag
	ExtraMPTCP   ExtraFamily = "mptcp"   // IPPROTO_MPTCP, mptcp_diag
	ExtraSCTP    ExtraFamily = "sctp"    // IPPROTO_SCTP, sctp_diag (probed only)
	ExtraVsock   ExtraFamily = "vsock"   // AF_VSOCK, vsock_diag (probed only)
	ExtraTIPC    ExtraFamily = "tipc"    // AF_TIPC, tipc_diag (probed only)
)

// PacketSocket is an AF_PACKET socket (what tcpdump and DHCP clients open).
type PacketSocket struct {
	Cookie uint64
	Inode  uint64
	// Type is SockRaw (link-layer header included) or SockDgram (cooked).
	Type SockType
	// Protocol is the ethertype the socket receives (ETH_P_ALL = 3 for
	// every one), 0 when none is bound yet; see EtherTypeName.
	Protocol uint16
	// Interface is the device's ifindex, 0 for every device; its name,
	// read in the socket's namespace, is InterfaceName ("" when the
	// device is gone). Untrusted text.
	Interface     uint32
	InterfaceName string
	// Running: the socket is hooked into the receive path.
	Running bool
	UID     uint32
	Holders []Holder
	// HoldersScanned and HoldersHidden mean what they mean for Socket.
	HoldersScanned, HoldersHidden bool
	NetNS                         *NetNS
}

// NetlinkSocket is an AF_NETLINK socket.
type NetlinkSocket struct {
	Cookie uint64
	Inode  uint64
	Type   SockType
	// Protocol is the netlink family (NETLINK_ROUTE = 0, ...); see
	// NetlinkProtocolName.
	Protocol uint8
	// PortID is the socket's port id (0 until bound; the kernel's own
	// sockets have 0), DstPortID and DstGroup where a connected socket
	// sends.
	PortID, DstPortID, DstGroup uint32
	// Groups are the multicast groups joined.
	Groups                        []uint32
	Holders                       []Holder
	HoldersScanned, HoldersHidden bool
	NetNS                         *NetNS
}

// Kernel reports whether the socket is the kernel's own end of its
// protocol (port id 0), which no process holds.
func (n *NetlinkSocket) Kernel() bool { return n.PortID == 0 }

// MPTCPSocket is a multipath TCP socket: the MPTCP-level socket a process
// holds, with the TCP subflows that carry its data (which are also listed
// with the TCP sockets).
type MPTCPSocket struct {
	Cookie, Inode uint64
	Family        Family
	State         State
	Local, Remote netip.AddrPort
	RecvQ, SendQ  uint32
	UID           uint32
	// Token is the connection's local token (0 for a listener), which
	// its subflows carry; HasToken is false when the kernel did not send
	// it.
	Token    uint32
	HasToken bool
	// Subflows are the TCP subflows whose token is Token, in dump order.
	Subflows                      []MPTCPSubflow
	Holders                       []Holder
	HoldersScanned, HoldersHidden bool
	NetNS                         *NetNS
}

// MPTCPSubflow is one TCP subflow of an MPTCP connection.
type MPTCPSubflow struct {
	Cookie        uint64
	Family        Family
	State         State
	Local, Remote netip.AddrPort
}

// FamilyNote says, in one line, why a family asked for has no table: the
// kernel lacks its diag module, or sockscope does not decode it.
type FamilyNote struct {
	Family ExtraFamily
	// Available is true when the kernel has the diag module but sockscope
	// does not decode its sockets.
	Available bool
	Msg       string
}

// ExtraSnapshot is what CollectExtra read.
type ExtraSnapshot struct {
	NetNS    []*NetNS
	Packet   []*PacketSocket
	Netlink  []*NetlinkSocket
	MPTCP    []*MPTCPSocket
	Notes    []FamilyNote
	Warnings []Warning
}

// modules names each probed family's diag module and kernel option.
var modules = map[ExtraFamily]string{
	ExtraPacket:  "packet_diag (CONFIG_PACKET_DIAG)",
	ExtraNetlink: "netlink_diag (CONFIG_NETLINK_DIAG)",
	ExtraMPTCP:   "mptcp_diag (CONFIG_INET_MPTCP_DIAG)",
	ExtraSCTP:    "sctp_diag (CONFIG_IP_SCTP with CONFIG_INET_DIAG)",
	ExtraVsock:   "vsock_diag (CONFIG_VSOCKETS_DIAG)",
	ExtraTIPC:    "tipc_diag (CONFIG_TIPC_DIAG)",
}

// CollectExtra reads the sockets of the families in want, in each
// namespace opts selects (NetNS, AllNetNS, ProcRoot, Holders and
// HolderTimeout are used; the rest is ignored). A family the kernel has no
// diag module for gets a FamilyNote, not an error.
func CollectExtra(ctx context.Context, opts Options, want []ExtraFamily) (*ExtraSnapshot, error) {
	procRoot := cmp.Or(opts.ProcRoot, "/proc")
	snap := &ExtraSnapshot{}
	var tmp Snapshot
	spaces, release, err := selectNetNS(ctx, opts, procRoot, &tmp)
	defer release()
	if err != nil {
		return nil, &OpError{Op: "select namespaces", Err: err}
	}
	snap.Warnings = tmp.Warnings
	names := map[string]string{}
	labelTargets(ctx, spaces, procRoot, names)
	hctx, stopScan := context.WithCancel(ctx)
	defer stopScan()
	scan := startHolderScan(hctx, opts, procRoot, nil)

	noted := map[ExtraFamily]bool{}
	var readErrs []string
	for _, t := range spaces {
		if err := ctx.Err(); err != nil {
			return nil, &OpError{Op: "read", NetNS: t.model.Name, Err: err}
		}
		read := func() error { return snap.readExtra(t.model, want, noted) }
		if t.direct {
			err = read()
		} else {
			err = netns.Do(t.ns, read)
		}
		if err != nil {
			if len(spaces) == 1 {
				return nil, &OpError{Op: "read", NetNS: t.model.Name, Err: err}
			}
			readErrs = append(readErrs, fmt.Sprintf("%s: %v", t.model.Name, err))
			continue
		}
		snap.NetNS = append(snap.NetNS, t.model)
	}
	if len(readErrs) > 0 {
		snap.Warnings = append(snap.Warnings, Warning{Kind: WarnNetNS, Count: len(readErrs),
			Msg: fmt.Sprintf("%d network %s could not be read: %s", len(readErrs), pluralWord(len(readErrs), "namespace", "namespaces"), strings.Join(firstNames(readErrs, 8), "; "))})
	}
	for _, f := range want {
		if msg, ok := unavailable(f); ok && !noted[f] {
			noted[f] = true
			snap.Notes = append(snap.Notes, FamilyNote{Family: f, Available: true, Msg: msg})
		}
	}
	if scan != nil {
		res, took, herr := scan.wait()
		if err := ctx.Err(); err != nil {
			return nil, &OpError{Op: "scan holders", Err: err}
		}
		snap.attachHolders(res, herr, took, procRoot, names)
	}
	slices.SortFunc(snap.Packet, func(a, b *PacketSocket) int { return cmp.Compare(a.Inode, b.Inode) })
	slices.SortFunc(snap.Netlink, func(a, b *NetlinkSocket) int {
		return cmp.Or(cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.PortID, b.PortID), cmp.Compare(a.Inode, b.Inode))
	})
	return snap, nil
}

// unavailable returns the note for a family sockscope probes but does not
// decode.
func unavailable(f ExtraFamily) (string, bool) {
	switch f {
	case ExtraSCTP, ExtraVsock, ExtraTIPC:
		return fmt.Sprintf("%s: the kernel has %s, but sockscope does not decode these sockets yet (ss can)", f, modules[f]), true
	}
	return "", false
}

// readExtra reads want in the calling thread's namespace, ns.
func (snap *ExtraSnapshot) readExtra(ns *NetNS, want []ExtraFamily, noted map[ExtraFamily]bool) error {
	c, err := sockdiag.Dial()
	if err != nil {
		return err
	}
	defer c.Close()
	var ifWant map[uint32]bool
	first := len(snap.Packet)
	for _, f := range want {
		var err error
		switch f {
		case ExtraPacket:
			err = c.DumpPacket(func(r *sockdiag.PacketRecord) error {
				snap.Packet = append(snap.Packet, &PacketSocket{Cookie: r.Cookie, Inode: uint64(r.Inode), Type: SockType(r.Type),
					Protocol: r.Protocol, Interface: r.Ifindex, Running: r.Running, UID: r.UID, NetNS: ns})
				if r.Ifindex != 0 {
					if ifWant == nil {
						ifWant = map[uint32]bool{}
					}
					ifWant[r.Ifindex] = true
				}
				return nil
			})
		case ExtraNetlink:
			// The kernel lists a socket that joined multicast groups
			// twice: from the port hash and from the group list.
			seen := map[uint64]bool{}
			err = c.DumpNetlink(func(r *sockdiag.NetlinkRecord) error {
				if seen[r.Cookie] {
					return nil
				}
				seen[r.Cookie] = true
				snap.Netlink = append(snap.Netlink, &NetlinkSocket{Cookie: r.Cookie, Inode: uint64(r.Inode), Type: SockType(r.Type),
					Protocol: r.Protocol, PortID: r.PortID, DstPortID: r.DstPortID, DstGroup: r.DstGroup,
					Groups: slices.Clone(r.Groups), NetNS: ns})
				return nil
			})
		case ExtraMPTCP:
			err = snap.readMPTCP(c, ns)
		case ExtraSCTP:
			err = c.Probe(uint8(FamilyInet), sockdiag.ProtoSCTP)
		case ExtraVsock:
			err = c.Probe(sockdiag.AFVsock, 0)
		case ExtraTIPC:
			err = c.Probe(sockdiag.AFTIPC, 0)
		default:
			return fmt.Errorf("unknown family %q", f)
		}
		if errors.Is(err, ErrNotSupported) {
			if !noted[f] {
				noted[f] = true
				snap.Notes = append(snap.Notes, FamilyNote{Family: f,
					Msg: fmt.Sprintf("%s: not available: this kernel has no %s, so its sockets cannot be listed", f, modules[f])})
			}
			continue
		}
		if err != nil {
			return err
		}
	}
	if ifWant != nil {
		if names, err := interfaceNames(ifWant); err == nil {
			for _, p := range snap.Packet[first:] {
				p.InterfaceName = names[p.Interface]
			}
		}
	}
	return nil
}

// readMPTCP reads the MPTCP sockets of the Conn's namespace, ns, and ties
// each established one to its TCP subflows by token.
func (snap *ExtraSnapshot) readMPTCP(c *sockdiag.Conn, ns *NetNS) error {
	first := len(snap.MPTCP)
	byToken := map[uint32]*MPTCPSocket{}
	for _, fam := range []uint8{uint8(FamilyInet), uint8(FamilyInet6)} {
		if err := c.DumpMPTCP(fam, func(r *sockdiag.InetRecord, token uint32, ok bool) error {
			m := &MPTCPSocket{Cookie: r.Cookie, Inode: uint64(r.Inode), Family: Family(r.Family),
				State: State(r.State), Local: netip.AddrPortFrom(r.Src, r.SrcPort), Remote: netip.AddrPortFrom(r.Dst, r.DstPort),
				RecvQ: r.RQueue, SendQ: r.WQueue, UID: r.UID, Token: token, HasToken: ok, NetNS: ns}
			snap.MPTCP = append(snap.MPTCP, m)
			if ok && token != 0 {
				byToken[token] = m
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if len(byToken) == 0 || len(snap.MPTCP) == first {
		return nil
	}
	for _, fam := range []uint8{uint8(FamilyInet), uint8(FamilyInet6)} {
		if err := c.DumpSubflows(fam, func(r *sockdiag.InetRecord, token uint32) error {
			if m := byToken[token]; m != nil {
				m.Subflows = append(m.Subflows, MPTCPSubflow{Cookie: r.Cookie, Family: Family(r.Family), State: State(r.State),
					Local: netip.AddrPortFrom(r.Src, r.SrcPort), Remote: netip.AddrPortFrom(r.Dst, r.DstPort)})
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// attachHolders joins a holder scan to the sockets by inode.
func (snap *ExtraSnapshot) attachHolders(res *holders.Result, err error, took time.Duration, procRoot string, names map[string]string) {
	if res == nil {
		snap.Warnings = append(snap.Warnings, Warning{Kind: WarnHolders, Count: 1, Msg: fmt.Sprintf("holders could not be read: %v", err)})
		return
	}
	procs := make([]Process, len(res.Procs))
	for i, p := range res.Procs {
		procs[i] = Process{PID: p.PID, PPID: p.PPID, Comm: p.Comm, Cmdline: p.Cmdline, UID: p.UID, User: p.User, Cgroup: p.Cgroup, NetNS: p.NetNS}
	}
	labelProcesses(procs, snap.NetNS, procRoot, names)
	partial := res.Denied > 0 || len(res.TimedOut) > 0 || err != nil
	hidden := 0
	join := func(inode uint64, hs *[]Holder, scanned, hid *bool) {
		*scanned = true
		for _, r := range res.Holders(inode) {
			*hs = append(*hs, Holder{Proc: &procs[r.Proc], FD: int(r.FD)})
		}
		if len(*hs) == 0 && partial && inode != 0 {
			*hid = true
			hidden++
		}
	}
	for _, p := range snap.Packet {
		join(p.Inode, &p.Holders, &p.HoldersScanned, &p.HoldersHidden)
	}
	for _, n := range snap.Netlink {
		if n.Kernel() {
			n.HoldersScanned = true
			continue
		}
		join(n.Inode, &n.Holders, &n.HoldersScanned, &n.HoldersHidden)
	}
	for _, m := range snap.MPTCP {
		join(m.Inode, &m.Holders, &m.HoldersScanned, &m.HoldersHidden)
	}
	if hidden > 0 {
		snap.Warnings = append(snap.Warnings, Warning{Kind: WarnPermission, Count: hidden,
			Msg: fmt.Sprintf("%d %s hidden: %d %s could not be inspected", hidden, pluralWord(hidden, "socket's holders are", "sockets' holders are"), res.Denied, pluralWord(res.Denied, "process", "processes"))})
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		snap.Warnings = append(snap.Warnings, Warning{Kind: WarnTimeout, Count: 1, Msg: fmt.Sprintf("the holder scan stopped after %s, its time limit (--holders-timeout): %v", took.Round(time.Millisecond), err)})
	}
}

// EtherTypeName names a packet socket's protocol as ss does where it can:
// "all" (ETH_P_ALL), "ip", "ipv6", "arp", ..., else "0x" and four hex
// digits; "" for 0 (not bound to a protocol: receives nothing).
func EtherTypeName(p uint16) string {
	switch p {
	case 0:
		return ""
	case 0x0003:
		return "all"
	case 0x0800:
		return "ip"
	case 0x86dd:
		return "ipv6"
	case 0x0806:
		return "arp"
	case 0x8035:
		return "rarp"
	case 0x8100:
		return "802.1q"
	case 0x88cc:
		return "lldp"
	case 0x888e:
		return "eapol"
	case 0x8863:
		return "pppoe-disc"
	case 0x8864:
		return "pppoe-sess"
	}
	return fmt.Sprintf("0x%04x", p)
}

// netlinkNames are the netlink protocols as ss names them.
var netlinkNames = [...]string{
	0: "rtnl", 1: "unused", 2: "usersock", 3: "fw", 4: "tcpdiag", 5: "nflog", 6: "xfrm", 7: "selinux",
	8: "iscsi", 9: "audit", 10: "fiblookup", 11: "connector", 12: "nft", 13: "ip6fw", 14: "dec-rt",
	15: "uevent", 16: "genl", 18: "scsi-trans", 19: "ecryptfs", 20: "rdma", 21: "crypto", 22: "smc",
}

// NetlinkProtocolName names a netlink protocol as ss does ("rtnl",
// "tcpdiag" for NETLINK_SOCK_DIAG, "genl", ...), or its number.
func NetlinkProtocolName(p uint8) string {
	if int(p) < len(netlinkNames) && netlinkNames[p] != "" {
		return netlinkNames[p]
	}
	return strconv.Itoa(int(p))
}
