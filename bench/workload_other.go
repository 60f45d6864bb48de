//go:build !linux

package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"
)

const holderArg = "__holder"

type workload struct {
	nsPath string
	setup  time.Duration
}

func startWorkload(context.Context, string, int, int, int) (*workload, error) {
	return nil, fmt.Errorf("bench: not supported on %s", runtime.GOOS)
}

func (w *workload) close() error { return nil }

func holderMain([]string) int { return 1 }

func reexecPrivate() (int, bool) { return 0, false }

func benchNetNS(context.Context, config, string, *report) error {
	return fmt.Errorf("bench: not supported on %s", runtime.GOOS)
}

func holdNetNS(context.Context, config) error {
	return fmt.Errorf("bench: not supported on %s", runtime.GOOS)
}

// peakRSS is not measured outside Linux.
func peakRSS(*os.ProcessState) int64 { return 0 }

func holdersFor(cfg config, n int) (procs, listeners int, note string) {
	listeners = cfg.listeners
	if listeners <= 0 {
		listeners = cfg.procs
	}
	return cfg.procs, min(listeners, n), ""
}
