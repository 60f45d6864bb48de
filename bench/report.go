package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report is everything measured.
type report struct {
	started   time.Time
	sockscope string
	sizes     []*sizeResult
	netns     []*sizeResult // the namespace sweep
	notes     []string
}

// sizeResult is one workload size.
type sizeResult struct {
	netns   int // namespaces, in the namespace sweep; 0 in the socket sweep
	sockets int
	procs   int
	setup   time.Duration
	cmds    []*cmdResult
	byName  map[string]*cmdResult
	notes   []string
}

// cmdResult is one command's samples at one size.
type cmdResult struct {
	cmd     command
	samples []sample
	rows    int
}

func (r *cmdResult) walls() []time.Duration {
	w := make([]time.Duration, len(r.samples))
	for i, s := range r.samples {
		w[i] = s.wall
	}
	slices.Sort(w)
	return w
}

// median, min and max wall time.
func (r *cmdResult) stats() (med, lo, hi time.Duration, err error) {
	w := r.walls()
	if len(w) == 0 {
		return 0, 0, 0, errNoSamples
	}
	if len(w)%2 == 1 {
		med = w[len(w)/2]
	} else {
		med = (w[len(w)/2-1] + w[len(w)/2]) / 2
	}
	return med, w[0], w[len(w)-1], nil
}

// peakRSS is the largest ru_maxrss of the runs, in KiB.
func (r *cmdResult) peakRSS() int64 {
	var m int64
	for _, s := range r.samples {
		m = max(m, s.maxRSS)
	}
	return m
}

func (rep *report) markdown(cfg config) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "## sockscope benchmark, %s\n\n", rep.started.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "%d CPUs, %s, %s; %d timed runs per command after %d warm-up, alternating; host %s.\n",
		runtime.NumCPU(), kernelRelease(), runtime.Version(), cfg.runs, cfg.warmup, host)
	if len(rep.sizes) > 0 {
		fmt.Fprintf(&b, "Socket sizes: %d holder processes (more where a note says so); wall time includes nsenter and process start; the commands with holders run with `%s %s` (the default 5 s stops the scan at 1M sockets under load). ", cfg.procs, holdersTimeout, scanLimit)
	}
	fmt.Fprintf(&b, "Output goes to a pipe. RSS is wait4's ru_maxrss (the largest of the runs).\n\n")
	for _, sz := range rep.sizes {
		fmt.Fprintf(&b, "### %d TCP sockets (%d processes; workload built in %s)\n\n", sz.sockets, sz.procs, sz.setup.Round(time.Millisecond))
		b.WriteString("| command | median s | min s | max s | µs/socket | peak RSS MiB | rows | ratio (same run) |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---|\n")
		for _, r := range sz.cmds {
			med, lo, hi, err := r.stats()
			if err != nil {
				fmt.Fprintf(&b, "| `%s` | – | – | – | – | – | %d | |\n", r.cmd.name, r.rows)
				continue
			}
			perSock := float64(med.Microseconds()) / float64(sz.sockets)
			fmt.Fprintf(&b, "| `%s` | %.3f | %.3f | %.3f | %.2f | %.1f | %d | %s |\n",
				r.cmd.name, med.Seconds(), lo.Seconds(), hi.Seconds(), perSock,
				float64(r.peakRSS())/1024, r.rows, sz.ratios(r.cmd.name))
		}
		b.WriteString("\n")
		if t := sz.targetTable(); t != "" {
			b.WriteString(t)
			b.WriteString("\n")
		}
		if line := sz.watchRefresh(); line != "" {
			b.WriteString(line)
		}
		for _, n := range sz.notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	if len(rep.netns) > 0 {
		rep.netnsMarkdown(&b, cfg)
	}
	for _, n := range rep.notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	return b.String()
}

// netnsMarkdown writes the namespace sweep: one table per count, with the cost
// per namespace (linear growth keeps it flat across counts).
func (rep *report) netnsMarkdown(b *strings.Builder, cfg config) {
	fmt.Fprintf(b, "### Network namespaces, %d TCP sockets each\n\n", socketsPerNS)
	fmt.Fprintf(b, "Named namespaces (nsfs bind mounts on a private /run/netns, as `ip netns add` makes them); commands run in the host namespace, %d timed runs after %d warm-up, alternating. The loop is `%s`.\n\n", cfg.runs, cfg.warmup, shellLoop)
	for _, sz := range rep.netns {
		fmt.Fprintf(b, "#### %d namespaces (%d sockets; made in %s)\n\n", sz.netns, sz.sockets, sz.setup.Round(time.Millisecond))
		b.WriteString("| command | median s | min s | max s | ms/namespace | peak RSS MiB | rows | ratio (same run) |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---|\n")
		for _, r := range sz.cmds {
			med, lo, hi, err := r.stats()
			if err != nil {
				fmt.Fprintf(b, "| `%s` | – | – | – | – | – | %d | |\n", r.cmd.name, r.rows)
				continue
			}
			fmt.Fprintf(b, "| `%s` | %.3f | %.3f | %.3f | %.2f | %.1f | %d | %s |\n",
				r.cmd.name, med.Seconds(), lo.Seconds(), hi.Seconds(), med.Seconds()*1000/float64(sz.netns),
				float64(r.peakRSS())/1024, r.rows, sz.ratios(r.cmd.name))
		}
		b.WriteString("\n")
		if t := sz.targetTable(); t != "" {
			b.WriteString(t)
			b.WriteString("\n")
		}
		for _, n := range sz.notes {
			fmt.Fprintf(b, "- %s\n", n)
		}
	}
}

// ratios lists, for a sockscope command, its time ratio to each target
// anchor.
func (sz *sizeResult) ratios(name string) string {
	var parts []string
	for _, t := range sz.targets() {
		if t.cmd != name || t.rss {
			continue
		}
		if q, ok := sz.ratio(t); ok {
			parts = append(parts, fmt.Sprintf("%.2f× `%s`", q, t.base))
		}
	}
	return strings.Join(parts, ", ")
}

// targets are the goals that apply to sz.
func (sz *sizeResult) targets() []target {
	if sz.netns > 0 {
		return nsTargets
	}
	return targets
}

func (sz *sizeResult) ratio(t target) (float64, bool) {
	a, b := sz.byName[t.cmd], sz.byName[t.base]
	if a == nil || b == nil {
		return 0, false
	}
	if t.rss {
		if b.peakRSS() == 0 || len(a.samples) == 0 {
			return 0, false
		}
		return float64(a.peakRSS()) / float64(b.peakRSS()), true
	}
	am, _, _, err1 := a.stats()
	bm, _, _, err2 := b.stats()
	if err1 != nil || err2 != nil || bm == 0 {
		return 0, false
	}
	return float64(am) / float64(bm), true
}

func (sz *sizeResult) targetTable() string {
	var b strings.Builder
	for _, t := range sz.targets() {
		q, ok := sz.ratio(t)
		if !ok {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("| target | measured | met |\n|---|---:|---|\n")
		}
		what := "time"
		if t.rss {
			what = "peak RSS"
		}
		met := "yes"
		if q > t.max {
			met = "**no**"
		}
		fmt.Fprintf(&b, "| %s of `%s` ≤ %.2f × `%s` | %.2f | %s |\n", what, t.cmd, t.max, t.base, q, met)
	}
	return b.String()
}

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return runtime.GOOS
	}
	return "Linux " + strings.TrimSpace(string(b))
}

// watchRefresh derives the cost of one watch refresh, (median of 3
// snapshots − median of 1) / 2, and compares it with a fresh
// `ls -tanp` (issue 11: ≤ 0.6×). It returns "" without both watch rows.
func (sz *sizeResult) watchRefresh() string {
	w1, w3, ls := sz.byName[watch1], sz.byName[watch3], sz.byName["sockscope ls -tanp"]
	if w1 == nil || w3 == nil {
		return ""
	}
	m1, _, _, err1 := w1.stats()
	m3, _, _, err3 := w3.stats()
	if err1 != nil || err3 != nil {
		return ""
	}
	refresh := (m3 - m1) / 2
	line := fmt.Sprintf("Watch refresh (with holders): (%.3f − %.3f) / 2 = %.3f s", m3.Seconds(), m1.Seconds(), refresh.Seconds())
	if ls != nil {
		if ml, _, _, err := ls.stats(); err == nil && ml > 0 {
			q := float64(refresh) / float64(ml)
			met := "met"
			if q > 0.6 {
				met = "**not met**"
			}
			line += fmt.Sprintf(" = %.2f× `sockscope ls -tanp` (target ≤ 0.60: %s)", q, met)
		}
	}
	return line + ".\n\n"
}
