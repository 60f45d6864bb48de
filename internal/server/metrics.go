package server

import (
	"cmp"
	"context"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/render"
	"github.com/sockscope/sockscope/views"
)

// The metrics, all documented in docs/metrics.md. Label values follow
// node_exporter: lower case, words joined by "_" (state="time_wait").
var (
	descSockets = prometheus.NewDesc("sockscope_sockets",
		"Sockets by network namespace, protocol and state.",
		[]string{"netns", "proto", "state"}, nil)
	descPortListeners = prometheus.NewDesc("sockscope_port_listeners",
		"Sockets that receive new connections or datagrams for a port (TCP LISTEN or bound-inactive, unconnected bound UDP).",
		[]string{"netns", "proto", "port"}, nil)
	descPortSockets = prometheus.NewDesc("sockscope_port_sockets",
		"Sockets whose local port is a listened port, listeners included, by state.",
		[]string{"netns", "proto", "port", "state"}, nil)
	descListenQueue = prometheus.NewDesc("sockscope_listen_queue_length",
		"Connections in a TCP listener's accept queue, waiting for accept() (recv_q of the LISTEN socket); SO_REUSEPORT listeners on one address are summed.",
		[]string{"netns", "proto", "port", "address"}, nil)
	descListenBacklog = prometheus.NewDesc("sockscope_listen_backlog",
		"A TCP listener's backlog, the accept queue's limit as listen() set it (send_q of the LISTEN socket); SO_REUSEPORT listeners on one address are summed. The queue is full at backlog+1.",
		[]string{"netns", "proto", "port", "address"}, nil)
	descPortsOmitted = prometheus.NewDesc("sockscope_ports_omitted",
		"Listened ports left out of the per-port series because of the cap.",
		[]string{"netns"}, nil)
	descOverflows = prometheus.NewDesc("sockscope_listen_overflows_total",
		"Connections dropped because a listener's accept queue was full (TcpExtListenOverflows of the namespace's /proc/net/netstat).",
		[]string{"netns"}, nil)
	descDrops = prometheus.NewDesc("sockscope_listen_drops_total",
		"Connections listeners dropped for any reason, overflows included (TcpExtListenDrops of the namespace's /proc/net/netstat).",
		[]string{"netns"}, nil)
	descOrphans = prometheus.NewDesc("sockscope_tcp_orphans",
		"TCP sockets that no process holds any more and that are still closing (FIN-WAIT-1, FIN-WAIT-2, CLOSING or LAST-ACK with no inode).",
		[]string{"netns"}, nil)
	descHiddenHolders = prometheus.NewDesc("sockscope_hidden_holders",
		"Sockets whose holders could not be determined because some processes could not be inspected.",
		[]string{"netns"}, nil)
	descProcSockets = prometheus.NewDesc("sockscope_process_sockets",
		"Sockets a process holds, for the processes holding the most (the cap is serve's --metrics-max-processes).",
		[]string{"pid", "comm"}, nil)
	descProcsOmitted = prometheus.NewDesc("sockscope_processes_omitted",
		"Processes holding sockets left out of sockscope_process_sockets because of the cap.",
		nil, nil)
	descNetNSInfo = prometheus.NewDesc("sockscope_netns_info",
		"One per network namespace: what runs in it, where known (container, Kubernetes pod, systemd unit); join on netns.",
		[]string{"netns", "inode", "container", "pod_uid", "pod_namespace", "pod", "runtime", "unit"}, nil)
	descDuration = prometheus.NewDesc("sockscope_scrape_duration_seconds",
		"Time the socket collection of this scrape took.", nil, nil)
	descSuccess = prometheus.NewDesc("sockscope_scrape_success",
		"Whether the socket collection of this scrape succeeded (1) or failed (0).", nil, nil)
	descBuildInfo = prometheus.NewDesc("sockscope_build_info",
		"Always 1; the labels say which sockscope build is running.",
		[]string{"version", "revision", "goversion"}, nil)
)

// stateLabels are the state label values, node_exporter's where it has
// one (node_tcp_connection_states), else the ss name in its style.
var stateLabels = map[sockscope.State]string{
	sockscope.StateUnknown:  "unknown",
	sockscope.Established:   "established",
	sockscope.SynSent:       "syn_sent",
	sockscope.SynRecv:       "syn_recv",
	sockscope.FinWait1:      "fin_wait1",
	sockscope.FinWait2:      "fin_wait2",
	sockscope.TimeWait:      "time_wait",
	sockscope.Close:         "close",
	sockscope.CloseWait:     "close_wait",
	sockscope.LastAck:       "last_ack",
	sockscope.Listen:        "listen",
	sockscope.Closing:       "closing",
	sockscope.NewSynRecv:    "new_syn_recv",
	sockscope.BoundInactive: "bound_inactive",
}

// stateLabel returns the state label value of st.
func stateLabel(st sockscope.State) string {
	if l, ok := stateLabels[st]; ok {
		return l
	}
	return strings.ToLower(strings.ReplaceAll(st.String(), "-", "_"))
}

// collector turns one snapshot per scrape into const metrics.
type collector struct {
	s *Server
	// std are the standard Go runtime and process collectors, made once
	// and registered in every scrape's registry.
	std       []prometheus.Collector
	buildInfo prometheus.Metric
}

func newCollector(s *Server) *collector {
	version, revision := buildVersion(s.cfg.Version)
	if s.cfg.Revision != "" {
		revision = s.cfg.Revision
	}
	return &collector{
		s: s,
		std: []prometheus.Collector{
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		},
		buildInfo: prometheus.MustNewConstMetric(descBuildInfo, prometheus.GaugeValue, 1,
			render.Sanitize(version), render.Sanitize(revision), runtime.Version()),
	}
}

// buildVersion returns the version (override, else the main module's
// version from the build info, "(devel)" for a plain go build) and the
// VCS revision the binary was built from, "" if unknown.
func buildVersion(override string) (version, revision string) {
	version = override
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if version == "" {
			version = "unknown"
		}
		return version, ""
	}
	if version == "" {
		version = bi.Main.Version
	}
	if version == "" {
		version = "(devel)"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			revision = s.Value
		}
	}
	return version, revision
}

// scrape is one /metrics request's collector: it carries the request's
// context so that waiting for a collection slot and the collection itself
// end with the request. It lives only as long as that request.
type scrape struct {
	col *collector
	ctx context.Context
}

var _ prometheus.Collector = scrape{}

// Describe implements prometheus.Collector.
func (sc scrape) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descSockets, descPortListeners, descPortSockets, descListenQueue, descListenBacklog,
		descPortsOmitted, descOverflows, descDrops, descOrphans, descHiddenHolders,
		descProcSockets, descProcsOmitted, descNetNSInfo, descDuration, descSuccess, descBuildInfo,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (sc scrape) Collect(ch chan<- prometheus.Metric) { sc.col.collect(sc.ctx, ch) }

func (c *collector) collect(ctx context.Context, ch chan<- prometheus.Metric) {
	ch <- c.buildInfo
	opts := c.s.cfg.Options
	opts.Protos, opts.Families, opts.States = nil, nil, 0
	opts.Holders = c.s.cfg.MetricsHolders
	opts.NetCounters = true
	start := time.Now()
	snap, err := c.s.snapshot(ctx, opts)
	ch <- prometheus.MustNewConstMetric(descDuration, prometheus.GaugeValue, time.Since(start).Seconds())
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descSuccess, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descSuccess, prometheus.GaugeValue, 1)
	emitSnapshot(ch, snap, limits{ports: c.s.cfg.MaxPorts, procs: c.s.cfg.MaxProcesses}, opts.Holders)
}

type sockKey struct {
	ns    *sockscope.NetNS
	proto sockscope.Proto
	state sockscope.State
}

// limits cap the series of one scrape.
type limits struct {
	ports int // listened ports with per-port series
	procs int // processes with sockscope_process_sockets
}

// emitSnapshot sends the snapshot's metrics. At most lim.ports listened
// ports get per-port series, and with holders at most lim.procs
// processes a sockscope_process_sockets series.
func emitSnapshot(ch chan<- prometheus.Metric, snap *sockscope.Snapshot, lim limits, holders bool) {
	label := nsLabels(snap)
	counts := map[sockKey]int{}
	var order []sockKey
	orphans := map[*sockscope.NetNS]int{}
	for _, s := range snap.Sockets {
		k := sockKey{s.NetNS, s.Proto, s.State}
		if _, ok := counts[k]; !ok {
			order = append(order, k)
		}
		counts[k]++
		if isOrphan(s) {
			orphans[s.NetNS]++
		}
	}
	for _, k := range order {
		ch <- prometheus.MustNewConstMetric(descSockets, prometheus.GaugeValue, float64(counts[k]),
			label(k.ns), k.proto.String(), stateLabel(k.state))
	}

	v := views.BuildPorts(snap, nil)
	omitted := map[*sockscope.NetNS]int{}
	for i, b := range v.Blocks {
		if i >= lim.ports {
			omitted[b.NetNS]++
			continue
		}
		ns, proto, port := label(b.NetNS), b.Port.Proto.String(), strconv.Itoa(int(b.Port.Num))
		ch <- prometheus.MustNewConstMetric(descPortListeners, prometheus.GaugeValue, float64(len(b.Listeners)), ns, proto, port)
		emitQueues(ch, b.Listeners, ns, proto, port)
		states := map[sockscope.State]int{}
		var sorder []sockscope.State
		for _, group := range [][]*sockscope.Socket{b.Listeners, b.Sockets} {
			for _, s := range group {
				if _, ok := states[s.State]; !ok {
					sorder = append(sorder, s.State)
				}
				states[s.State]++
			}
		}
		for _, st := range sorder {
			ch <- prometheus.MustNewConstMetric(descPortSockets, prometheus.GaugeValue, float64(states[st]), ns, proto, port, stateLabel(st))
		}
	}
	hidden := map[*sockscope.NetNS]int{}
	for _, s := range snap.Sockets {
		if s.HoldersHidden {
			hidden[s.NetNS]++
		}
	}
	for _, ns := range nsList(snap) {
		l := label(ns)
		ch <- prometheus.MustNewConstMetric(descPortsOmitted, prometheus.GaugeValue, float64(omitted[ns]), l)
		ch <- prometheus.MustNewConstMetric(descOrphans, prometheus.GaugeValue, float64(orphans[ns]), l)
		if holders {
			ch <- prometheus.MustNewConstMetric(descHiddenHolders, prometheus.GaugeValue, float64(hidden[ns]), l)
		}
		if ns != nil && ns.Counters != nil {
			ch <- prometheus.MustNewConstMetric(descOverflows, prometheus.CounterValue, float64(ns.Counters.ListenOverflows), l)
			ch <- prometheus.MustNewConstMetric(descDrops, prometheus.CounterValue, float64(ns.Counters.ListenDrops), l)
		}
		if ns != nil {
			ch <- nsInfo(ns, l)
		}
	}
	if holders {
		emitProcesses(ch, snap, lim.procs)
	}
}

// isOrphan reports a TCP socket that its last process has closed but
// that is still closing: it has no inode (no file refers to it). Sockets
// in an accept queue have no inode either, but are ESTAB or CLOSE-WAIT;
// TIME-WAIT and request sockets are not orphans.
func isOrphan(s *sockscope.Socket) bool {
	if s.Proto != sockscope.TCP || s.Inode != 0 {
		return false
	}
	switch s.State {
	case sockscope.FinWait1, sockscope.FinWait2, sockscope.Closing, sockscope.LastAck:
		return true
	}
	return false
}

// emitQueues sends the accept queue and backlog of a port's TCP
// listeners, one series per local address; SO_REUSEPORT listeners on
// the same address are summed, as the connections they share are.
func emitQueues(ch chan<- prometheus.Metric, listeners []*sockscope.Socket, ns, proto, port string) {
	type q struct{ length, backlog uint64 }
	queues := map[string]*q{}
	var order []string
	for _, s := range listeners {
		if s.Proto != sockscope.TCP || s.State != sockscope.Listen {
			continue
		}
		addr := s.Local.Addr().String()
		if !s.Local.Addr().IsValid() {
			addr = "*"
		}
		e := queues[addr]
		if e == nil {
			e = &q{}
			queues[addr] = e
			order = append(order, addr)
		}
		e.length += uint64(s.RecvQ)
		e.backlog += uint64(s.SendQ)
	}
	for _, addr := range order {
		e := queues[addr]
		ch <- prometheus.MustNewConstMetric(descListenQueue, prometheus.GaugeValue, float64(e.length), ns, proto, port, addr)
		ch <- prometheus.MustNewConstMetric(descListenBacklog, prometheus.GaugeValue, float64(e.backlog), ns, proto, port, addr)
	}
}

// emitProcesses sends the sockets per process for the max processes
// holding the most (ties by PID), and how many were left out.
func emitProcesses(ch chan<- prometheus.Metric, snap *sockscope.Snapshot, max int) {
	type proc struct {
		pid   int
		comm  string
		socks int
	}
	byPID := map[int]*proc{}
	for _, s := range snap.Sockets {
		seen := 0 // a process holding one socket by several fds counts it once
		for _, h := range s.Holders {
			if h.Proc == nil || h.Proc.PID == seen {
				continue
			}
			seen = h.Proc.PID
			p := byPID[h.Proc.PID]
			if p == nil {
				p = &proc{pid: h.Proc.PID, comm: h.Proc.Comm}
				byPID[h.Proc.PID] = p
			}
			p.socks++
		}
	}
	procs := make([]*proc, 0, len(byPID))
	for _, p := range byPID {
		procs = append(procs, p)
	}
	slices.SortFunc(procs, func(a, b *proc) int {
		return cmp.Or(cmp.Compare(b.socks, a.socks), cmp.Compare(a.pid, b.pid))
	})
	omitted := 0
	if len(procs) > max {
		omitted = len(procs) - max
		procs = procs[:max]
	}
	for _, p := range procs {
		ch <- prometheus.MustNewConstMetric(descProcSockets, prometheus.GaugeValue, float64(p.socks),
			strconv.Itoa(p.pid), render.Sanitize(p.comm))
	}
	ch <- prometheus.MustNewConstMetric(descProcsOmitted, prometheus.GaugeValue, float64(omitted))
}

// nsInfo is the sockscope_netns_info series of ns.
func nsInfo(ns *sockscope.NetNS, label string) prometheus.Metric {
	podNS, pod := "", ""
	if ns.PodName != "" {
		podNS, pod = ns.PodNamespace, ns.PodName
	}
	return prometheus.MustNewConstMetric(descNetNSInfo, prometheus.GaugeValue, 1,
		label, strconv.FormatUint(ns.Inode, 10), render.Sanitize(ns.Container), render.Sanitize(ns.Pod),
		render.Sanitize(podNS), render.Sanitize(pod), render.Sanitize(ns.Runtime), render.Sanitize(ns.Unit))
}

// nsList returns the snapshot's namespaces, and those of its sockets that
// the list lacks.
func nsList(snap *sockscope.Snapshot) []*sockscope.NetNS {
	seen := map[*sockscope.NetNS]bool{}
	var out []*sockscope.NetNS
	add := func(ns *sockscope.NetNS) {
		if !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	for _, ns := range snap.NetNS {
		add(ns)
	}
	for _, s := range snap.Sockets {
		add(s.NetNS)
	}
	return out
}

// nsLabels returns the netns label of each namespace: its name, or
// "name/inode" where two namespaces share a name, so that label sets
// never collide. Names are escaped as on a terminal (render.Sanitize):
// a label value is valid UTF-8 whatever bytes the name holds, and reads
// as the NETNS column of 'sockscope ls -A' does.
func nsLabels(snap *sockscope.Snapshot) func(*sockscope.NetNS) string {
	all := nsList(snap)
	names := map[string]int{}
	for _, ns := range all {
		if ns != nil {
			names[render.Sanitize(ns.Name)]++
		}
	}
	labels := make(map[*sockscope.NetNS]string, len(all))
	for _, ns := range all {
		if ns == nil {
			labels[ns] = ""
			continue
		}
		name := render.Sanitize(ns.Name)
		if names[name] > 1 || name == "" {
			name += "/" + strconv.FormatUint(ns.Inode, 10)
		}
		labels[ns] = name
	}
	return func(ns *sockscope.NetNS) string { return labels[ns] }
}
