package cli

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/sockscope/sockscope"
)

// oneNetNS is a usage error when the namespace flags name more than one
// namespace: bind-check and demux read one.
func (g *globals) oneNetNS() error {
	if g.allNetNS {
		return usagef("this command reads one namespace: use --netns NAME, not --all-netns")
	}
	if len(g.netns) > 1 {
		return usagef("this command reads one namespace, got --netns %s", strings.Join(g.netns, ","))
	}
	return nil
}

// inTargetNS runs fn in the namespace --netns names, or here
// (sockscope.InNetNS).
func (g *globals) inTargetNS(fn func() error) error {
	if err := g.oneNetNS(); err != nil {
		return err
	}
	return sockscope.InNetNS(context.Background(), sockscope.Options{NetNS: g.netns, ProcRoot: g.procRoot}, fn)
}

// parseEndpoint parses "ADDR:PORT", "[V6]:PORT", "*:PORT", ":PORT" or
// "PORT" (the last three mean the IPv4 wildcard).
func parseEndpoint(what, s string, allowZeroPort bool) (netip.AddrPort, error) {
	bad := func(why string) error {
		return usagef("bad %s %q: %s; write ADDR:PORT, e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080 or :8080", what, s, why)
	}
	if s == "" {
		return netip.AddrPort{}, bad("it is empty")
	}
	host, port := "", s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
	}
	if strings.HasPrefix(host, "[") != strings.HasSuffix(host, "]") {
		return netip.AddrPort{}, bad("unbalanced brackets")
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	n, err := strconv.ParseUint(port, 10, 32)
	if err != nil {
		_, num, perr := parsePort(port)
		if perr != nil {
			return netip.AddrPort{}, bad(fmt.Sprintf("%q is not a port number or service name", port))
		}
		n = uint64(num)
	}
	if n > 65535 || (n == 0 && !allowZeroPort) {
		return netip.AddrPort{}, bad("a port is a number from 1 to 65535")
	}
	var addr netip.Addr
	switch host {
	case "", "*":
		addr = netip.IPv4Unspecified()
	default:
		addr, err = netip.ParseAddr(host)
		if err != nil {
			return netip.AddrPort{}, bad(fmt.Sprintf("%q is not an IP address", host))
		}
	}
	return netip.AddrPortFrom(addr, uint16(n)), nil
}

func parseOracleProto(s string) (sockscope.Proto, bool) {
	switch s {
	case "tcp":
		return sockscope.TCP, true
	case "udp":
		return sockscope.UDP, true
	case "udplite":
		return sockscope.UDPLite, true
	}
	return 0, false
}
