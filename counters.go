package sockscope

import (
	"fmt"

	"github.com/sockscope/sockscope/internal/procnet"
)

// NetCounters are a network namespace's TCP listen counters, from the
// TcpExt lines of its /proc/net/netstat (nstat calls them
// TcpExtListenOverflows and TcpExtListenDrops). They count since the
// namespace was created and only grow (modulo wrap-around).
type NetCounters struct {
	// ListenOverflows counts connections a listener could not take
	// because its accept queue was full (the final ACK of the handshake,
	// or a SYN, was dropped).
	ListenOverflows uint64
	// ListenDrops counts every connection a listener dropped, overflows
	// included (also no memory, no route, ...).
	ListenDrops uint64
}

// readNetCounters reads the counters of the calling thread's namespace:
// /proc/thread-self/net, never /proc/self/net, which shows the
// thread-group leader's namespace (docs/kernel.md N3, M2).
func readNetCounters(procRoot string) (*NetCounters, error) {
	m, err := procnet.FS{Root: procRoot}.Netstat("thread-self/net/netstat")
	if err != nil {
		return nil, fmt.Errorf("read listen counters: %w", err)
	}
	ext, ok := m["TcpExt"]
	if !ok {
		return nil, fmt.Errorf("read listen counters: %s/thread-self/net/netstat has no TcpExt lines", procRoot)
	}
	return &NetCounters{ListenOverflows: ext["ListenOverflows"], ListenDrops: ext["ListenDrops"]}, nil
}
