package demux

import (
	"fmt"
	"strings"

	"github.com/sockscope/sockscope"
)

// This file is the English of the port explanation; explain.go computes
// what it says.

// Sentences puts the report into a few plain sentences: how many sockets
// share the port and in which states, how many listen, and which socket a
// new connection (or datagram) to each listening address would reach, and
// why.
func (r PortReport) Sentences() []string {
	p := r.Port
	if !r.Valid {
		return []string{fmt.Sprintf("%s is not a port: only TCP and UDP sockets have ports", p)}
	}
	if r.Sockets == 0 {
		return []string{fmt.Sprintf("No socket uses %s: a bind to it meets no conflict, and a connection to it is refused.", p)}
	}
	var parts []string
	for _, sc := range r.States {
		parts = append(parts, fmt.Sprintf("%d %s", sc.Count, sc.State))
	}
	noun := "socket uses"
	if r.Sockets > 1 {
		noun = "sockets share"
	}
	first := fmt.Sprintf("%d %s %s: %s.", r.Sockets, noun, p, strings.Join(parts, ", "))
	if r.Namespaces > 1 {
		first += fmt.Sprintf(" They live in %d network namespaces, each with its own socket table.", r.Namespaces)
	}
	out := []string{first}
	if p.Proto == sockscope.TCP {
		switch r.Listeners {
		case 0:
			out = append(out, "Nothing listens, so a new connection is refused; the sockets here are ends of existing connections or bound sockets, which never accept.")
		case 1:
			out = append(out, "1 socket listens: it is the only one that receives new connections; every accepted connection becomes a separate socket with the same local port.")
		default:
			out = append(out, fmt.Sprintf("%d sockets listen: they are on addresses or devices that do not overlap, or in SO_REUSEPORT groups.", r.Listeners))
		}
	} else if r.Listeners == 1 {
		out = append(out, "1 unconnected socket receives datagrams to this port; UDP has no listeners or connections on the wire.")
	} else if r.Listeners > 1 {
		out = append(out, fmt.Sprintf("%d unconnected sockets receive datagrams to this port; UDP has no listeners or connections on the wire.", r.Listeners))
	}
	for _, pr := range r.Probes {
		out = append(out, probeSentence(pr))
	}
	return out
}

func probeSentence(pr Probe) string {
	res := pr.Result
	what := "A new connection"
	if pr.Segment.Proto != sockscope.TCP {
		what = "A datagram"
	}
	to := sockscope.FormatAddrPort(pr.Segment.Dst)
	why := ""
	if n := len(res.Steps); n > 0 {
		why = res.Steps[n-1].Detail
	}
	switch res.Verdict {
	case One:
		return fmt.Sprintf("%s to %s reaches %s. Why: %s.", what, to, describe(res.Socket), why)
	case OneOf:
		var names []string
		for _, c := range res.Candidates {
			names = append(names, describe(c))
		}
		return fmt.Sprintf("%s to %s reaches one of %d sockets (%s), %s. Why: %s.", what, to, len(names), strings.Join(names, "; "), chosenBy(res.Ambiguity), why)
	case All:
		return fmt.Sprintf("%s to %s reaches every one of %d sockets.", what, to, len(res.Candidates))
	case NotLocal:
		return fmt.Sprintf("%s to %s is not delivered locally: %s.", what, to, why)
	}
	return fmt.Sprintf("%s to %s reaches no socket. %s.", what, to, why)
}

// chosenBy says what picks among the candidates of a OneOf verdict.
func chosenBy(a Ambiguity) string {
	switch {
	case a.Has(ReuseportBPF):
		return "chosen by the group's reuseport BPF program, which sockscope cannot run"
	case a.Has(ReuseportHash | HiddenInput):
		return "chosen by a keyed hash of the 4-tuple or by socket options the kernel does not show"
	case a.Has(ReuseportHash):
		return "chosen by a keyed hash of the 4-tuple (a SO_REUSEPORT group)"
	default:
		return "depending on socket options the kernel does not show"
	}
}
