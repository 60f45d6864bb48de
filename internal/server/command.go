package server

import (
	"context"
	"net"

	"github.com/sockscope/sockscope/internal/servecfg"
)

// Command is the server as the serve command runs it: the
// [servecfg.Server] that cmd/sockscope-serve links into the command line.
type Command struct{}

var _ servecfg.Server = Command{}

// CheckWebConfig validates a web configuration file (see [CheckWebConfig]).
func (Command) CheckWebConfig(path string) (tls, basicAuth bool, err error) {
	w, err := CheckWebConfig(path)
	return w.TLS, w.BasicAuth, err
}

// Serve serves the handler c describes on ln until ctx is done.
func (Command) Serve(ctx context.Context, ln net.Listener, c servecfg.Config) error {
	h := New(Config{
		Options:        c.Options,
		Services:       c.Services,
		MetricsHolders: c.MetricsHolders,
		MaxPorts:       c.MaxPorts,
		MaxProcesses:   c.MaxProcesses,
		AllowedHosts:   c.AllowedHosts,
		Version:        c.Version,
		Revision:       c.Revision,
	})
	return Serve(ctx, ln, h, ServeOptions{WebConfigFile: c.WebConfigFile, Log: c.Log})
}
