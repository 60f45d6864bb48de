package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sockscope/sockscope"
)

// WriteExtra prints the packet, netlink and MPTCP tables that snap holds
// (each only when its family was asked for, in want order), one after the
// other with a blank line between them on a terminal. On a pipe each row
// starts with its family, so the records stay apart.
func WriteExtra(w io.Writer, snap *sockscope.ExtraSnapshot, want []sockscope.ExtraFamily, st Style) error {
	printed := false
	for _, f := range want {
		var (
			header []string
			rows   [][]Cell
			kernel bool // the row being built is a kernel netlink socket
		)
		holders := func(hs []sockscope.Holder, hidden bool) Cell {
			switch {
			case kernel:
				return Cell{Text: "(kernel)"}
			case len(hs) > 0:
				return Cell{Text: HolderText(hs, 0)}
			case hidden:
				return Cell{Text: "(hidden)"}
			}
			return Cell{Text: "(none)"}
		}
		tail := func(row []Cell, ns *sockscope.NetNS, inode uint64, hs []sockscope.Holder, hidden bool) []Cell {
			row = append([]Cell{{Text: string(f)}}, row...)
			if st.NetNS {
				row = append([]Cell{{Text: nsName(ns)}}, row...) // nsName sanitizes
			}
			row = append(row, Cell{Text: strconv.FormatUint(inode, 10)})
			if st.Processes {
				row = append(row, holders(hs, hidden))
			}
			return row
		}
		switch f {
		case sockscope.ExtraPacket:
			header = []string{"NETID", "TYPE", "PROTOCOL", "INTERFACE", "RUNNING", "UID"}
			for _, p := range snap.Packet {
				ifname := "*"
				if p.Interface != 0 {
					ifname = Sanitize(p.InterfaceName)
					if ifname == "" {
						ifname = "if" + strconv.FormatUint(uint64(p.Interface), 10)
					}
				}
				proto := sockscope.EtherTypeName(p.Protocol)
				rows = append(rows, tail([]Cell{{Text: p.Type.String()}, {Text: proto}, {Text: ifname},
					{Text: yesNo(p.Running)}, {Text: strconv.FormatUint(uint64(p.UID), 10)}}, p.NetNS, p.Inode, p.Holders, p.HoldersHidden))
			}
		case sockscope.ExtraNetlink:
			header = []string{"NETID", "PROTOCOL", "PORTID", "PEER", "GROUPS"}
			for _, n := range snap.Netlink {
				peer := ""
				if n.DstPortID != 0 || n.DstGroup != 0 {
					peer = strconv.FormatUint(uint64(n.DstPortID), 10)
					if n.DstGroup != 0 {
						peer += "/group" + strconv.FormatUint(uint64(n.DstGroup), 10)
					}
				}
				port := strconv.FormatUint(uint64(n.PortID), 10)
				kernel = n.Kernel()
				if kernel {
					port = "kernel"
				}
				rows = append(rows, tail([]Cell{{Text: sockscope.NetlinkProtocolName(n.Protocol)},
					{Text: port}, {Text: peer}, {Text: groupsText(n.Groups)}}, n.NetNS, n.Inode, n.Holders, n.HoldersHidden))
			}
		case sockscope.ExtraMPTCP:
			header = []string{"NETID", "STATE", "RECV-Q", "SEND-Q", "LOCAL", "PEER", "SUBFLOWS"}
			for _, m := range snap.MPTCP {
				state := m.State.String()
				rows = append(rows, tail([]Cell{{Text: state, Color: StateColor(state)},
					{Text: strconv.FormatUint(uint64(m.RecvQ), 10)}, {Text: strconv.FormatUint(uint64(m.SendQ), 10)},
					{Text: sockscope.FormatSocketAddrPort(m.Local, sockscope.Unknown)}, {Text: sockscope.FormatSocketAddrPort(m.Remote, sockscope.Unknown)},
					{Text: subflowsText(m.Subflows)}},
					m.NetNS, m.Inode, m.Holders, m.HoldersHidden))
			}
		default:
			continue
		}
		if !hasNote(snap, f) || len(rows) > 0 {
			if st.NetNS {
				header = append([]string{"NETNS"}, header...)
			}
			header = append(header, "INODE")
			if st.Processes {
				header = append(header, "PROCESS")
			}
			if printed && st.TTY {
				if _, err := io.WriteString(w, "\n"); err != nil {
					return err
				}
			}
			if st.NoHeader {
				header = nil
			}
			t := NewTable(w, st.TTY, st.Color, header...)
			for _, r := range rows {
				t.Row(r...)
			}
			if err := t.Flush(); err != nil {
				return err
			}
			printed = true
		}
	}
	return nil
}

// subflowsText is "127.0.0.1:40000->127.0.0.1:80,...", each subflow not
// in ESTAB followed by its state in parentheses.
func subflowsText(sfs []sockscope.MPTCPSubflow) string {
	parts := make([]string, len(sfs))
	for i, sf := range sfs {
		parts[i] = sockscope.FormatSocketAddrPort(sf.Local, sockscope.Unknown) + "->" + sockscope.FormatSocketAddrPort(sf.Remote, sockscope.Unknown)
		if sf.State != sockscope.Established {
			parts[i] += "(" + sf.State.String() + ")"
		}
	}
	return strings.Join(parts, ",")
}

func hasNote(snap *sockscope.ExtraSnapshot, f sockscope.ExtraFamily) bool {
	for _, n := range snap.Notes {
		if n.Family == f {
			return true
		}
	}
	return false
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// groupsText is "1,3,5" or "".
func groupsText(gs []uint32) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = strconv.FormatUint(uint64(g), 10)
	}
	return strings.Join(parts, ",")
}

type (
	extraJSON struct {
		Version  int              `json:"version"`
		Packet   []packetJSON     `json:"packet,omitempty"`
		Netlink  []netlinkJSON    `json:"netlink,omitempty"`
		MPTCP    []mptcpJSON      `json:"mptcp,omitempty"`
		Notes    []familyNoteJSON `json:"unavailable"`
		Warnings json.RawMessage  `json:"warnings"`
	}
	extraCommonJSON struct {
		Cookie  uint64            `json:"cookie"`
		Inode   uint64            `json:"inode"`
		NetNS   *netnsJSON        `json:"netns"`
		Holders []json.RawMessage `json:"holders"`
	}
	packetJSON struct {
		Type         string `json:"type"`
		Protocol     uint16 `json:"protocol"`
		ProtocolName string `json:"protocol_name"`
		Ifindex      uint32 `json:"ifindex"`
		Interface    string `json:"interface"`
		Running      bool   `json:"running"`
		UID          uint32 `json:"uid"`
		extraCommonJSON
	}
	netlinkJSON struct {
		Protocol     uint8    `json:"protocol"`
		ProtocolName string   `json:"protocol_name"`
		PortID       uint32   `json:"port_id"`
		DstPortID    uint32   `json:"dst_port_id"`
		DstGroup     uint32   `json:"dst_group"`
		Groups       []uint32 `json:"groups"`
		extraCommonJSON
	}
	mptcpJSON struct {
		Family   string        `json:"family"`
		State    string        `json:"state"`
		Local    string        `json:"local"`
		Remote   string        `json:"remote"`
		RecvQ    uint32        `json:"recv_q"`
		SendQ    uint32        `json:"send_q"`
		UID      uint32        `json:"uid"`
		Token    *uint32       `json:"token"`
		Subflows []subflowJSON `json:"subflows"`
		extraCommonJSON
	}
	subflowJSON struct {
		State  string `json:"state"`
		Local  string `json:"local"`
		Remote string `json:"remote"`
		Cookie uint64 `json:"cookie"`
	}
	familyNoteJSON struct {
		Family    string `json:"family"`
		Available bool   `json:"module_present"`
		Message   string `json:"message"`
	}
)

func extraCommon(cookie, inode uint64, ns *sockscope.NetNS, hs []sockscope.Holder) extraCommonJSON {
	c := extraCommonJSON{Cookie: cookie, Inode: inode, NetNS: netnsOf(ns), Holders: []json.RawMessage{}}
	for _, h := range hs {
		c.Holders = append(c.Holders, AppendHolderJSON(nil, h))
	}
	return c
}

// WriteExtraJSON writes the families document (docs/json.md): one JSON
// object and a newline, with a key for each family asked for.
func WriteExtraJSON(w io.Writer, snap *sockscope.ExtraSnapshot, want []sockscope.ExtraFamily) error {
	doc := extraJSON{Version: SchemaVersion, Notes: []familyNoteJSON{}, Warnings: AppendWarningsJSON(nil, snap.Warnings)}
	for _, f := range want {
		switch f {
		case sockscope.ExtraPacket:
			doc.Packet = []packetJSON{}
			for _, p := range snap.Packet {
				doc.Packet = append(doc.Packet, packetJSON{Type: p.Type.String(), Protocol: p.Protocol, ProtocolName: sockscope.EtherTypeName(p.Protocol),
					Ifindex: p.Interface, Interface: p.InterfaceName, Running: p.Running, UID: p.UID,
					extraCommonJSON: extraCommon(p.Cookie, p.Inode, p.NetNS, p.Holders)})
			}
		case sockscope.ExtraNetlink:
			doc.Netlink = []netlinkJSON{}
			for _, n := range snap.Netlink {
				gs := n.Groups
				if gs == nil {
					gs = []uint32{}
				}
				doc.Netlink = append(doc.Netlink, netlinkJSON{Protocol: n.Protocol, ProtocolName: sockscope.NetlinkProtocolName(n.Protocol),
					PortID: n.PortID, DstPortID: n.DstPortID, DstGroup: n.DstGroup, Groups: gs,
					extraCommonJSON: extraCommon(n.Cookie, n.Inode, n.NetNS, n.Holders)})
			}
		case sockscope.ExtraMPTCP:
			doc.MPTCP = []mptcpJSON{}
			for _, m := range snap.MPTCP {
				j := mptcpJSON{Family: m.Family.String(), State: m.State.String(),
					Local: sockscope.FormatSocketAddrPort(m.Local, sockscope.Unknown), Remote: sockscope.FormatSocketAddrPort(m.Remote, sockscope.Unknown),
					RecvQ: m.RecvQ, SendQ: m.SendQ, UID: m.UID, Subflows: []subflowJSON{}, extraCommonJSON: extraCommon(m.Cookie, m.Inode, m.NetNS, m.Holders)}
				if m.HasToken {
					tok := m.Token
					j.Token = &tok
				}
				for _, sf := range m.Subflows {
					j.Subflows = append(j.Subflows, subflowJSON{State: sf.State.String(), Local: sockscope.FormatSocketAddrPort(sf.Local, sockscope.Unknown),
						Remote: sockscope.FormatSocketAddrPort(sf.Remote, sockscope.Unknown), Cookie: sf.Cookie})
				}
				doc.MPTCP = append(doc.MPTCP, j)
			}
		}
	}
	for _, n := range snap.Notes {
		doc.Notes = append(doc.Notes, familyNoteJSON{Family: string(n.Family), Available: n.Available, Message: n.Msg})
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("families: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
