package sockscope

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/sockscope/sockscope/internal/netns"
)

// SockStat is a namespace's /proc/net/sockstat and /proc/net/sockstat6, as
// the kernel writes them: for each line's label, lower-cased without its
// colon ("sockets", "tcp", "udp", "udplite", "raw", "frag", "tcp6", "udp6",
// ...), its counters by name ("used", "inuse", "orphan", "tw", "alloc",
// "mem", "memory"). "mem" counts pages. TCP's "alloc" and "orphan" and the
// "mem" counters are host-wide, even read inside a namespace; the others
// belong to the namespace (docs/kernel.md M1).
type SockStat map[string]map[string]int64

// Get returns one counter, and whether the kernel reported it.
func (s SockStat) Get(proto, name string) (int64, bool) {
	v, ok := s[proto][name]
	return v, ok
}

// ParseSockStat parses the text of /proc/net/sockstat or sockstat6 into st
// (which it allocates when nil) and returns it. Lines it cannot read are
// an error naming them.
func ParseSockStat(st SockStat, text []byte) (SockStat, error) {
	if st == nil {
		st = SockStat{}
	}
	sc := bufio.NewScanner(bytes.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		label, rest, ok := strings.Cut(line, ":")
		f := strings.Fields(rest)
		if !ok || label == "" || len(f)%2 != 0 {
			return st, fmt.Errorf("sockstat line %d %q: want LABEL: then NAME VALUE pairs", n, line)
		}
		m := st[strings.ToLower(label)]
		if m == nil {
			m = map[string]int64{}
			st[strings.ToLower(label)] = m
		}
		for i := 0; i < len(f); i += 2 {
			v, err := strconv.ParseInt(f[i+1], 10, 64)
			if err != nil {
				return st, fmt.Errorf("sockstat line %d %q: %s is not a number", n, line, f[i+1])
			}
			m[f[i]] = v
		}
	}
	return st, sc.Err()
}

// ProtoCount counts a namespace's sockets of one protocol and family, as
// the dump listed them, by state.
type ProtoCount struct {
	Proto  Proto
	Family Family
	Total  int
	States map[State]int
}

// PortCount is one local port and how many sockets use it.
type PortCount struct {
	Port        Port
	Sockets     int
	Listeners   int // sockets in LISTEN (TCP) or unconnected (UDP) on the port
	Established int
}

// ProcessCount is one process and how many of the namespace's sockets it
// holds (each socket once, however many fds refer to it).
type ProcessCount struct {
	Proc    *Process
	Sockets int
}

// NetNSSummary is the summary of one network namespace.
type NetNSSummary struct {
	NetNS *NetNS
	// SockStat is the kernel's own counters; nil when they could not be
	// read (see Summary.Warnings).
	SockStat SockStat
	// TCPEstab is CurrEstab of /proc/net/snmp (what ss -s prints as
	// estab); -1 when unknown.
	TCPEstab int64
	// Sockets is how many sockets the dump listed.
	Sockets int
	// Counts are the dump's sockets by protocol and family, in protocol
	// then family order.
	Counts []ProtoCount
	// Ports are the local ports with the most sockets, most first.
	Ports []PortCount
	// Processes are the processes holding the most sockets, most first;
	// empty when no holder scan ran.
	Processes []ProcessCount
}

// Summary is what ss -s prints, per namespace, with the busiest ports and
// processes.
type Summary struct {
	NetNS    []*NetNSSummary
	Warnings []Warning
}

// DefaultSummaryTop is how many ports and processes Summarize ranks when
// asked for 0.
const DefaultSummaryTop = 10

// Summarize counts the sockets of the namespaces opts selects: the kernel's
// counters (sockstat, sockstat6 and TCP's CurrEstab, read inside each
// namespace) and the sockets of one Collect with opts, whose States, Protos
// and NoPeers it overrides (every state and protocol). top bounds the
// ports and processes ranked (0: DefaultSummaryTop).
func Summarize(ctx context.Context, opts Options, top int) (*Summary, error) {
	if top <= 0 {
		top = DefaultSummaryTop
	}
	opts.States, opts.Protos, opts.Families, opts.NoPeers, opts.LocalPort = AllStates, nil, nil, true, 0
	// The counters first: read after Collect, they also counted the
	// netlink sockets Collect had just closed, which the kernel frees
	// only after an RCU grace period ("sockets: used" was up to 5 high
	// under load; docs/kernel.md M4).
	procRoot := cmp.Or(opts.ProcRoot, "/proc")
	counters, failed, err := readKernelCounters(ctx, opts, procRoot)
	if err != nil {
		return nil, err
	}
	snap, err := Collect(ctx, opts)
	if err != nil {
		return nil, err
	}
	sum := &Summary{Warnings: snap.Warnings}
	byInode := map[uint64]*NetNSSummary{}
	var unread []string
	for _, ns := range snap.NetNS {
		s := &NetNSSummary{NetNS: ns, TCPEstab: -1}
		if c, ok := counters[ns.Inode]; ok {
			s.SockStat, s.TCPEstab = c.st, c.estab
		} else if why, ok := failed[ns.Inode]; ok {
			unread = append(unread, why)
		}
		sum.NetNS = append(sum.NetNS, s)
		byInode[ns.Inode] = s
	}
	// A namespace Collect could not read has its warning already.
	if len(unread) > 0 {
		sum.Warnings = append(sum.Warnings, Warning{Kind: WarnNetNS, Count: len(unread),
			Msg: "the kernel's socket counters could not be read: " + strings.Join(firstNames(unread, 8), "; ")})
	}
	groups := map[*NetNSSummary][]*Socket{}
	for _, s := range snap.Sockets {
		if ns := byInode[socketNSInode(s)]; ns != nil {
			groups[ns] = append(groups[ns], s)
		}
	}
	for _, ns := range sum.NetNS {
		ns.count(groups[ns], top)
	}
	return sum, nil
}

// kernelCounters are one namespace's counters.
type kernelCounters struct {
	st    SockStat
	estab int64
}

// readKernelCounters reads sockstat, sockstat6 and snmp in each namespace
// opts selects, by namespace inode; failed says, by inode, why one could
// not be read. Some of sockstat's counters are host-wide (docs/kernel.md M1).
func readKernelCounters(ctx context.Context, opts Options, procRoot string) (counters map[uint64]kernelCounters, failed map[uint64]string, err error) {
	var tmp Snapshot
	spaces, release, err := selectNetNS(ctx, opts, procRoot, &tmp)
	defer release()
	if err != nil {
		return nil, nil, &OpError{Op: "select namespaces", Err: err}
	}
	counters, failed = map[uint64]kernelCounters{}, map[uint64]string{}
	for _, t := range spaces {
		read := func() error {
			st, estab, err := readSockStat(procRoot)
			if err == nil {
				counters[t.model.Inode] = kernelCounters{st, estab}
			}
			return err
		}
		if t.direct {
			err = read()
		} else {
			err = netns.Do(t.ns, read)
		}
		if err != nil {
			failed[t.model.Inode] = fmt.Sprintf("%s: %v", t.model.Name, err)
		}
	}
	return counters, failed, nil
}

// readSockStat reads the calling thread's namespace's counters. The files
// under thread-self are the thread's namespace's, not the process's.
func readSockStat(procRoot string) (SockStat, int64, error) {
	dir := procRoot + "/thread-self/net/"
	b, err := os.ReadFile(dir + "sockstat")
	if err != nil {
		return nil, -1, fmt.Errorf("read sockstat: %w", err)
	}
	st, err := ParseSockStat(nil, b)
	if err != nil {
		return nil, -1, err
	}
	// sockstat6 is absent without IPv6.
	if b, err := os.ReadFile(dir + "sockstat6"); err == nil {
		if st, err = ParseSockStat(st, b); err != nil {
			return nil, -1, err
		}
	}
	estab := int64(-1)
	if b, err := os.ReadFile(dir + "snmp"); err == nil {
		if v, ok := snmpValue(b, "Tcp", "CurrEstab"); ok {
			estab = v
		}
	}
	return st, estab, nil
}

// snmpValue finds one counter in /proc/net/snmp, whose sections are pairs
// of lines: "Tcp: Name1 Name2 ..." then "Tcp: 1 2 ...".
func snmpValue(text []byte, section, name string) (int64, bool) {
	lines := strings.Split(string(text), "\n")
	for i := 0; i+1 < len(lines); i++ {
		names, ok := strings.CutPrefix(lines[i], section+": ")
		if !ok {
			continue
		}
		values, ok := strings.CutPrefix(lines[i+1], section+": ")
		if !ok {
			return 0, false
		}
		nf, vf := strings.Fields(names), strings.Fields(values)
		for j, n := range nf {
			if n == name && j < len(vf) {
				v, err := strconv.ParseInt(vf[j], 10, 64)
				return v, err == nil
			}
		}
		return 0, false
	}
	return 0, false
}

// count fills the dump's counts, the busiest ports and processes.
func (ns *NetNSSummary) count(socks []*Socket, top int) {
	ns.Sockets = len(socks)
	type pf struct {
		p Proto
		f Family
	}
	protos := map[pf]*ProtoCount{}
	ports := map[Port]*PortCount{}
	procs := map[*Process]int{}
	for _, s := range socks {
		k := pf{s.Proto, s.Family}
		pc := protos[k]
		if pc == nil {
			pc = &ProtoCount{Proto: s.Proto, Family: s.Family, States: map[State]int{}}
			protos[k] = pc
		}
		pc.Total++
		pc.States[s.State]++
		if p := s.Port(); p.Num != 0 {
			c := ports[p]
			if c == nil {
				c = &PortCount{Port: p}
				ports[p] = c
			}
			c.Sockets++
			switch {
			case s.State == Listen, s.Proto != TCP && !s.Connected():
				c.Listeners++
			case s.State == Established:
				c.Established++
			}
		}
		var last *Process
		for _, h := range s.Holders {
			if h.Proc != nil && h.Proc != last { // holders are sorted by pid
				procs[h.Proc]++
				last = h.Proc
			}
		}
	}
	for _, pc := range protos {
		ns.Counts = append(ns.Counts, *pc)
	}
	slices.SortFunc(ns.Counts, func(a, b ProtoCount) int {
		return cmp.Or(cmp.Compare(a.Proto, b.Proto), cmp.Compare(a.Family, b.Family))
	})
	for _, c := range ports {
		ns.Ports = append(ns.Ports, *c)
	}
	slices.SortFunc(ns.Ports, func(a, b PortCount) int {
		return cmp.Or(cmp.Compare(b.Sockets, a.Sockets), cmp.Compare(a.Port.Proto, b.Port.Proto), cmp.Compare(a.Port.Num, b.Port.Num))
	})
	ns.Ports = ns.Ports[:min(top, len(ns.Ports))]
	for p, n := range procs {
		ns.Processes = append(ns.Processes, ProcessCount{Proc: p, Sockets: n})
	}
	slices.SortFunc(ns.Processes, func(a, b ProcessCount) int {
		return cmp.Or(cmp.Compare(b.Sockets, a.Sockets), cmp.Compare(a.Proc.PID, b.Proc.PID))
	})
	ns.Processes = ns.Processes[:min(top, len(ns.Processes))]
}

// SSCounts are the numbers `ss -s` prints, computed as it computes them
// from SockStat and TCPEstab. Unknown counters count 0, as in ss.
type SSCounts struct {
	// Total is "sockets: used": every socket of the namespace.
	Total int64
	// TCPTotal is TCP alloc + tw: alloc is host-wide, so this is too.
	TCPTotal int64
	// TCPEstab is CurrEstab (-1 unknown), TCPClosed is alloc minus the
	// hashed (inuse) sockets that are not in TIME-WAIT (host-wide alloc
	// again), TCPOrphaned (host-wide) and TCPTimeWait.
	TCPEstab, TCPClosed, TCPOrphaned, TCPTimeWait int64
	// Transport rows: RAW, UDP, TCP (hashed), INET (their sum) and FRAG,
	// each [IPv4, IPv6].
	Raw, UDP, TCP, Inet, Frag [2]int64
}

// SS returns the namespace's numbers as ss -s computes them.
func (ns *NetNSSummary) SS() SSCounts {
	g := func(p, n string) int64 { v, _ := ns.SockStat.Get(p, n); return v }
	c := SSCounts{
		Total:       g("sockets", "used"),
		TCPTotal:    g("tcp", "alloc") + g("tcp", "tw"),
		TCPEstab:    ns.TCPEstab,
		TCPOrphaned: g("tcp", "orphan"),
		TCPTimeWait: g("tcp", "tw"),
		Raw:         [2]int64{g("raw", "inuse"), g("raw6", "inuse")},
		UDP:         [2]int64{g("udp", "inuse"), g("udp6", "inuse")},
		TCP:         [2]int64{g("tcp", "inuse"), g("tcp6", "inuse")},
		Frag:        [2]int64{g("frag", "inuse"), g("frag6", "inuse")},
	}
	c.TCPClosed = g("tcp", "alloc") - (c.TCP[0] + c.TCP[1] - c.TCPTimeWait)
	for i := range 2 {
		c.Inet[i] = c.Raw[i] + c.UDP[i] + c.TCP[i]
	}
	return c
}
