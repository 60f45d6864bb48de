package sockscope

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

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

// TestAttachHoldersCauses (issue 15 item 7): the warning on hidden
// holders names what hid them: permission only when processes were
// denied, the scan's time limit when it was reached, processes that did
// not answer; a cancelled scan names no cause (the caller was
// interrupted and says so).
func TestAttachHoldersCauses(t *testing.T) {
	denied := "2 processes could not be inspected (run as root to see them)"
	if os.Geteuid() == 0 {
		denied = "2 processes are not readable even by root (non-dumpable, or in another user namespace)"
	}
	limit := "the holder scan stopped after 5s, its time limit (--holders-timeout)"
	for _, tt := range []struct {
		name     string
		denied   int
		timedOut []int
		err      error
		kind     WarningKind
		msg      string // "" for no hidden-holders warning
	}{
		{"time limit", 0, nil, context.DeadlineExceeded, WarnTimeout, "1 socket's holders are hidden: " + limit},
		{"cancelled", 0, nil, context.Canceled, "", ""},
		{"slow process", 0, []int{7}, nil, WarnTimeout, "1 socket's holders are hidden: 1 process did not answer in time"},
		{"denied and time limit", 2, nil, context.DeadlineExceeded, WarnPermission, "1 socket's holders are hidden: " + denied + "; " + limit},
	} {
		snap := &Snapshot{Sockets: []*Socket{{Inode: 10}, {Inode: 11}}}
		res := &holders.Result{Procs: []holders.Proc{{PID: 5, Comm: "srv"}}, Refs: []holders.Ref{{Inode: 10, Proc: 0, FD: 3}},
			Denied: tt.denied, TimedOut: tt.timedOut}
		attachHolders(snap, res, tt.err, 5*time.Second, t.TempDir(), map[string]string{})
		if snap.HiddenHolders != 1 || !snap.Sockets[1].HoldersHidden {
			t.Errorf("%s: hidden %d; want inode 11 hidden", tt.name, snap.HiddenHolders)
		}
		var got *Warning
		for i, w := range snap.Warnings {
			if strings.Contains(w.Msg, "holders are hidden") {
				got = &snap.Warnings[i]
			}
			if tt.denied == 0 && (strings.Contains(w.Msg, "root") || strings.Contains(w.Msg, "inspected") || w.Kind == WarnPermission) {
				t.Errorf("%s: a warning blames permissions: %+v", tt.name, w)
			}
		}
		switch {
		case tt.msg == "" && got != nil:
			t.Errorf("%s: warning %+v, want none on hidden holders", tt.name, *got)
		case tt.msg != "" && (got == nil || got.Msg != tt.msg || got.Kind != tt.kind || got.Count != 1):
			t.Errorf("%s: warnings %+v, want %s %q", tt.name, snap.Warnings, tt.kind, tt.msg)
		}
	}
}
