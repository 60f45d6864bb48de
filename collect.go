package sockscope

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/sockscope/sockscope/internal/holders"
)

// Collect reads the socket table(s) that opts selects and returns one
// Snapshot. Holders are scanned concurrently with the dumps, once for the
// whole host. Collect returns an error only when nothing could be read or
// ctx ended; partial results (permission, processes that exited,
// namespaces that could not be entered) are reported in Snapshot.Warnings.
//
// The stages run in order: select the namespaces (namespaces.go), read
// each one's inet and Unix tables (read.go, inet.go, unixsock.go) into a
// builder (builder.go) while the holder scan runs, join the holders
// (holders.go), pair local peers (peers.go) and sort (sort.go). Every stage
// checks ctx: between namespaces, between dumps and every few hundred
// sockets within one. Errors are *OpError; when ctx ends the error wraps
// ctx.Err().
func Collect(ctx context.Context, opts Options) (*Snapshot, error) {
	if runtime.GOOS != "linux" {
		return nil, &OpError{Op: "collect", Err: fmt.Errorf("%w on %s", ErrNotSupported, runtime.GOOS)}
	}
	if err := ctx.Err(); err != nil {
		return nil, &OpError{Op: "collect", Err: err}
	}
	procRoot := opts.ProcRoot
	if procRoot == "" {
		procRoot = "/proc"
	}
	snap := &Snapshot{Taken: time.Now(), Source: SourceNetlink}
	if opts.Source == SourceProc {
		snap.Source = SourceProc
	}

	spaces, release, err := selectNetNS(ctx, opts, procRoot, snap)
	defer release()
	if err != nil {
		return nil, &OpError{Op: "select namespaces", Err: err}
	}
	names := map[string]string{} // container ID -> name
	labelTargets(ctx, spaces, procRoot, names)

	// BPF iterators (SourceBPF) add flags and bind buckets, and list
	// the socket fds the holder scan would otherwise read from /proc.
	bp, unload, warn := openBPF(opts, procRoot)
	defer unload()
	var fromBPF *bpfRead
	if warn != nil {
		snap.Warnings = append(snap.Warnings, *warn)
	}
	if bp != nil {
		snap.Source = SourceBPF
		if fromBPF, err = readBPF(ctx, bp, spaces, opts); err != nil {
			return nil, err
		}
	}

	// The holder scan runs beside the dumps, and stops if they fail.
	hctx, stopScan := context.WithCancel(ctx)
	defer stopScan()
	var fds map[int][]holders.SocketFD
	if fromBPF != nil {
		fds = fromBPF.fds
	}
	scan := startHolderScan(hctx, opts, procRoot, fds)

	b := newBuilder(opts)
	if err := b.readSpaces(ctx, spaces, snap); err != nil {
		stopScan()
		scan.wait()
		return nil, err
	}
	b.finish()
	snap.Sockets = b.sockets
	applyBPF(snap, bp, fromBPF)
	nameDevices(snap.Sockets, spaces)
	if opts.Cgroups {
		resolveCgroups(snap.Sockets)
	}

	if scan != nil {
		res, took, herr := scan.wait()
		if err := ctx.Err(); err != nil {
			return nil, &OpError{Op: "scan holders", Err: err}
		}
		attachHolders(snap, res, herr, took, procRoot, names)
	}
	if err := ctx.Err(); err != nil {
		return nil, &OpError{Op: "collect", Err: err}
	}
	labelPods(snap.NetNS, "")
	// Peers are paired while the sort runs: neither needs the other.
	var pair func()
	if !opts.NoPeers {
		pair = func() { linkPeers(snap.Sockets) }
	}
	sortSocketsAlongside(snap.Sockets, pair)
	return snap, nil
}
