// Command sockscope-serve is sockscope with the HTTP server of 'sockscope
// serve' linked in: the live page, the JSON API and Prometheus metrics.
//
// 'sockscope serve' runs it (found beside sockscope, else on PATH) with its
// own arguments, so that sockscope itself stays small and starts fast; it
// takes every sockscope command line, e.g. 'sockscope-serve serve -A'.
package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/sockscope/sockscope/internal/cli"
	"github.com/sockscope/sockscope/internal/server"
)

func main() {
	// As in cmd/sockscope: a write to a closed pipe is EPIPE, not a signal.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	os.Exit(cli.RunServe(server.Command{}))
}
