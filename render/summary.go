package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sockscope/sockscope"
)

// WriteSummary prints a summary as ss -s does, per namespace (with a title
// line when there are several, or st.NetNS), followed by what ss does not
// print: the dump's sockets by protocol and state, the busiest ports and
// the busiest processes.
func WriteSummary(w io.Writer, sum *sockscope.Summary, st Style) error {
	var b strings.Builder
	for i, ns := range sum.NetNS {
		if i > 0 {
			b.WriteByte('\n')
		}
		if len(sum.NetNS) > 1 || st.NetNS {
			fmt.Fprintf(&b, "== netns %s (%d) ==\n", Sanitize(ns.NetNS.Name), ns.NetNS.Inode)
		}
		writeNSSummary(&b, ns, st)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeNSSummary(b *strings.Builder, ns *sockscope.NetNSSummary, st Style) {
	if ns.SockStat != nil {
		c := ns.SS()
		fmt.Fprintf(b, "Total: %d\n", c.Total)
		fmt.Fprintf(b, "TCP:   %d (estab %d, closed %d, orphaned %d, timewait %d)\n\n", c.TCPTotal, c.TCPEstab, c.TCPClosed, c.TCPOrphaned, c.TCPTimeWait)
		fmt.Fprintf(b, "Transport Total     IP        IPv6\n")
		for _, r := range []struct {
			name string
			v    [2]int64
		}{{"RAW", c.Raw}, {"UDP", c.UDP}, {"TCP", c.TCP}, {"INET", c.Inet}, {"FRAG", c.Frag}} {
			fmt.Fprintf(b, "%-9s %-9d %-9d %-9d\n", r.name, r.v[0]+r.v[1], r.v[0], r.v[1])
		}
	} else {
		b.WriteString("(the kernel's counters could not be read)\n")
	}
	fmt.Fprintf(b, "\nSockets listed: %d\n", ns.Sockets)
	if len(ns.Counts) > 0 {
		fmt.Fprintf(b, "%-8s %-6s %6s  %s\n", "PROTO", "FAMILY", "TOTAL", "BY STATE")
		for _, pc := range ns.Counts {
			fmt.Fprintf(b, "%-8s %-6s %6d  %s\n", pc.Proto, familyName(pc.Family), pc.Total, statesText(pc.States))
		}
	}
	if len(ns.Ports) > 0 {
		fmt.Fprintf(b, "\nBusiest ports\n%-14s %7s %9s %6s\n", "PORT", "SOCKETS", "LISTENING", "ESTAB")
		for _, p := range ns.Ports {
			name := p.Port.String()
			if !st.Numeric && st.Services != nil {
				if s := st.Services(p.Port.Num, p.Port.Proto.String()); s != "" {
					name = p.Port.Proto.String() + "/" + Sanitize(s)
				}
			}
			fmt.Fprintf(b, "%-14s %7d %9d %6d\n", name, p.Sockets, p.Listeners, p.Established)
		}
	}
	if len(ns.Processes) > 0 {
		fmt.Fprintf(b, "\nBusiest processes\n%7s %7s  %s\n", "PID", "SOCKETS", "PROCESS")
		for _, p := range ns.Processes {
			fmt.Fprintf(b, "%7d %7d  %s\n", p.Proc.PID, p.Sockets, Sanitize(p.Proc.Comm))
		}
	}
}

// familyName is "ipv4", "ipv6" or "unix".
func familyName(f sockscope.Family) string {
	switch f {
	case sockscope.FamilyInet:
		return "ipv4"
	case sockscope.FamilyInet6:
		return "ipv6"
	}
	return f.String()
}

// statesText is "ESTAB 4, LISTEN 1", in state-number order.
func statesText(m map[sockscope.State]int) string {
	var parts []string
	for s := sockscope.StateUnknown; s <= sockscope.BoundInactive; s++ {
		if n := m[s]; n > 0 {
			parts = append(parts, s.String()+" "+strconv.Itoa(n))
		}
	}
	return strings.Join(parts, ", ")
}

type (
	summaryJSON struct {
		Version  int             `json:"version"`
		NetNS    []nsSummaryJSON `json:"netns"`
		Warnings json.RawMessage `json:"warnings"`
	}
	nsSummaryJSON struct {
		NetNS     *netnsJSON         `json:"netns"`
		SockStat  sockscope.SockStat `json:"sockstat"`
		SS        *ssCountsJSON      `json:"ss"`
		Sockets   int                `json:"sockets"`
		Protocols []protoCountJSON   `json:"protocols"`
		Ports     []portCountJSON    `json:"busiest_ports"`
		Processes []processCountJSON `json:"busiest_processes"`
	}
	ssCountsJSON struct {
		Total       int64            `json:"total"`
		TCPTotal    int64            `json:"tcp_total"`
		TCPEstab    int64            `json:"tcp_estab"`
		TCPClosed   int64            `json:"tcp_closed"`
		TCPOrphaned int64            `json:"tcp_orphaned"`
		TCPTimeWait int64            `json:"tcp_timewait"`
		Transport   map[string]ipv46 `json:"transport"`
	}
	ipv46 struct {
		Total int64 `json:"total"`
		IPv4  int64 `json:"ipv4"`
		IPv6  int64 `json:"ipv6"`
	}
	protoCountJSON struct {
		Proto  string         `json:"proto"`
		Family string         `json:"family"`
		Total  int            `json:"total"`
		States stateCountJSON `json:"states"`
	}
	portCountJSON struct {
		Proto       string `json:"proto"`
		Port        uint16 `json:"port"`
		Sockets     int    `json:"sockets"`
		Listening   int    `json:"listening"`
		Established int    `json:"established"`
	}
	processCountJSON struct {
		PID     int    `json:"pid"`
		Comm    string `json:"comm"`
		User    string `json:"user"`
		Sockets int    `json:"sockets"`
	}
)

// stateCountJSON is {"ESTAB":4,"LISTEN":1} in state-number order.
type stateCountJSON map[sockscope.State]int

// MarshalJSON implements json.Marshaler.
func (m stateCountJSON) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for s := sockscope.StateUnknown; s <= sockscope.BoundInactive; s++ {
		if n := m[s]; n > 0 {
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s.String())
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(n), 10)
		}
	}
	return append(b, '}'), nil
}

// WriteSummaryJSON writes the summary document (docs/json.md): one JSON
// object and a newline.
func WriteSummaryJSON(w io.Writer, sum *sockscope.Summary) error {
	doc := summaryJSON{Version: SchemaVersion, NetNS: []nsSummaryJSON{}, Warnings: AppendWarningsJSON(nil, sum.Warnings)}
	for _, ns := range sum.NetNS {
		j := nsSummaryJSON{
			NetNS: netnsOf(ns.NetNS), SockStat: ns.SockStat, Sockets: ns.Sockets,
			Protocols: []protoCountJSON{}, Ports: []portCountJSON{}, Processes: []processCountJSON{},
		}
		if ns.SockStat != nil {
			c := ns.SS()
			row := func(v [2]int64) ipv46 { return ipv46{v[0] + v[1], v[0], v[1]} }
			j.SS = &ssCountsJSON{
				Total: c.Total, TCPTotal: c.TCPTotal, TCPEstab: c.TCPEstab, TCPClosed: c.TCPClosed,
				TCPOrphaned: c.TCPOrphaned, TCPTimeWait: c.TCPTimeWait,
				Transport: map[string]ipv46{"raw": row(c.Raw), "udp": row(c.UDP), "tcp": row(c.TCP), "inet": row(c.Inet), "frag": row(c.Frag)},
			}
		}
		for _, pc := range ns.Counts {
			j.Protocols = append(j.Protocols, protoCountJSON{Proto: pc.Proto.String(), Family: familyName(pc.Family), Total: pc.Total, States: pc.States})
		}
		for _, p := range ns.Ports {
			j.Ports = append(j.Ports, portCountJSON{Proto: p.Port.Proto.String(), Port: p.Port.Num, Sockets: p.Sockets, Listening: p.Listeners, Established: p.Established})
		}
		for _, p := range ns.Processes {
			j.Processes = append(j.Processes, processCountJSON{PID: p.Proc.PID, Comm: p.Proc.Comm, User: p.Proc.User, Sockets: p.Sockets})
		}
		doc.NetNS = append(doc.NetNS, j)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
