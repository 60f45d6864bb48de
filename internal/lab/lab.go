package lab

import (
	"context"
	"time"

	"github.com/sockscope/sockscope"
)

// Results of an experiment.
const (
	Pass = "PASS" // the kernel, the snapshot and the oracle bear the claim out
	Fail = "FAIL" // something contradicted the claim, or the experiment broke
	Skip = "SKIP" // the experiment cannot run here; Details says why
)

// Namespaces an experiment can run in.
const (
	Private = "private" // a network namespace made for the experiment
	Shared  = "shared"  // the loopback of the caller's own namespace
)

// Experiment is one claim and the procedure that checks it.
type Experiment struct {
	// Name is the short name `sockscope lab NAME` takes.
	Name string
	// Claim is the statement the experiment checks, in one sentence.
	Claim string
}

// experiments lists every experiment, in the order `lab` runs them.
var experiments = []Experiment{
	{"shared-port", "many sockets share one port: a listener and every connection it accepts have the same local address and port"},
	{"one-listener", "one listener per address and port: a second listen() on the same address:port fails with EADDRINUSE, even with SO_REUSEADDR on both"},
	{"reuseport", "a SO_REUSEPORT group: several listeners share one address:port, new connections are spread among them, and the same 4-tuple always reaches the same one"},
	{"specific-beats-wildcard", "a specific address beats the wildcard: with 127.0.0.1:P and 0.0.0.0:P listening (SO_REUSEPORT on both), 127.0.0.1 reaches the specific listener and 127.0.0.2 the wildcard one"},
	{"time-wait", "TIME-WAIT blocks a rebind: binding the port again fails with EADDRINUSE unless both the new socket and the one that left the TIME-WAIT set SO_REUSEADDR"},
	{"dual-stack", "dual-stack [::] blocks 0.0.0.0: an IPv6 socket on [::]:P with IPV6_V6ONLY off owns 0.0.0.0:P too; with IPV6_V6ONLY on it does not"},
	{"shared-ephemeral", "two client sockets share one local port: bound to the same port with SO_REUSEADDR, they connect to different servers, and the 4-tuple tells the connections apart"},
	{"udp-connected", "UDP: a connected socket beats an unconnected one on the same address:port for its peer's datagrams; other senders reach the unconnected one"},
	{"unix-no-port", "Unix sockets have no port: they are named by a path, an abstract name or nothing (socketpair), and the two ends of a connection are linked"},
}

// List returns every experiment, in the order `lab` runs them.
func List() []Experiment { return append([]Experiment(nil), experiments...) }

// Names returns the experiments' names.
func Names() []string {
	names := make([]string, len(experiments))
	for i, e := range experiments {
		names[i] = e.Name
	}
	return names
}

// Find returns the experiment with that name.
func Find(name string) (Experiment, bool) {
	for _, e := range experiments {
		if e.Name == name {
			return e, true
		}
	}
	return Experiment{}, false
}

// Options tune Run. The zero value is ready to use.
type Options struct {
	// Timeout bounds one experiment; 0 means 10s.
	Timeout time.Duration
	// Shared runs the experiment on the loopback of the caller's own
	// namespace even where a private namespace could be made.
	Shared bool
}

// Report is what one experiment found.
type Report struct {
	Experiment
	// Result is Pass, Fail or Skip.
	Result string
	// Namespace is Private or Shared; "" when the experiment was skipped
	// before it chose.
	Namespace string
	// Details tell what was done and seen, one line each: "kernel: ...",
	// "snapshot: ...", "oracle: ...", and "FAIL: ..." for each contradiction.
	Details []string
	// Sockets are sockscope's view of the sockets the experiment built,
	// taken from its snapshot, with their holders.
	Sockets []*sockscope.Socket
}

// Run performs one experiment and reports it. It never panics; a broken
// experiment reports Fail with the reason.
func Run(ctx context.Context, e Experiment, o Options) Report {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	return run(ctx, e, o)
}
