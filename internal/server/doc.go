// Package server is sockscope's HTTP interface: one [http.Handler] that
// serves an embedded page, the ports view and the socket list as JSON, and
// Prometheus metrics.
//
// # Endpoints
//
//	GET /             a self-contained HTML page (no external assets) that
//	                  polls /api/ports: cards of the port-first view beside a
//	                  graph (inline SVG) of ports → listeners → holder
//	                  processes → peers, a filter box, per-port detail
//	GET /api/ports    the ports view, as `sockscope -o json` prints it
//	GET /api/sockets  every socket in every state with its holders, as
//	                  `sockscope ls -a -p -o json` prints it
//	GET /api/port     one port's explanation, as `sockscope port N` gives
//	                  it, and the sockets on it (?port=N&proto=tcp&netns=I)
//	GET /api/page     what the page draws: the ports view and, for its
//	                  graph, the processes holding each port's connections
//	GET /metrics      Prometheus text exposition from a private registry
//	GET /healthz      "ok", at once (collects nothing)
//
// The /api endpoints take ?filter= in the command line's filter language
// (package query), evaluated on the server; a filter that does not parse
// is answered 400 with the position of the mistake (docs/json.md).
//
// # Limits
//
// Every request that needs sockets gets a fresh [sockscope.Snapshot]: one
// from a collection that started after the request arrived. Requests
// with the same options that arrive while a collection runs share the
// next one; at most [Config.MaxCollections] collections run at once, and
// none runs once every request waiting for it has gone.
//
// At most [Config.MaxReplies] such requests are answered at once, from
// their turn to the last byte of the reply; [Config.MaxQueue] more wait
// up to [Config.QueueTimeout], and the rest are answered 503 with
// Retry-After ([RetryAfter] seconds). The status line is sent as soon as
// the snapshot is ready; /api/sockets is encoded in chunks while it is
// written, and every reply must be read within [Config.WriteTimeout].
// So a client that stops reading costs at most one reply slot, an
// encoding buffer of 256 KiB and a share of one snapshot, for
// WriteTimeout. A panic is logged in one line and answered 500 with a
// plain message: no response carries a stack trace.
//
// # Metrics
//
// Each scrape collects one snapshot (without the holder scan unless
// [Config.MetricsHolders] is set, because walking /proc/*/fd is the
// expensive part; with each namespace's TCP listen counters) and emits
// const metrics, label values in node_exporter's style (state="time_wait"),
// beside the standard Go and process collectors. docs/metrics.md
// documents every one, with example alerts; the main ones:
//
//	sockscope_listen_queue_length{netns,proto,port,address}   a TCP listener's accept queue (recv_q)
//	sockscope_listen_backlog{netns,proto,port,address}        its backlog (send_q)
//	sockscope_listen_overflows_total{netns}                   TcpExtListenOverflows of the namespace
//	sockscope_listen_drops_total{netns}                       TcpExtListenDrops of the namespace
//	sockscope_port_sockets{netns,proto,port,state}            sockets on a listened port (listeners included)
//	sockscope_sockets{netns,proto,state}                      sockets by state
//	sockscope_process_sockets{pid,comm}                       sockets per process (only with MetricsHolders)
//	sockscope_build_info{version,revision,goversion}          the build
//	sockscope_scrape_success                                  1 if the collection worked, else 0
//
// Only listened ports get per-port series, and at most [Config.MaxPorts]
// of them per scrape (default 500, in snapshot order: namespace, protocol,
// port), so the number of series stays bounded on a busy host; client-side
// ephemeral ports never become labels. At most [Config.MaxProcesses]
// processes (default 20, those holding the most sockets) get a series.
//
// GET /healthz answers "ok" at once, collecting nothing, for probes.
//
// # Security
//
// The socket list names processes and their command lines. Serve it on
// loopback (the CLI's default), or with TLS and basic auth from an
// exporter web configuration file ([ServeOptions.WebConfigFile]). With
// [Config.AllowedHosts] the handler refuses requests whose Host header is
// neither an IP literal nor an allowed name, which defeats DNS rebinding.
// The page sets a strict Content-Security-Policy: its script and style
// are allowed by hash, nothing else loads; it shows every string from the
// server as text, with controls and bidirectional overrides escaped.
// Namespace names in label values are escaped as on a terminal
// (render.Sanitize), so they are valid UTF-8.
package server
