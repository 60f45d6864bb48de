package sockscope

import (
	"os"
	"testing"

	"github.com/sockscope/sockscope/internal/holders"
)

// TestAttachHoldersExited: processes that exited during the scan are
// counted quietly in ExitedProcesses; they hide no holder and raise no
// warning. Processes that could not be inspected still do.
func TestAttachHoldersExited(t *testing.T) {
	socks := func() *Snapshot {
		return &Snapshot{Sockets: []*Socket{{Inode: 10}, {Inode: 11}}}
	}
	res := &holders.Result{
		Procs:    []holders.Proc{{PID: 5, Comm: "srv"}},
		Refs:     []holders.Ref{{Inode: 10, Proc: 0, FD: 3}},
		Vanished: 2,
	}
	snap := socks()
	attachHolders(snap, res, nil, 0, t.TempDir(), map[string]string{})
	if snap.ExitedProcesses != 2 || snap.HiddenHolders != 0 || len(snap.Warnings) != 0 {
		t.Errorf("exited %d, hidden %d, warnings %v; want 2, 0, none", snap.ExitedProcesses, snap.HiddenHolders, snap.Warnings)
	}
	if h := snap.Sockets[0].Holders; len(h) != 1 || h[0].PID() != 5 || h[0].FD != 3 {
		t.Errorf("holders of inode 10 = %+v, want pid 5 fd 3", h)
	}
	if snap.Sockets[1].HoldersHidden {
		t.Error("inode 11 marked hidden although no process was denied")
	}

	res.Denied = 1
	snap = socks()
	attachHolders(snap, res, nil, 0, t.TempDir(), map[string]string{})
	if snap.HiddenHolders != 1 || !snap.Sockets[1].HoldersHidden || len(snap.Warnings) != 1 || snap.Warnings[0].Kind != WarnPermission {
		t.Fatalf("with one denied process: hidden %d, warnings %v; want 1 and one permission warning", snap.HiddenHolders, snap.Warnings)
	}
	want := "1 socket's holders are hidden: 1 process could not be inspected (run as root to see them)"
	if os.Geteuid() == 0 {
		want = "1 socket's holders are hidden: 1 process is not readable even by root (non-dumpable, or in another user namespace)"
	}
	if got := snap.Warnings[0].Msg; got != want {
		t.Errorf("warning = %q, want %q", got, want)
	}
}
