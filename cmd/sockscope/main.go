// Command sockscope shows a Linux machine's ports, sockets, connections and
// the processes that hold them. See 'sockscope --help'.
package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/sockscope/sockscope/internal/cli"
)

func main() {
	// Asking for SIGPIPE turns a write to a closed pipe into EPIPE, which the
	// CLI treats as "the reader is done" and exits quietly.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	os.Exit(cli.Run())
}
