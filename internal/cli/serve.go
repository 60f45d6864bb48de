package cli

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sockscope/sockscope/internal/buildinfo"
	"github.com/sockscope/sockscope/internal/servecfg"
	"github.com/sockscope/sockscope/render"
)

// linkedServer is the HTTP server serve runs: set by RunServe in
// sockscope-serve (cmd/sockscope-serve), nil in sockscope, whose serve
// checks its flags and then runs sockscope-serve in its place. Keeping
// the server out of sockscope makes the binary 40% smaller and every
// command start 30% faster (docs/performance.md, "A fast start").
var linkedServer servecfg.Server

// LinkServer makes serve run s in this process, as sockscope-serve does,
// for [Run] and [Main] from then on. Without it serve runs sockscope-serve
// in place of this process. Call it before running any command line.
func LinkServer(s servecfg.Server) { linkedServer = s }

// RunServe is the command sockscope-serve: the sockscope command line
// with serve's HTTP server linked in, s. It returns the exit status.
func RunServe(s servecfg.Server) int {
	LinkServer(s)
	return Run()
}

// serveBinary is the name of the binary that has the server.
const serveBinary = "sockscope-serve"

// serveExecEnv marks a sockscope-serve that sockscope started: if that
// binary has no server linked either, it says so instead of starting
// itself again.
const serveExecEnv = "SOCKSCOPE_SERVE_EXEC"

// findServeBinary returns the path of sockscope-serve: beside this
// executable (as packages install it), else on PATH.
func findServeBinary() (string, error) {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), serveBinary)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return exec.LookPath(serveBinary)
}

// execServe replaces this process with sockscope-serve, run with the
// same arguments.
func execServe(g *globals) error {
	if os.Getenv(serveExecEnv) != "" {
		return fmt.Errorf("serve: this binary has no HTTP server linked in, and it was started by sockscope as %s: build %s from ./cmd/%s", serveBinary, serveBinary, serveBinary)
	}
	path, err := findServeBinary()
	if err != nil {
		return fmt.Errorf("serve: the HTTP server is in its own binary, %s, so that the other commands start fast, and there is none beside this one or on PATH: install it with 'go install github.com/sockscope/sockscope/cmd/%s@latest', or from the source run 'go run ./cmd/%s serve'", serveBinary, serveBinary, serveBinary)
	}
	argv := append([]string{path}, g.args...)
	env := append(os.Environ(), serveExecEnv+"=1")
	if err := syscall.Exec(path, argv, env); err != nil {
		return fmt.Errorf("serve: run %s: %w", render.Sanitize(path), err)
	}
	return nil // not reached: Exec returns only on failure
}

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
rest are answered 503 with Retry-After (see docs/security.md).

The server is a binary of its own, sockscope-serve, so that sockscope's
other commands start fast: serve checks its flags, then runs the
sockscope-serve installed beside sockscope (or found on PATH) with the
same arguments, in place of itself (same pid). From the source:
go run ./cmd/sockscope-serve serve.`,
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
	opts, err := g.options()
	if err != nil {
		return err
	}
	if linkedServer == nil {
		// The flags are right: sockscope-serve takes it from here (and
		// checks the web configuration file).
		return execServe(g)
	}
	var tls, basicAuth bool
	if o.webConfig != "" {
		if tls, basicAuth, err = linkedServer.CheckWebConfig(o.webConfig); err != nil {
			return usagef("bad --web.config.file: %v", err)
		}
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
	cfg := servecfg.Config{
		Options:        opts,
		Services:       g.style().Services,
		MetricsHolders: o.metricsHolders,
		MaxPorts:       o.maxPorts,
		MaxProcesses:   o.maxProcesses,
		AllowedHosts:   allowed,
		WebConfigFile:  o.webConfig,
		Log:            g.io.ErrOut,
	}
	// sockscope_build_info says what 'sockscope version' says: the
	// release's -X values, else the Go build information.
	bi := buildinfo.Get()
	cfg.Version, cfg.Revision = bi.Version, bi.Commit
	scheme := "http"
	if tls {
		scheme = "https"
	}
	fmt.Fprintf(g.io.ErrOut, "sockscope: serving on %s://%s/ (metrics at /metrics)\n", scheme, ln.Addr())
	if !loopback && (!tls || !basicAuth) {
		fmt.Fprintf(g.io.ErrOut, "sockscope: warning: %s is not a loopback address and --web.config.file sets up no TLS and basic auth: anyone who can reach it sees every socket and the command lines that hold them\n", ln.Addr())
	}
	return linkedServer.Serve(ctx, ln, cfg)
}
