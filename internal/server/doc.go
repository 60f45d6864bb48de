// Package server is sockscope's HTTP interface: one [http.Handler] that
// serves an embedded page, the ports view and the socket list as JSON, and
// Prometheus metrics.
//
// # Endpoints
//
//	GET /             a self-contained HTML page (no external assets) that
//	                  polls /api/ports and draws the port-first view
//	GET /api/ports    the ports view, as `sockscope -o json` prints it
//	GET /api/sockets  every socket in every state with its holders, as
//	                  `sockscope ls -a -p -o json` prints it
//	GET /metrics      Prometheus text exposition from a private registry
//
// Every request that needs sockets takes a fresh [sockscope.Snapshot]; at most
// [Config.MaxCollections] collections run at once, and the others wait for
// a turn for as long as their request lives.
//
// # Metrics
//
// Each scrape collects one snapshot (without the holder scan unless
// [Config.MetricsHolders] is set, because walking /proc/*/fd is the
// expensive part) and emits const metrics, node_exporter style:
//
//	sockscope_sockets{netns,proto,state}                 sockets by state
//	sockscope_port_listeners{netns,proto,port}           listeners per listened port
//	sockscope_port_sockets{netns,proto,port,state}       sockets on a listened port (listeners included)
//	sockscope_ports_omitted{netns}                       listened ports left out by the cap
//	sockscope_hidden_holders{netns}                      sockets whose holders could not be seen (only with MetricsHolders)
//	sockscope_scrape_duration_seconds                    time the collection took
//	sockscope_scrape_success                             1 if the collection worked, else 0
//
// Only listened ports get per-port series, and at most [Config.MaxPorts]
// of them per scrape (default 500, in snapshot order: namespace, protocol,
// port), so the number of series stays bounded on a busy host; client-side
// ephemeral ports never become labels.
//
// # Security
//
// The socket list names processes and their command lines. Serve it on
// loopback (the CLI's default) or behind an authenticating proxy. With
// [Config.LocalHostsOnly] the handler refuses requests whose Host header is
// not an IP literal or "localhost", which defeats DNS rebinding against a
// loopback listener. The page sets a strict Content-Security-Policy: its
// script and style are allowed by hash, nothing else loads.
package server
