package sysenv

import (
	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
)

var _ demux.FlagFunc = ReadFlags

// ReadFlags reads SO_REUSEADDR, SO_REUSEPORT and IPV6_V6ONLY of a socket:
// those the snapshot read through BPF when it has them, else through one
// of its holders (docs/kernel.md O3): pidfd_open(2) on the holder's
// process, pidfd_getfd(2) to duplicate its file descriptor, getsockopt(2) on
// the duplicate, which is then closed. It only reads; the socket is not
// changed. The duplicate is used only if its inode is the socket's.
//
// It needs ptrace access to the holder (same uid without restrictions, or
// CAP_SYS_PTRACE). Fields it cannot read are Unknown: no holder (TIME-WAIT
// sockets, orphans), no permission, the process or fd gone, or a kernel
// without pidfd_getfd (5.6+). The holder must be in a PID namespace the
// caller can address with the PID the snapshot recorded.
func ReadFlags(s *sockscope.Socket) demux.Flags {
	// Read through BPF (SourceBPF) from the socket itself: known for
	// every TCP and UDP socket, TIME-WAIT sockets and orphans included.
	if s != nil && (s.ReuseAddr != sockscope.Unknown || s.ReusePort != sockscope.Unknown) {
		f := demux.Flags{ReuseAddr: s.ReuseAddr, ReusePort: s.ReusePort}
		if s.Family == sockscope.FamilyInet6 {
			f.V6Only = s.V6Only
		}
		return f
	}
	if s == nil || s.Inode == 0 {
		return demux.Flags{}
	}
	for _, h := range s.Holders {
		if h.Proc == nil || h.Proc.PID <= 0 || h.FD < 0 {
			continue
		}
		if f, ok := readFlags(h.Proc.PID, h.FD, s); ok {
			return f
		}
	}
	return demux.Flags{}
}

func readFlags(pid, fd int, s *sockscope.Socket) (demux.Flags, bool) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return demux.Flags{}, false
	}
	defer unix.Close(pidfd)
	dup, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return demux.Flags{}, false
	}
	defer unix.Close(dup)
	var st unix.Stat_t
	if err := unix.Fstat(dup, &st); err != nil || st.Ino != s.Inode || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return demux.Flags{}, false
	}
	var f demux.Flags
	if v, err := unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_REUSEADDR); err == nil {
		f.ReuseAddr = sockscope.TristateOf(v != 0)
	}
	if v, err := unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_REUSEPORT); err == nil {
		f.ReusePort = sockscope.TristateOf(v != 0)
	}
	if s.Family == sockscope.FamilyInet6 {
		if v, err := unix.GetsockoptInt(dup, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); err == nil {
			f.V6Only = sockscope.TristateOf(v != 0)
		}
	}
	return f, true
}
