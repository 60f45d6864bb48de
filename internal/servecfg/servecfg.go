// Package servecfg is what 'sockscope serve' hands the HTTP server once its
// flags are checked.
//
// It is a leaf, so that internal/cli can describe the server without linking
// it: the server (internal/server, with net/http, the Prometheus client and
// protobuf) is linked only into the sockscope-serve binary
// (cmd/sockscope-serve), and every other command starts without mapping and
// initialising it (docs/performance.md, "A fast start").
package servecfg

import (
	"context"
	"io"
	"net"

	"github.com/sockscope/sockscope"
)

// Config is the server's part of the serve command line.
type Config struct {
	// Options is the base of every collection (namespaces, source).
	Options sockscope.Options
	// Services names a port ("" if unknown); nil leaves names out.
	Services func(port uint16, proto string) string
	// MetricsHolders makes each scrape scan holders (--metrics-holders).
	MetricsHolders bool
	// MaxPorts and MaxProcesses cap the per-port and per-process series
	// (--metrics-max-ports, --metrics-max-processes).
	MaxPorts, MaxProcesses int
	// AllowedHosts are the Host header names accepted besides IP
	// literals (--allowed-hosts, or its defaults).
	AllowedHosts []string
	// Version and Revision label sockscope_build_info.
	Version, Revision string
	// WebConfigFile is --web.config.file, or "".
	WebConfigFile string
	// Log receives the server's warnings.
	Log io.Writer
}

// Server runs the HTTP server of 'sockscope serve'.
type Server interface {
	// CheckWebConfig validates a web configuration file as Serve will use
	// it, and says whether it turns on TLS and basic auth.
	CheckWebConfig(path string) (tls, basicAuth bool, err error)
	// Serve serves on ln until ctx is done, then shuts down.
	Serve(ctx context.Context, ln net.Listener, c Config) error
}
