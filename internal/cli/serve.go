package cli

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sockscope/sockscope/internal/buildinfo"
	httpserver "github.com/sockscope/sockscope/internal/server"
)

type serveOptions struct {
	listen         string
	metricsHolders bool
	allowedHosts   []string
	webConfig      string
	maxPorts       int
	maxProcesses   int
}

func newServeCmd(g *globals) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR:PORT]",
		Short: "Serve a live ports page, the JSON views and Prometheus metrics over HTTP",
		Long: `Serve sockscope over HTTP until interrupted:

  /              a self-contained page: the ports view as cards beside a graph
                 (ports, listeners, processes, peers), a filter box, per-port
                 detail; refreshed every 5s
  /api/ports     the ports view as JSON (as 'sockscope -o json')
  /api/sockets   every socket with its holders as JSON (as 'sockscope ls -ap -o json')
  /api/port      one port's explanation and sockets as JSON (as 'sockscope port N')
  /api/page      what the page draws: the ports view and who holds each port's connections
  /metrics       Prometheus metrics, one fresh collection per scrape
                 (every metric and example alerts: docs/metrics.md)
  /healthz       "ok" while the server runs (collects nothing)

The /api endpoints take ?filter=FILTER, the filter words of the other
commands (e.g. /api/ports?filter=sport+%3D+:443).

The default address is loopback only: the JSON names processes and their
command lines. ADDR is bound as written: 0.0.0.0 is IPv4 only, [::] IPv6
only, and an empty ADDR (":9464") every address of both.

Requests must name the host by IP address or by one of --allowed-hosts
(default: localhost, this machine's host name and a host name in
--listen), a guard against DNS rebinding. --web.config.file takes a
Prometheus exporter web configuration (TLS, basic auth), as exporters
do; serving beyond loopback without one prints a warning.

Scrapes skip the holder scan unless --metrics-holders is given (it adds
sockets per process). At most --metrics-max-ports listened ports get
per-port series (accept queue, backlog, sockets by state). At most 2
collections run at once, shared by the requests that arrive together; at
most 4 replies are in flight, 16 more requests wait up to 10s, and the
rest are answered 503 with Retry-After (see docs/security.md).`,
		Example: `  sockscope serve
  sockscope serve --listen 127.0.0.1:9464 --metrics-holders
  sockscope serve --listen 0.0.0.0:9464 --web.config.file web.yml --allowed-hosts myhost.example
  sockscope serve -A            # every network namespace (root)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:9464", "address to listen on (ADDR:PORT)")
	f.BoolVar(&o.metricsHolders, "metrics-holders", false, "scan holders on each scrape (adds sockscope_hidden_holders; costs a walk of /proc/*/fd)")
	f.StringSliceVar(&o.allowedHosts, "allowed-hosts", nil, "host names accepted in the Host header besides IP addresses (default localhost, the host name and --listen's name; * for any)")
	f.StringVar(&o.webConfig, "web.config.file", "", "Prometheus exporter web configuration file for TLS and basic auth")
	f.IntVar(&o.maxPorts, "metrics-max-ports", 500, "listened ports that get per-port series in one scrape (the rest are counted in sockscope_ports_omitted)")
	f.IntVar(&o.maxProcesses, "metrics-max-processes", 20, "processes, holding the most sockets, that get sockscope_process_sockets (with --metrics-holders)")
	return cmd
}

// listenNetwork is the network that binds what ADDR asks for: an IPv4
// literal only IPv4, an IPv6 literal only IPv6, a name or nothing both.
func listenNetwork(host string) string {
	ip, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return "tcp"
	case ip.Is4():
		return "tcp4"
	default:
		return "tcp6"
	}
}

// defaultAllowedHosts are the names a client may use for this machine:
// localhost, the host name (and its first label), and --listen's name.
func defaultAllowedHosts(listenHost string) []string {
	hosts := []string{"localhost", "localhost.localdomain"}
	if name, err := os.Hostname(); err == nil && name != "" {
		hosts = append(hosts, name)
		if short, _, ok := strings.Cut(name, "."); ok && short != "" {
			hosts = append(hosts, short)
		}
	}
	if listenHost != "" {
		if _, err := netip.ParseAddr(listenHost); err != nil {
			hosts = append(hosts, listenHost)
		}
	}
	return hosts
}

func runServe(ctx context.Context, g *globals, o *serveOptions) error {
	if g.output != "table" {
		return usagef("serve takes no -o: its endpoints choose their format")
	}
	// ADDR may be empty (every address) or a host name such as localhost.
	host, port, err := net.SplitHostPort(o.listen)
	if err != nil {
		return usagef("bad --listen %q: write ADDR:PORT, e.g. 127.0.0.1:9464 or [::1]:9464", o.listen)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return usagef("bad --listen %q: the port must be a number from 0 to 65535", o.listen)
	}
	if o.maxPorts < 1 || o.maxPorts > 1_000_000 {
		return usagef("bad --metrics-max-ports %d: give a number of ports from 1 to 1000000 (default 500)", o.maxPorts)
	}
	if o.maxProcesses < 1 || o.maxProcesses > 100_000 {
		return usagef("bad --metrics-max-processes %d: give a number of processes from 1 to 100000 (default 20)", o.maxProcesses)
	}
	for _, h := range o.allowedHosts {
		if h == "" || strings.ContainsAny(h, "/ :@") {
			return usagef("bad --allowed-hosts entry %q: give host names without port, e.g. myhost.example, or * for any", h)
		}
	}
	var web httpserver.WebConfig
	if o.webConfig != "" {
		if web, err = httpserver.CheckWebConfig(o.webConfig); err != nil {
			return usagef("bad --web.config.file: %v", err)
		}
	}
	opts, err := g.options()
	if err != nil {
		return err
	}
	defer keepBPF(&opts)()
	g.endsOnInterrupt = true
	ln, err := net.Listen(listenNetwork(host), o.listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	// Decided on the bound address, so "localhost:PORT" counts too.
	tcp, _ := ln.Addr().(*net.TCPAddr)
	loopback := tcp != nil && tcp.IP.IsLoopback()
	allowed := o.allowedHosts
	if len(allowed) == 0 {
		allowed = defaultAllowedHosts(host)
	}
	cfg := httpserver.Config{
		Options:        opts,
		Services:       g.style().Services,
		MetricsHolders: o.metricsHolders,
		MaxPorts:       o.maxPorts,
		MaxProcesses:   o.maxProcesses,
		AllowedHosts:   allowed,
	}
	// sockscope_build_info says what 'sockscope version' says: the
	// release's -X values, else the Go build information.
	bi := buildinfo.Get()
	cfg.Version, cfg.Revision = bi.Version, bi.Commit
	scheme := "http"
	if web.TLS {
		scheme = "https"
	}
	fmt.Fprintf(g.io.ErrOut, "sockscope: serving on %s://%s/ (metrics at /metrics)\n", scheme, ln.Addr())
	if !loopback && (!web.TLS || !web.BasicAuth) {
		fmt.Fprintf(g.io.ErrOut, "sockscope: warning: %s is not a loopback address and --web.config.file sets up no TLS and basic auth: anyone who can reach it sees every socket and the command lines that hold them\n", ln.Addr())
	}
	return httpserver.Serve(ctx, ln, httpserver.New(cfg), httpserver.ServeOptions{WebConfigFile: o.webConfig, Log: g.io.ErrOut})
}
