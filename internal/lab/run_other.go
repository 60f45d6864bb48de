//go:build !linux

package lab

import (
	"context"
	"runtime"
)

func run(ctx context.Context, e Experiment, o Options) Report {
	return Report{Experiment: e, Result: Skip, Details: []string{"experiments need Linux; this is " + runtime.GOOS}}
}
