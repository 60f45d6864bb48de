package cli

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
	"github.com/sockscope/sockscope/internal/sysenv"
	"github.com/sockscope/sockscope/query"
	"github.com/sockscope/sockscope/render"
	"github.com/sockscope/sockscope/views"
)

// filterSockets keeps the sockets the filter matches (all when nil).
func filterSockets(snap *sockscope.Snapshot, flt *query.Filter) {
	if flt == nil {
		return
	}
	kept := snap.Sockets[:0:0]
	for _, s := range snap.Sockets {
		if flt.Match(s) {
			kept = append(kept, s)
		}
	}
	snap.Sockets = kept
}

// runPorts prints the default, port-first view.
func runPorts(ctx context.Context, g *globals, args []string) error {
	flt, opts, err := g.filterOptions(args)
	if err != nil {
		return err
	}
	opts.Holders = true
	if flt != nil {
		opts.States = flt.States()
	}
	// The view shows the bind flags of listeners (UDP: unconnected),
	// bound-only and TIME-WAIT sockets, and no other socket's.
	opts.FlagStates = views.FlagStates
	snap, err := g.collect(ctx, opts)
	if err != nil {
		return err
	}
	filterSockets(snap, flt)
	st := g.style()
	v := views.BuildPorts(snap, st.Services)
	g.warn(snap)
	switch g.output {
	case "json":
		return render.WritePortsJSON(g.io.Out, v)
	case "ndjson":
		return render.WriteSocketsNDJSON(g.io.Out, snap.Sockets)
	}
	return render.WritePorts(g.io.Out, v, st)
}

func newPortCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "port [PROTO/]PORT [FILTER...]",
		Short: "Everything about one port: listeners, holders, the sockets that share it",
		Long: `Everything about one port: what listens on it and who holds the listener,
every socket that shares the port as its local port, and a few sentences
on what a new connection to it would reach. PORT is a number or a service
name; PROTO (tcp, udp, udplite) limits it to one protocol.

'sockscope :PORT' is a short form.`,
		Example: `  sockscope port 8080
  sockscope port udp/53
  sockscope :https`,
		Args: needArgs(1, "port needs a port number or service name: sockscope port 443, sockscope port udp/53 or sockscope :443"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPort(cmd.Context(), g, args[0], args[1:])
		},
	}
}

func runPort(ctx context.Context, g *globals, arg string, rest []string) error {
	proto, num, err := parsePort(arg)
	if err != nil {
		return err
	}
	flt, opts, err := g.filterOptions(rest)
	if err != nil {
		return err
	}
	opts.Holders = true
	opts.LocalPort = num
	if proto != 0 {
		opts.Protos = []sockscope.Proto{proto}
	} else {
		opts.Protos = []sockscope.Proto{sockscope.TCP, sockscope.UDP, sockscope.UDPLite}
	}
	snap, err := g.collect(ctx, opts)
	if err != nil {
		return err
	}
	full := *snap // every socket on the port (Collect asked the kernel for it alone), for the explanation
	filterSockets(snap, flt)
	kept := snap.Sockets
	g.warn(snap)
	st := g.style()
	switch g.output {
	case "json":
		return render.WritePortsJSON(g.io.Out, views.BuildPorts(snap, st.Services))
	case "ndjson":
		return render.WriteSocketsNDJSON(g.io.Out, snap.Sockets)
	}
	out := g.io.Out
	if len(kept) == 0 {
		name := strconv.Itoa(int(num))
		if proto != 0 {
			name = proto.String() + "/" + name
		}
		fmt.Fprintf(out, "Nothing uses port %s: no socket has it as its local port, so a bind to it would not conflict with anything here.\n", name)
		return nil
	}
	var explain []string
	if st.TTY {
		var protos []sockscope.Proto
		for _, s := range kept {
			if !slices.Contains(protos, s.Proto) {
				protos = append(protos, s.Proto)
			}
		}
		for _, p := range protos {
			// The explanation reads hidden socket options where it may.
			explain = append(explain, demux.AnalyzePort(&full, sockscope.Port{Proto: p, Num: num}, sysenv.ReadFlags).Sentences()...)
		}
	}
	return render.WritePort(out, explain, views.BuildPorts(snap, st.Services), snap.Sockets, st)
}
