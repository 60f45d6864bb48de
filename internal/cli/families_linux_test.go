package cli

import (
	"encoding/json"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/netns"
	"github.com/sockscope/sockscope/internal/nstest"
)

type extraHolder struct {
	PID int `json:"pid"`
	FD  int `json:"fd"`
}

type extraDoc struct {
	Packet []struct {
		Type         string        `json:"type"`
		Protocol     uint16        `json:"protocol"`
		ProtocolName string        `json:"protocol_name"`
		Ifindex      uint32        `json:"ifindex"`
		Interface    string        `json:"interface"`
		Running      bool          `json:"running"`
		Inode        uint64        `json:"inode"`
		Holders      []extraHolder `json:"holders"`
	} `json:"packet"`
	Netlink []struct {
		Protocol     uint8         `json:"protocol"`
		ProtocolName string        `json:"protocol_name"`
		PortID       uint32        `json:"port_id"`
		Groups       []uint32      `json:"groups"`
		Inode        uint64        `json:"inode"`
		Holders      []extraHolder `json:"holders"`
	} `json:"netlink"`
	MPTCP []struct {
		State    string        `json:"state"`
		Local    string        `json:"local"`
		Remote   string        `json:"remote"`
		Inode    uint64        `json:"inode"`
		Token    *uint32       `json:"token"`
		Holders  []extraHolder `json:"holders"`
		Subflows []struct {
			State, Local, Remote string
		} `json:"subflows"`
	} `json:"mptcp"`
	Unavailable []struct {
		Family        string `json:"family"`
		ModulePresent bool   `json:"module_present"`
		Message       string `json:"message"`
	} `json:"unavailable"`
}

func runExtraJSON(t *testing.T, args ...string) extraDoc {
	t.Helper()
	out, stderr, code := runCLI(t, append(args, "-o", "json")...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	var d extraDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v: invalid JSON: %v\n%s", args, err, out)
	}
	return d
}

func heldBy(hs []extraHolder, fd int) bool {
	return slices.Contains(hs, extraHolder{PID: os.Getpid(), FD: fd})
}

// TestLsNetlink (any user): a NETLINK_ROUTE socket that joined group 1
// and a NETLINK_GENERIC one appear with their protocol names, port ids,
// groups and this process as holder.
func TestLsNetlink(t *testing.T) {
	open := func(proto, groups int) (fd int, port uint32, inode uint64) {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: uint32(groups)}); err != nil {
			t.Fatal(err)
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			t.Fatal(err)
		}
		return fd, sa.(*unix.SockaddrNetlink).Pid, nstest.FDInode(t, fd)
	}
	rfd, rport, rino := open(unix.NETLINK_ROUTE, unix.RTMGRP_LINK)
	gfd, gport, gino := open(unix.NETLINK_GENERIC, 0)
	d := runExtraJSON(t, "ls", "--netlink", "-p")
	found := 0
	for _, n := range d.Netlink {
		switch n.Inode {
		case rino:
			found++
			if n.ProtocolName != "rtnl" || n.Protocol != unix.NETLINK_ROUTE || n.PortID != rport || !slices.Equal(n.Groups, []uint32{1}) || !heldBy(n.Holders, rfd) {
				t.Errorf("route socket: %+v, want rtnl, port id %d, groups [1], held by fd %d", n, rport, rfd)
			}
		case gino:
			found++
			if n.ProtocolName != "genl" || n.PortID != gport || len(n.Groups) != 0 || !heldBy(n.Holders, gfd) {
				t.Errorf("generic socket: %+v, want genl, port id %d, no groups, held by fd %d", n, gport, gfd)
			}
		}
	}
	if found != 2 {
		t.Errorf("found %d of the 2 netlink sockets among %d", found, len(d.Netlink))
	}
	out, _, code := runCLI(t, "ls", "--netlink", "-p")
	if code != 0 || !strings.Contains(out, "netlink\trtnl\t") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
}

// TestLsPacket (root): in a private namespace, a cooked packet socket
// bound to lo for IPv4 and a raw one for every protocol appear with their
// type, protocol, interface and holder, as ss -0 sees them.
func TestLsPacket(t *testing.T) {
	name, ns := privateNS(t, "packet")
	var fds [2]int
	err := netns.Do(ns, func() error {
		lo, err := net.InterfaceByName("lo")
		if err != nil {
			return err
		}
		for i, s := range []struct{ typ, proto, ifindex int }{{unix.SOCK_DGRAM, unix.ETH_P_IP, lo.Index}, {unix.SOCK_RAW, unix.ETH_P_ALL, 0}} {
			pr := int(htons(uint16(s.proto)))
			fd, err := unix.Socket(unix.AF_PACKET, s.typ|unix.SOCK_CLOEXEC, pr)
			if err != nil {
				return err
			}
			fds[i] = fd
			t.Cleanup(func() { unix.Close(fd) })
			if s.ifindex != 0 {
				if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(uint16(s.proto)), Ifindex: s.ifindex}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d := runExtraJSON(t, "--netns", name, "ls", "-0", "-p")
	if len(d.Packet) != 2 {
		t.Fatalf("want the 2 packet sockets built, got %+v", d.Packet)
	}
	want := map[uint64]struct {
		typ, proto, iface string
		fd                int
	}{
		nstest.FDInode(t, fds[0]): {"dgram", "ip", "lo", fds[0]},
		nstest.FDInode(t, fds[1]): {"raw", "all", "", fds[1]},
	}
	for _, p := range d.Packet {
		w, ok := want[p.Inode]
		if !ok || p.Type != w.typ || p.ProtocolName != w.proto || p.Interface != w.iface || !p.Running || !heldBy(p.Holders, w.fd) {
			t.Errorf("packet socket %+v, want %+v held by this process", p, w)
		}
	}
	out, _, code := runCLI(t, "--netns", name, "ls", "-0")
	if code != 0 || !strings.Contains(out, "packet\tdgram\tip\tlo\tyes\t") || !strings.Contains(out, "packet\traw\tall\t*\tyes\t") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// TestLsMPTCP: an MPTCP listener with one connection appears with its
// states, ends and holders, each end tied to its TCP subflow by token
// (skipped when the kernel has no MPTCP, or no mptcp_diag).
func TestLsMPTCP(t *testing.T) {
	sock := func() int {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 262)
		if err != nil {
			t.Skipf("no MPTCP sockets here: %v", err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd
	}
	lfd := sock()
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(lfd, 4); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(lfd)
	port := sa.(*unix.SockaddrInet4).Port
	cfd := sock()
	if err := unix.Connect(cfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port}); err != nil {
		t.Fatal(err)
	}
	afd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(afd) })
	csa, _ := unix.Getsockname(cfd)
	client := "127.0.0.1:" + strconv.Itoa(csa.(*unix.SockaddrInet4).Port)
	server := "127.0.0.1:" + strconv.Itoa(port)

	d := runExtraJSON(t, "ls", "-M", "-p")
	for _, n := range d.Unavailable {
		if n.Family == "mptcp" {
			t.Skipf("mptcp_diag missing: %s", n.Message)
		}
	}
	want := map[uint64]struct {
		state, local, remote string
		fd                   int
	}{
		nstest.FDInode(t, lfd): {"LISTEN", server, "0.0.0.0:*", lfd},
		nstest.FDInode(t, cfd): {"ESTAB", client, server, cfd},
		nstest.FDInode(t, afd): {"ESTAB", server, client, afd},
	}
	found := 0
	for _, m := range d.MPTCP {
		w, ok := want[m.Inode]
		if !ok {
			continue
		}
		found++
		if m.State != w.state || m.Local != w.local || m.Remote != w.remote || !heldBy(m.Holders, w.fd) {
			t.Errorf("MPTCP socket %+v, want %+v held by this process", m, w)
		}
		if w.state == "ESTAB" {
			// One subflow, with the same ends: the initial one.
			if m.Token == nil || len(m.Subflows) != 1 || m.Subflows[0].Local != w.local || m.Subflows[0].Remote != w.remote || m.Subflows[0].State != "ESTAB" {
				t.Errorf("MPTCP %s->%s: token %v subflows %+v, want its one subflow", w.local, w.remote, m.Token, m.Subflows)
			}
		}
	}
	if found != 3 {
		t.Errorf("found %d of the 3 MPTCP sockets among %+v", found, d.MPTCP)
	}
}

// TestLsAbsentFamilies: SCTP, vsock and TIPC are each said in exactly one
// line, whether the kernel lacks the diag module or sockscope does not
// decode it, and never printed as an empty table.
func TestLsAbsentFamilies(t *testing.T) {
	d := runExtraJSON(t, "ls", "-S", "--vsock", "--tipc")
	got := map[string]int{}
	for _, n := range d.Unavailable {
		got[n.Family]++
		if !strings.HasPrefix(n.Message, n.Family+": ") {
			t.Errorf("note %+v does not start with its family", n)
		}
	}
	for _, f := range []string{"sctp", "vsock", "tipc"} {
		if got[f] != 1 {
			t.Errorf("%s: %d notes, want 1 (%+v)", f, got[f], d.Unavailable)
		}
	}
	out, stderr, code := runCLI(t, "ls", "-S")
	if code != 0 || out != "" || strings.Count(stderr, "sctp: ") != 1 {
		t.Errorf("ls -S: exit %d, stdout %q, stderr %q: want one line on stderr, no table", code, out, stderr)
	}
}
