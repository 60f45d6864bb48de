package sockscope

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sockscope/sockscope/internal/holders"
)

// defaultHolderTimeout bounds the holder scan when Options.HolderTimeout
// is 0.
const defaultHolderTimeout = 5 * time.Second

// holderScan is the holder scan running beside the dumps.
type holderScan struct {
	wg    sync.WaitGroup
	start time.Time
	res   *holders.Result
	err   error
}

// startHolderScan starts the scan of /proc/*/fd when opts asks for
// holders, bounded by opts.HolderTimeout; it returns nil otherwise. With
// fds (read by iter/task_file) it reads only the holders' metadata.
func startHolderScan(ctx context.Context, opts Options, procRoot string, fds map[int][]holders.SocketFD) *holderScan {
	if !opts.Holders {
		return nil
	}
	timeout := opts.HolderTimeout
	if timeout <= 0 {
		timeout = defaultHolderTimeout
	}
	hs := &holderScan{start: time.Now()}
	hs.wg.Add(1)
	go func() {
		defer hs.wg.Done()
		hctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		hs.res, hs.err = holders.Scan(hctx, holders.Options{Root: procRoot, SocketFDs: fds})
	}()
	return hs
}

// wait waits for the scan and returns its result, how long it took and
// its error. It is safe on a nil scan.
func (hs *holderScan) wait() (*holders.Result, time.Duration, error) {
	if hs == nil {
		return nil, 0, nil
	}
	hs.wg.Wait()
	return hs.res, time.Since(hs.start), hs.err
}

// attachHolders joins the holder scan to the sockets by inode.
func attachHolders(snap *Snapshot, res *holders.Result, err error, took time.Duration, procRoot string, names map[string]string) {
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
	var slab []Holder
	for _, s := range snap.Sockets {
		s.HoldersScanned = true
		if s.Inode == 0 {
			continue
		}
		refs := res.Holders(s.Inode)
		if len(refs) == 0 {
			if partial {
				s.HoldersHidden = true
				hidden++
			}
			continue
		}
		// Holders come from slabs: one allocation per 4096, not per socket.
		if len(slab) < len(refs) {
			slab = make([]Holder, max(4096, len(refs)))
		}
		s.Holders = slab[:len(refs):len(refs)]
		slab = slab[len(refs):]
		for i, r := range refs {
			s.Holders[i] = Holder{Proc: &procs[r.Proc], FD: int(r.FD)}
		}
		if len(refs) > 1 {
			slices.SortFunc(s.Holders, func(a, b Holder) int {
				if a.PID() != b.PID() {
					return a.PID() - b.PID()
				}
				return a.FD - b.FD
			})
		}
	}
	snap.HiddenHolders = hidden
	snap.ExitedProcesses = res.Vanished
	stopped := err != nil && !errors.Is(err, context.Canceled) // the scan's time limit
	// Each cause of hidden holders is named, never guessed: permission
	// only when processes were denied, the time limit only when it was
	// reached. A scan cancelled by the caller (an interrupt) names none:
	// the run did not finish, which the caller reports.
	var causes []string
	kind := WarnPermission
	if res.Denied > 0 {
		procs, are := "processes", "are"
		if res.Denied == 1 {
			procs, are = "process", "is"
		}
		if os.Geteuid() == 0 {
			causes = append(causes, fmt.Sprintf("%d %s %s not readable even by root (non-dumpable, or in another user namespace)", res.Denied, procs, are))
		} else {
			causes = append(causes, fmt.Sprintf("%d %s could not be inspected (run as root to see them)", res.Denied, procs))
		}
	}
	if stopped {
		if len(causes) == 0 {
			kind = WarnTimeout
		}
		causes = append(causes, fmt.Sprintf("the holder scan stopped after %s, its time limit (--holders-timeout)", took.Round(time.Millisecond)))
	}
	if len(res.TimedOut) > 0 {
		if len(causes) == 0 {
			kind = WarnTimeout
		}
		causes = append(causes, fmt.Sprintf("%d %s did not answer in time", len(res.TimedOut), pluralWord(len(res.TimedOut), "process", "processes")))
	}
	if hidden > 0 && len(causes) > 0 {
		socks := "sockets' holders are"
		if hidden == 1 {
			socks = "socket's holders are"
		}
		snap.Warnings = append(snap.Warnings, Warning{Kind: kind, Count: hidden, Msg: fmt.Sprintf("%d %s hidden: %s", hidden, socks, strings.Join(causes, "; "))})
	}
	if res.Failed > 0 {
		snap.Warnings = append(snap.Warnings, Warning{Kind: WarnHolders, Count: res.Failed,
			Msg: fmt.Sprintf("%d %s could not be read: %v", res.Failed, pluralWord(res.Failed, "process", "processes"), res.FailErr)})
	}
	if len(res.TimedOut) > 0 {
		snap.Warnings = append(snap.Warnings, Warning{Kind: WarnTimeout, Count: len(res.TimedOut),
			Msg: fmt.Sprintf("%d processes did not answer within the time bound and were skipped (pids %v)", len(res.TimedOut), firstN(res.TimedOut, 8))})
	}
	if stopped && hidden == 0 {
		snap.Warnings = append(snap.Warnings, Warning{Kind: WarnTimeout, Count: 1, Msg: fmt.Sprintf("the holder scan stopped after %s, its time limit (--holders-timeout): %v", took.Round(time.Millisecond), err)})
	}
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func firstNames(x []string, n int) []string {
	if len(x) > n {
		return append(x[:n:n], fmt.Sprintf("and %d more", len(x)-n))
	}
	return x
}

func firstN(x []int, n int) []int {
	if len(x) > n {
		return x[:n]
	}
	return x
}
