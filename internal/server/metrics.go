package server

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/render"
	"github.com/sockscope/sockscope/views"
)

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
	descPortsOmitted = prometheus.NewDesc("sockscope_ports_omitted",
		"Listened ports left out of the per-port series because of the cap.",
		[]string{"netns"}, nil)
	descHiddenHolders = prometheus.NewDesc("sockscope_hidden_holders",
		"Sockets whose holders could not be determined because some processes could not be inspected.",
		[]string{"netns"}, nil)
	descDuration = prometheus.NewDesc("sockscope_scrape_duration_seconds",
		"Time the socket collection of this scrape took.", nil, nil)
	descSuccess = prometheus.NewDesc("sockscope_scrape_success",
		"Whether the socket collection of this scrape succeeded (1) or failed (0).", nil, nil)
)

// collector turns one snapshot per scrape into const metrics.
type collector struct{ s *Server }

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
	for _, d := range []*prometheus.Desc{descSockets, descPortListeners, descPortSockets, descPortsOmitted, descHiddenHolders, descDuration, descSuccess} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (sc scrape) Collect(ch chan<- prometheus.Metric) { sc.col.collect(sc.ctx, ch) }

func (c *collector) collect(ctx context.Context, ch chan<- prometheus.Metric) {
	opts := c.s.cfg.Options
	opts.Protos, opts.Families, opts.States = nil, nil, 0
	opts.Holders = c.s.cfg.MetricsHolders
	start := time.Now()
	snap, err := c.s.snapshot(ctx, opts)
	ch <- prometheus.MustNewConstMetric(descDuration, prometheus.GaugeValue, time.Since(start).Seconds())
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descSuccess, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descSuccess, prometheus.GaugeValue, 1)
	emitSnapshot(ch, snap, c.s.cfg.MaxPorts, opts.Holders)
}

type sockKey struct {
	ns    *sockscope.NetNS
	proto sockscope.Proto
	state sockscope.State
}

// emitSnapshot sends the snapshot's metrics. At most maxPorts listened
// ports get per-port series.
func emitSnapshot(ch chan<- prometheus.Metric, snap *sockscope.Snapshot, maxPorts int, holders bool) {
	label := nsLabels(snap)
	counts := map[sockKey]int{}
	var order []sockKey
	for _, s := range snap.Sockets {
		k := sockKey{s.NetNS, s.Proto, s.State}
		if _, ok := counts[k]; !ok {
			order = append(order, k)
		}
		counts[k]++
	}
	for _, k := range order {
		ch <- prometheus.MustNewConstMetric(descSockets, prometheus.GaugeValue, float64(counts[k]),
			label(k.ns), k.proto.String(), k.state.String())
	}

	v := views.BuildPorts(snap, nil)
	omitted := map[*sockscope.NetNS]int{}
	for i, b := range v.Blocks {
		if i >= maxPorts {
			omitted[b.NetNS]++
			continue
		}
		ns, proto, port := label(b.NetNS), b.Port.Proto.String(), strconv.Itoa(int(b.Port.Num))
		ch <- prometheus.MustNewConstMetric(descPortListeners, prometheus.GaugeValue, float64(len(b.Listeners)), ns, proto, port)
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
			ch <- prometheus.MustNewConstMetric(descPortSockets, prometheus.GaugeValue, float64(states[st]), ns, proto, port, st.String())
		}
	}
	hidden := map[*sockscope.NetNS]int{}
	for _, s := range snap.Sockets {
		if s.HoldersHidden {
			hidden[s.NetNS]++
		}
	}
	for _, ns := range nsList(snap) {
		ch <- prometheus.MustNewConstMetric(descPortsOmitted, prometheus.GaugeValue, float64(omitted[ns]), label(ns))
		if holders {
			ch <- prometheus.MustNewConstMetric(descHiddenHolders, prometheus.GaugeValue, float64(hidden[ns]), label(ns))
		}
	}
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
