package cli

import (
	"context"

	"github.com/sockscope/sockscope"

	"github.com/spf13/pflag"
)

// lsSS holds the ls flags that come from ss and change what ls does
// altogether: -s prints a summary instead of a list.
type lsSS struct {
	summary bool
	kill    bool
	killOpt killOptions
}

// addLsSSFlags registers ss's summary flag on ls.
func addLsSSFlags(f *pflag.FlagSet) *lsSS {
	x := &lsSS{}
	f.BoolVarP(&x.summary, "summary", "s", false, "print a summary (as ss -s; see sockscope summary)")
	f.BoolVarP(&x.kill, "kill", "K", false, "close the sockets selected (as ss -K; see sockscope kill)")
	x.killOpt.flags(f, false)
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
	if x.killOpt != (killOptions{}) {
		return true, usagef("--yes, --dry-run and --listeners go with -K (close sockets): add -K, or use sockscope kill")
	}
	return false, nil
}
