package cli

import (
	"context"
	"slices"

	"github.com/spf13/cobra"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/query"
	"github.com/sockscope/sockscope/render"
)

type lsOptions struct {
	tcp, udp, raw, unix bool
	listening, all      bool
	processes, extended bool
	ipv4, ipv6          bool
	details             detailFlags
	noHeader, oneLine   bool // -H and -O, registered in ls_ss.go
}

// ssDefaultStates is what ss lists without -a or -l: connected sockets,
// minus TIME-WAIT and SYN-RECV.
var ssDefaultStates = sockscope.StatesConnected &^ sockscope.StateSet(0).With(sockscope.TimeWait, sockscope.SynRecv, sockscope.NewSynRecv)

func newLsCmd(g *globals) *cobra.Command {
	o := &lsOptions{}
	var x *lsSS
	cmd := &cobra.Command{
		Use:     "ls [-tuwxlaenpim46] [--timers] [FILTER...]",
		Aliases: []string{"sockets"},
		Short:   "List every socket, one row each, like ss",
		Long: `List sockets one per row, with the flags ss users already type.

Without -a or -l, only connected sockets are listed (as ss does): not
listening, unconnected, TIME-WAIT or SYN-RECV ones. Without -t, -u, -w or -x
every protocol is listed. Without -p no holder scan is done, which is much
faster on a busy machine.

-i shows the TCP internals (struct tcp_info, the congestion control and its
state) and -m the socket memory, on a terminal in a line under each socket
as ss prints them; --timers (ss's -o; -i implies it) adds a TIMER column.
In JSON they are the tcp_info, memory and timer objects (docs/json.md).

When the output is not a terminal, rows are tab-separated with no header:
NETID STATE RECV-Q SEND-Q LOCAL PEER [TIMER] [UID INODE COOKIE CGROUP]
[PROCESS] [DETAILS].`,
		Example: `  sockscope ls -tlnp
  sockscope ls -tan state time-wait
  sockscope ls -tni dport = :443
  sockscope ls -tam --timers
  sockscope ls -x -a
  sockscope ls -tanp 'sport = :443 and not dst 127.0.0.0/8'
  sockscope ls -a -o ndjson proc nginx`,
		RunE: func(cmd *cobra.Command, args []string) error {
			args, done, err := x.run(cmd.Context(), g, o, args)
			if done {
				return err
			}
			return runLs(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	x = addLsSSFlags(f, o)
	f.BoolVarP(&o.tcp, "tcp", "t", false, "TCP sockets")
	f.BoolVarP(&o.udp, "udp", "u", false, "UDP and UDP-Lite sockets")
	f.BoolVarP(&o.raw, "raw", "w", false, "raw sockets")
	f.BoolVarP(&o.unix, "unix", "x", false, "Unix-domain sockets")
	f.BoolVarP(&o.listening, "listening", "l", false, "only listening (and unconnected) sockets")
	f.BoolVarP(&o.all, "all", "a", false, "sockets in every state")
	f.BoolVarP(&o.processes, "processes", "p", false, "show the processes that hold each socket")
	f.BoolVarP(&o.extended, "extended", "e", false, "show uid, inode, cookie, shut sides (ss's <->) and cgroup")
	o.details.add(f)
	f.BoolVarP(&o.ipv4, "ipv4", "4", false, "only IPv4 sockets")
	f.BoolVarP(&o.ipv6, "ipv6", "6", false, "only IPv6 sockets")
	return cmd
}

func (o *lsOptions) apply(opts *sockscope.Options, flt *query.Filter) {
	if o.tcp {
		opts.Protos = append(opts.Protos, sockscope.TCP)
	}
	if o.udp {
		opts.Protos = append(opts.Protos, sockscope.UDP, sockscope.UDPLite)
	}
	if o.raw {
		opts.Protos = append(opts.Protos, sockscope.Raw)
	}
	if o.unix {
		opts.Protos = append(opts.Protos, sockscope.Unix)
	}
	if o.ipv4 || o.ipv6 {
		if o.ipv4 {
			opts.Families = append(opts.Families, sockscope.FamilyInet)
		}
		if o.ipv6 {
			opts.Families = append(opts.Families, sockscope.FamilyInet6)
		}
		if len(opts.Protos) == 0 {
			// -4/-6 alone mean inet sockets, as in ss.
			opts.Protos = []sockscope.Proto{sockscope.TCP, sockscope.UDP, sockscope.UDPLite, sockscope.Raw}
		}
	}
	switch {
	case o.all:
		opts.States = sockscope.AllStates
	case o.listening:
		opts.States = sockscope.StateSet(0).With(sockscope.Listen, sockscope.Close)
	default:
		opts.States = ssDefaultStates
	}
	// A state clause in the filter replaces the default, as in ss.
	if flt != nil && flt.States() != sockscope.AllStates {
		st := flt.States()
		if o.listening {
			st &= opts.States
		}
		opts.States = st
	}
	opts.Holders = o.processes || (flt != nil && flt.NeedsHolders())
	o.details.extended = o.extended
	o.details.options(opts)
}

func runLs(ctx context.Context, g *globals, o *lsOptions, args []string) error {
	flt, opts, err := g.filterOptions(args)
	if err != nil {
		return err
	}
	o.apply(&opts, flt)
	// The table shows a peer only for Unix sockets (the peer's path); JSON
	// carries peers for every socket.
	opts.NoPeers = g.output == "table" && len(opts.Protos) > 0 && !slices.Contains(opts.Protos, sockscope.Unix)
	// The table shows no reuse flags or bind buckets: where auto uses
	// BPF it is for the holder scan alone (--source bpf reads them).
	opts.SkipFlags = g.output == "table"
	snap, err := g.collect(ctx, opts)
	if err != nil {
		return err
	}
	filterSockets(snap, flt)
	return g.writeSockets(snap.Sockets, snap, func(st *render.Style) {
		st.Processes = o.processes
		st.Extended = o.extended
		o.details.style(st)
		st.NoHeader, st.OneLine = o.noHeader, o.oneLine
	})
}

// writeSockets prints a socket list in the chosen output format, with the
// snapshot's warnings (on stderr for tables, in the document for JSON).
func (g *globals) writeSockets(socks []*sockscope.Socket, snap *sockscope.Snapshot, style func(*render.Style)) error {
	g.warn(snap)
	switch g.output {
	case "json":
		return render.WriteSocketsJSON(g.io.Out, socks, snap.Warnings)
	case "ndjson":
		return render.WriteSocketsNDJSON(g.io.Out, socks)
	}
	st := g.style()
	style(&st)
	return render.WriteSockets(g.io.Out, socks, st)
}
