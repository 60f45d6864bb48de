// Command sockscope shows a Linux machine's ports, sockets, connections and
// the processes that hold them. See 'sockscope --help'.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sockscope/sockscope/internal/cli"
)

func main() {
	// Asking for SIGPIPE turns a write to a closed pipe into EPIPE, which the
	// CLI treats as "the reader is done" and exits quietly.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.System())
	stop()
	os.Exit(code)
}
