package cli

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/spf13/cobra"

	httpserver "github.com/sockscope/sockscope/internal/server"
)

type serveOptions struct {
	listen         string
	metricsHolders bool
}

func newServeCmd(g *globals) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR:PORT]",
		Short: "Serve a live ports page, the JSON views and Prometheus metrics over HTTP",
		Long: `Serve sockscope over HTTP until interrupted:

  /              a self-contained page with the ports view, refreshed every 5s
  /api/ports     the ports view as JSON (as 'sockscope -o json')
  /api/sockets   every socket with its holders as JSON (as 'sockscope ls -ap -o json')
  /metrics       Prometheus metrics, one fresh collection per scrape

The default address is loopback only: the JSON names processes and their
command lines. On loopback, requests must name the host by IP address or
as localhost (a guard against DNS rebinding). Scrapes skip the holder
scan unless --metrics-holders is given; at most 2 collections run at once.`,
		Example: `  sockscope serve
  sockscope serve --listen 127.0.0.1:9464 --metrics-holders
  sockscope serve -A            # every network namespace (root)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:9464", "address to listen on (ADDR:PORT)")
	f.BoolVar(&o.metricsHolders, "metrics-holders", false, "scan holders on each scrape (adds sockscope_hidden_holders; costs a walk of /proc/*/fd)")
	return cmd
}

func runServe(ctx context.Context, g *globals, o *serveOptions) error {
	if g.output != "table" {
		return usagef("serve takes no -o: its endpoints choose their format")
	}
	// ADDR may be empty (every address) or a host name such as localhost.
	_, port, err := net.SplitHostPort(o.listen)
	if err != nil {
		return usagef("bad --listen %q: write ADDR:PORT, e.g. 127.0.0.1:9464 or [::1]:9464", o.listen)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return usagef("bad --listen %q: the port must be a number from 0 to 65535", o.listen)
	}
	opts, err := g.options()
	if err != nil {
		return err
	}
	g.endsOnInterrupt = true
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	// Decided on the bound address, so "localhost:PORT" counts too.
	tcp, _ := ln.Addr().(*net.TCPAddr)
	loopback := tcp != nil && tcp.IP.IsLoopback()
	cfg := httpserver.Config{
		Options:        opts,
		Services:       g.style().Services,
		MetricsHolders: o.metricsHolders,
		LocalHostsOnly: loopback,
	}
	fmt.Fprintf(g.io.ErrOut, "sockscope: serving on http://%s/ (metrics at /metrics)\n", ln.Addr())
	if !loopback {
		fmt.Fprintf(g.io.ErrOut, "sockscope: note: %s is not a loopback address: anyone who can reach it sees every socket and the command lines that hold them\n", ln.Addr())
	}
	return httpserver.Serve(ctx, ln, httpserver.New(cfg))
}
