package sockdiag

import (
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDumpTCPInfoMatchesGetsockopt: the tcp_info, congestion control and
// buffer sizes a dump with idiag_ext returns for a connection equal what
// getsockopt says on the socket itself.
func TestDumpTCPInfoMatchesGetsockopt(t *testing.T) {
	_, cl, srv := tcpPair(t, "tcp4", "127.0.0.1:0")
	const n = 5000
	if _, err := cl.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(srv, make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	fd := func(c net.Conn) (fd int) {
		rc, err := c.(syscall.Conn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		rc.Control(func(f uintptr) { fd = int(f) })
		return fd
	}(cl)
	local, remote := addrPort(cl.LocalAddr()), addrPort(cl.RemoteAddr())

	c := dial(t)
	var got TCPInfo
	var cong string
	var mem MemInfo
	found := 0
	req := InetRequest{Family: unix.AF_INET, Protocol: ProtoTCP, Ext: ExtInfo | ExtCong | ExtSKMemInfo, SPort: local.Port(), DPort: remote.Port()}
	// The connection is idle, but an ACK may still be in flight: read
	// both sides until bytes_acked settles, a bounded number of times.
	var want *unix.TCPInfo
	for try := 0; try < 50; try++ {
		found = 0
		err := c.DumpInet(req, func(r *InetRecord) error {
			if r.Src != local.Addr() || r.SrcPort != local.Port() || r.Dst != remote.Addr() || r.DstPort != remote.Port() {
				return nil
			}
			found++
			DecodeTCPInfo(r.Info, &got)
			cong = string(r.Cong)
			mem = DecodeMemInfo(r.SKMemInfo)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want, err = unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO); err != nil {
			t.Fatal(err)
		}
		if found == 1 && got.BytesAcked == want.Bytes_acked && got.Unacked == 0 {
			break
		}
	}
	if found != 1 {
		t.Fatalf("the dump returned %d records for %s", found, local)
	}
	if got.Size != unix.SizeofTCPInfo {
		t.Errorf("INET_DIAG_INFO of %d bytes, getsockopt's struct has %d", got.Size, unix.SizeofTCPInfo)
	}
	for _, f := range []struct {
		name      string
		got, want uint64
	}{
		{"state", uint64(got.State), uint64(want.State)},
		{"options", uint64(got.Options), uint64(want.Options)},
		{"snd_mss", uint64(got.SndMSS), uint64(want.Snd_mss)},
		{"rcv_mss", uint64(got.RcvMSS), uint64(want.Rcv_mss)},
		{"advmss", uint64(got.AdvMSS), uint64(want.Advmss)},
		{"pmtu", uint64(got.PMTU), uint64(want.Pmtu)},
		{"snd_cwnd", uint64(got.SndCwnd), uint64(want.Snd_cwnd)},
		{"snd_ssthresh", uint64(got.SndSsthresh), uint64(want.Snd_ssthresh)},
		{"reordering", uint64(got.Reordering), uint64(want.Reordering)},
		{"bytes_sent", got.BytesSent, want.Bytes_sent},
		{"bytes_acked", got.BytesAcked, want.Bytes_acked},
		{"bytes_received", got.BytesReceived, want.Bytes_received},
		{"segs_out", uint64(got.SegsOut), uint64(want.Segs_out)},
		{"segs_in", uint64(got.SegsIn), uint64(want.Segs_in)},
		{"data_segs_out", uint64(got.DataSegsOut), uint64(want.Data_segs_out)},
		{"snd_wnd", uint64(got.SndWnd), uint64(want.Snd_wnd)},
		{"rcv_wnd", uint64(got.RcvWnd), uint64(want.Rcv_wnd)},
		{"total_retrans", uint64(got.TotalRetrans), uint64(want.Total_retrans)},
		{"bytes_sent is what was written", got.BytesSent, n},
	} {
		if f.got != f.want {
			t.Errorf("%s: dump %d, getsockopt %d", f.name, f.got, f.want)
		}
	}
	if wantCong, err := unix.GetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION); err != nil || cong != strings.TrimRight(wantCong, "\x00") {
		t.Errorf("congestion %q, getsockopt TCP_CONGESTION %q (%v)", cong, wantCong, err)
	}
	for _, o := range []struct {
		name string
		opt  int
		got  uint32
	}{{"rcvbuf", unix.SO_RCVBUF, mem.Rcvbuf}, {"sndbuf", unix.SO_SNDBUF, mem.Sndbuf}} {
		if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, o.opt); err != nil || uint32(v) != o.got {
			t.Errorf("skmem %s %d, getsockopt %d (%v)", o.name, o.got, v, err)
		}
	}
	if mem.N < 9 {
		t.Errorf("SKMEMINFO carried %d values, want the 9 of Linux 4.x+", mem.N)
	}

	// Asking for the extensions keeps a dump free of allocations.
	for range 20 {
		tcpPair(t, "tcp4", "127.0.0.1:0")
	}
	req.SPort, req.DPort = 0, 0
	count := 0
	if allocs := testing.AllocsPerRun(10, func() {
		count = 0
		if err := c.DumpInet(req, func(r *InetRecord) error {
			count++
			DecodeTCPInfo(r.Info, &got)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}); count < 60 || allocs != 0 {
		t.Errorf("DumpInet with tcp_info of %d sockets: %v allocs, want 0", count, allocs)
	}
}
