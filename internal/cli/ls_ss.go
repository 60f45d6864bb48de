package cli

import (
	"context"
	"fmt"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/render"

	"github.com/spf13/pflag"
)

// lsSS holds the ls flags that come from ss and change what ls does
// altogether: -s prints a summary instead of a list.
type lsSS struct {
	summary bool
	kill    bool
	killOpt killOptions
	// The families ls lists apart from the inet and Unix tables.
	packet, netlink, mptcp, sctp, vsock, tipc bool
}

// families returns the extra families asked for, in a fixed order.
func (x *lsSS) families() []sockscope.ExtraFamily {
	var fs []sockscope.ExtraFamily
	for _, f := range []struct {
		on bool
		f  sockscope.ExtraFamily
	}{{x.packet, sockscope.ExtraPacket}, {x.netlink, sockscope.ExtraNetlink}, {x.mptcp, sockscope.ExtraMPTCP},
		{x.sctp, sockscope.ExtraSCTP}, {x.vsock, sockscope.ExtraVsock}, {x.tipc, sockscope.ExtraTIPC}} {
		if f.on {
			fs = append(fs, f.f)
		}
	}
	return fs
}

// addLsSSFlags registers ss's summary flag on ls.
func addLsSSFlags(f *pflag.FlagSet) *lsSS {
	x := &lsSS{}
	f.BoolVarP(&x.summary, "summary", "s", false, "print a summary (as ss -s; see sockscope summary)")
	f.BoolVarP(&x.kill, "kill", "K", false, "close the sockets selected (as ss -K; see sockscope kill)")
	x.killOpt.flags(f, false)
	f.BoolVarP(&x.packet, "packet", "0", false, "packet sockets (packet_diag): interface, protocol, holders")
	f.BoolVar(&x.netlink, "netlink", false, "netlink sockets (netlink_diag): protocol, port id, groups, holders")
	f.BoolVarP(&x.mptcp, "mptcp", "M", false, "MPTCP sockets (mptcp_diag)")
	f.BoolVarP(&x.sctp, "sctp", "S", false, "SCTP sockets (says whether the kernel has sctp_diag)")
	f.BoolVar(&x.vsock, "vsock", false, "vsock sockets (says whether the kernel has vsock_diag)")
	f.BoolVar(&x.tipc, "tipc", false, "TIPC sockets (says whether the kernel has tipc_diag)")
	return x
}

// run handles the flags that replace the listing; handled is false when
// none of them was given and ls lists as usual.
func (x *lsSS) run(ctx context.Context, g *globals, o *lsOptions, args []string) (handled bool, err error) {
	if x.summary {
		if len(args) > 0 {
			return true, usagef("ls -s counts every socket and takes no filter: drop %q, or list with ls and the filter", args[0])
		}
		return true, runSummary(ctx, g, sockscope.DefaultSummaryTop)
	}
	if x.kill {
		flt, opts, err := g.filterOptions(args)
		if err != nil {
			return true, err
		}
		o.apply(&opts, flt)
		if len(opts.Protos) == 0 {
			opts.Protos = []sockscope.Proto{sockscope.TCP, sockscope.UDP, sockscope.UDPLite}
		}
		return true, runKill(ctx, g, &x.killOpt, opts, flt)
	}
	if fams := x.families(); len(fams) > 0 {
		return true, runLsExtra(ctx, g, o, x, fams, args)
	}
	if x.killOpt != (killOptions{}) {
		return true, usagef("--yes, --dry-run and --listeners go with -K (close sockets): add -K, or use sockscope kill")
	}
	return false, nil
}

// runLsExtra lists the extra families; with -t, -u, -w or -x as well, the
// usual list comes first (tables only).
func runLsExtra(ctx context.Context, g *globals, o *lsOptions, x *lsSS, fams []sockscope.ExtraFamily, args []string) error {
	if x.summary || x.kill {
		return usagef("-s and -K do not combine with --packet, --netlink, -M, -S, --vsock or --tipc")
	}
	if len(args) > 0 {
		return usagef("filters apply to inet and Unix sockets: drop %q with --packet, --netlink, -M, -S, --vsock or --tipc", args[0])
	}
	both := o.tcp || o.udp || o.raw || o.unix
	if both && g.output != "table" {
		return usagef("-o %s prints one document: list --packet, --netlink, -M, -S, --vsock or --tipc without -t, -u, -w or -x", g.output)
	}
	opts, err := g.options()
	if err != nil {
		return err
	}
	opts.Holders = o.processes
	snap, err := sockscope.CollectExtra(ctx, opts, fams)
	if err != nil {
		return err
	}
	if both {
		if err := runLs(ctx, g, o, nil); err != nil {
			return err
		}
		if g.io.OutTTY {
			fmt.Fprintln(g.io.Out)
		}
	}
	if g.output != "table" {
		return render.WriteExtraJSON(g.io.Out, snap, fams)
	}
	g.warn(&sockscope.Snapshot{Warnings: snap.Warnings})
	for _, n := range snap.Notes {
		fmt.Fprintf(g.io.ErrOut, "sockscope: note: %s\n", render.Sanitize(n.Msg))
	}
	st := g.style()
	st.Processes = o.processes
	return render.WriteExtra(g.io.Out, snap, fams, st)
}
