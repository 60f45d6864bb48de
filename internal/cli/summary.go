package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/render"
)

func newSummaryCmd(g *globals) *cobra.Command {
	var top int
	cmd := &cobra.Command{
		Use:   "summary",
		Short: "Count sockets by protocol and state, like ss -s, with the busiest ports and processes",
		Long: `Count the sockets of a namespace as ss -s does, from the kernel's own
counters (/proc/net/sockstat, sockstat6 and TCP's CurrEstab in /proc/net/snmp,
read inside each namespace), then what ss does not print: the sockets the
dump lists by protocol, family and state, the local ports with the most
sockets and the processes holding the most sockets.

With -A or --netns, each namespace is summarised on its own. TCP's "alloc"
and "orphan" counters are host-wide even inside a namespace, so ss's TCP
total and "closed" are too; the other numbers are the namespace's.
ls -s prints the same.`,
		Example: `  sockscope summary
  sockscope summary -A
  sockscope ls -s -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSummary(cmd.Context(), g, top)
		},
	}
	cmd.Flags().IntVar(&top, "top", sockscope.DefaultSummaryTop, "how many ports and processes to rank")
	return cmd
}

func runSummary(ctx context.Context, g *globals, top int) error {
	if top <= 0 {
		return usagef("bad --top %d: give a positive number of ports and processes to rank", top)
	}
	opts, err := g.options()
	if err != nil {
		return err
	}
	opts.Holders = true
	sum, err := sockscope.Summarize(ctx, opts, top)
	if err != nil {
		return err
	}
	if g.output == "json" || g.output == "ndjson" {
		return render.WriteSummaryJSON(g.io.Out, sum)
	}
	g.warn(&sockscope.Snapshot{Warnings: sum.Warnings})
	return render.WriteSummary(g.io.Out, sum, g.style())
}
