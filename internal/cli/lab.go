package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockscope/sockscope/internal/lab"
	"github.com/sockscope/sockscope/render"
)

type labOptions struct {
	list    bool
	timeout time.Duration
}

func newLabCmd(g *globals) *cobra.Command {
	o := &labOptions{}
	cmd := &cobra.Command{
		Use:   "lab [--list] [NAME...]",
		Short: "Run small experiments that show, on real sockets, how ports and sockets behave",
		Long: `Each experiment builds a few sockets, prints sockscope's own view of them, and
states one claim (many sockets share a port, one listener per address and port,
...) with PASS or FAIL decided by what the kernel did: what bind, listen and
connect returned, which listener accepted a connection, which socket received a
datagram; and by what the snapshot shows. It also prints what sockscope's
bind-check and demux oracle predicted, and fails where a definite prediction
was wrong.

As root the sockets live in a private network namespace made for each
experiment and gone after it. Otherwise they live on the loopback of the
current namespace, on ports the kernel chose; TIME-WAIT sockets left there
expire within a minute. Everything else the experiment made is removed, also
when a signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) ends the run; a directory
left by a run killed with SIGKILL is removed by the next one.

With no NAME every experiment runs; --list names them with their claims.
Exit status 0 when every experiment passed (or was skipped), 1 when one failed.`,
		Example: `  sockscope lab --list
  sockscope lab
  sockscope lab reuseport time-wait
  sudo sockscope lab -o json | jq '.experiments[] | {name, result}'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLab(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.list, "list", false, "list the experiments and their claims")
	f.DurationVar(&o.timeout, "timeout", 10*time.Second, "give up on one experiment after this long")
	return cmd
}

func runLab(ctx context.Context, g *globals, o *labOptions, args []string) error {
	exps := lab.List()
	if len(args) > 0 {
		exps = exps[:0]
		for _, a := range args {
			e, ok := lab.Find(a)
			if !ok {
				return usagef("unknown experiment %q: valid names are %s", a, strings.Join(lab.Names(), ", "))
			}
			exps = append(exps, e)
		}
	}
	if o.timeout <= 0 {
		return usagef("bad --timeout %s: give a positive duration, e.g. 10s", o.timeout)
	}
	st := g.style()
	if o.list {
		if g.output == "table" {
			return render.WriteLabList(g.io.Out, exps, st)
		}
		return render.WriteLabListJSON(g.io.Out, exps, g.output == "ndjson")
	}
	var reports []lab.Report
	failed, skipped := 0, 0
	for _, e := range exps {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := lab.Run(ctx, e, lab.Options{Timeout: o.timeout})
		switch r.Result {
		case lab.Fail:
			failed++
		case lab.Skip:
			skipped++
		}
		switch g.output {
		case "table":
			if err := render.WriteLabReport(g.io.Out, r, st); err != nil {
				return err
			}
		case "ndjson":
			if err := render.WriteLabNDJSON(g.io.Out, r); err != nil {
				return err
			}
		default:
			reports = append(reports, r)
		}
	}
	switch g.output {
	case "table":
		if err := render.WriteLabSummary(g.io.Out, len(exps)-failed-skipped, failed, skipped); err != nil {
			return err
		}
	case "json":
		if err := render.WriteLabJSON(g.io.Out, reports); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &exitError{code: ExitError, err: fmt.Errorf("lab: %d of %d experiments failed", failed, len(exps))}
	}
	return nil
}
