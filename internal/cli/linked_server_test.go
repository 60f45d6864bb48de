package cli

import httpserver "github.com/sockscope/sockscope/internal/server"

// The tests run serve in-process, as sockscope-serve does: with the server
// linked in, serve never replaces the test binary with sockscope-serve
// (internal/e2e runs that path with the real binaries).
func init() { linkedServer = httpserver.Command{} }
