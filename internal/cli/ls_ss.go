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
}

// addLsSSFlags registers ss's summary flag on ls.
func addLsSSFlags(f *pflag.FlagSet) *lsSS {
	x := &lsSS{}
	f.BoolVarP(&x.summary, "summary", "s", false, "print a summary (as ss -s; see sockscope summary)")
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
	return false, nil
}
