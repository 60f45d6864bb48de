package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
	"github.com/sockscope/sockscope/internal/sockdiag"
	"github.com/sockscope/sockscope/render"
)

func newDemuxCmd(g *globals) *cobra.Command {
	o := &demuxOptions{}
	cmd := &cobra.Command{
		Use:   "demux tcp|udp SRC:PORT DST:PORT",
		Short: "Which socket gets a segment from SRC to DST? The kernel's lookup, step by step",
		Long: `Show how the kernel picks the socket for an incoming TCP segment or UDP
datagram from SRC:PORT to the local DST:PORT: first the established
4-tuple match (every address and port), then the listener for the address
and port (exact address before wildcard, device, family, SO_REUSEPORT
group); for UDP connected before specific before wildcard.

A SO_REUSEPORT group answers "one of these N, chosen by a hash of the
4-tuple". Unless --no-kernel, the kernel's own lookup is asked too (a
sock_diag get-one request) and the answer says whether it agreed.

Verdicts: socket, one-of, all (UDP broadcast), none. Exit status 0.`,
		Example: `  sockscope demux tcp 10.0.0.7:51000 10.0.0.5:443
  sockscope demux udp 127.0.0.1:40000 127.0.0.1:53
  sockscope demux tcp 127.0.0.1:50000 127.0.0.1:8080 -o json`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemux(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.device, "device", "", "the ingress device (default: the device that owns DST, as for traffic from this host)")
	f.BoolVar(&o.broadcast, "broadcast", false, "UDP: DST is a broadcast address (every matching socket gets a copy)")
	f.BoolVar(&o.noKernel, "no-kernel", false, "do not ask the kernel's own lookup")
	return cmd
}

func runDemux(ctx context.Context, g *globals, o *demuxOptions, args []string) error {
	proto, ok := parseOracleProto(args[0])
	if !ok || proto == sockscope.UDPLite {
		return usagef("bad protocol %q: use tcp or udp", args[0])
	}
	src, err := parseEndpoint("source", args[1], false)
	if err != nil {
		return err
	}
	dst, err := parseEndpoint("destination", args[2], false)
	if err != nil {
		return err
	}
	if dst.Addr().IsUnspecified() {
		return usagef("bad destination %q: a segment is sent to a real address, not the wildcard", args[2])
	}
	if src.Addr().Unmap().Is4() != dst.Addr().Unmap().Is4() {
		return usagef("source %q and destination %q are of different IP versions", args[1], args[2])
	}
	opts, err := g.options()
	if err != nil {
		return err
	}
	opts.Protos = []sockscope.Proto{proto}
	opts.Holders = true
	opts.LocalPort = dst.Port() // every candidate has the destination port as its local port
	snap, err := g.collect(ctx, opts)
	if err != nil {
		return err
	}
	seg := demux.Segment{Proto: proto, Src: src, Dst: dst, Broadcast: o.broadcast}
	var env demux.Env
	var kernel *sockdiag.InetRecord
	var kernelErr error
	if err := g.inTargetNS(func() error {
		env, _ = demux.LoadEnv()
		seg.Ifindex = ingressDevice(env, dst.Addr(), o.device)
		if !o.noKernel && !o.broadcast {
			kernel, kernelErr = kernelLookup(proto, src, dst, seg.Ifindex)
		}
		return nil
	}); err != nil {
		return err
	}
	if o.device != "" && seg.Ifindex == 0 {
		return usagef("unknown device %q for --device", o.device)
	}
	res := demux.Lookup(snap, seg, demux.ReadFlags)
	agrees := kernelAgrees(res, kernel, kernelErr, o.noKernel || o.broadcast)
	g.warn(snap)
	if g.output != "table" {
		return writeDemuxJSON(g.io.Out, res, agrees)
	}
	return writeDemux(g.io.Out, g.style(), seg, res, agrees, kernel, kernelErr)
}

// ingressDevice is the device a segment to dst arrives on when sent from
// this host: the one that owns dst (kernel.md 0.4), or the named one.
func ingressDevice(env demux.Env, dst netip.Addr, name string) uint32 {
	if name != "" {
		return env.Interfaces[name]
	}
	ifaces, err := netInterfaces()
	if err != nil {
		return 0
	}
	for _, it := range ifaces {
		for _, a := range it.addrs {
			if a.Contains(dst.Unmap()) && (a.Addr() == dst.Unmap() || it.loopback) {
				return it.index
			}
		}
	}
	return 0
}

func kernelLookup(proto sockscope.Proto, src, dst netip.AddrPort, ifindex uint32) (*sockdiag.InetRecord, error) {
	c, err := sockdiag.Dial()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	fam := uint8(unix.AF_INET6)
	if dst.Addr().Unmap().Is4() {
		fam = unix.AF_INET
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	}
	p := uint8(unix.IPPROTO_TCP)
	if proto == sockscope.UDP {
		p = unix.IPPROTO_UDP
	}
	r, err := c.LookupInet(fam, p, src, dst, ifindex)
	if err != nil {
		return nil, err
	}
	cp := *r
	return &cp, nil
}

// kernelAgrees compares the prediction with the kernel's lookup: nil when
// the kernel was not asked or could not answer.
func kernelAgrees(res demux.LookupResult, k *sockdiag.InetRecord, kerr error, skipped bool) *bool {
	if skipped {
		return nil
	}
	var v bool
	switch {
	case errors.Is(kerr, sockdiag.ErrNotFound):
		v = res.Verdict == demux.None
	case kerr != nil:
		return nil
	default:
		for _, c := range res.Candidates {
			if c.Cookie != 0 && c.Cookie == k.Cookie {
				v = true
			}
		}
	}
	return &v
}

func writeDemux(w io.Writer, st render.Style, seg demux.Segment, res demux.LookupResult, agrees *bool, k *sockdiag.InetRecord, kerr error) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s segment %s -> %s\n\n", seg.Proto, sockscope.FormatAddrPort(seg.Src), sockscope.FormatAddrPort(seg.Dst))
	for i, s := range res.Steps {
		fmt.Fprintf(&b, "%d. %s: %s\n", i+1, s.Name, render.Sanitize(s.Detail))
		for _, m := range s.Matched {
			fmt.Fprintf(&b, "     %s %s %s -> %s  %s\n", m.Proto, m.State, sockscope.FormatAddrPort(m.Local), sockscope.FormatAddrPort(m.Remote), holderOrNone(m))
		}
	}
	b.WriteString("\n")
	switch res.Verdict {
	case demux.One:
		s := res.Socket
		fmt.Fprintf(&b, "%s the %s socket %s", render.Paint("Delivered to", render.Bold, st.Color), s.State, sockscope.FormatAddrPort(s.Local))
		if s.Connected() {
			fmt.Fprintf(&b, " -> %s", sockscope.FormatAddrPort(s.Remote))
		}
		fmt.Fprintf(&b, ", held by %s (cookie %d).\n", holderOrNone(s), s.Cookie)
	case demux.OneOf:
		fmt.Fprintf(&b, "%s one of these %d sockets, chosen by a keyed hash of the 4-tuple (or a hidden option):\n", render.Paint("Delivered to", render.Bold, st.Color), len(res.Candidates))
		for _, s := range res.Candidates {
			fmt.Fprintf(&b, "  %s %s  %s (cookie %d)\n", s.State, sockscope.FormatAddrPort(s.Local), holderOrNone(s), s.Cookie)
		}
	case demux.All:
		fmt.Fprintf(&b, "Delivered to every one of these %d sockets (a copy each):\n", len(res.Candidates))
		for _, s := range res.Candidates {
			fmt.Fprintf(&b, "  %s %s  %s\n", s.State, sockscope.FormatAddrPort(s.Local), holderOrNone(s))
		}
	default:
		if seg.Proto == sockscope.TCP {
			b.WriteString("No socket: the kernel answers with a reset (RST); a connect() would get ECONNREFUSED.\n")
		} else {
			b.WriteString("No socket: the kernel answers with ICMP port unreachable; a connected sender gets ECONNREFUSED.\n")
		}
	}
	switch {
	case agrees == nil && kerr != nil:
		fmt.Fprintf(&b, "The kernel's own lookup could not be asked: %s\n", render.Sanitize(kerr.Error()))
	case agrees == nil:
	case *agrees && k != nil:
		fmt.Fprintf(&b, "The kernel's own lookup agrees: cookie %d.\n", k.Cookie)
	case *agrees:
		b.WriteString("The kernel's own lookup agrees: no socket.\n")
	case k != nil:
		fmt.Fprintf(&b, "%s: the kernel's own lookup chose cookie %d (%s:%d).\n", render.Paint("The kernel disagrees", render.Red, st.Color), k.Cookie, k.Src, k.SrcPort)
	default:
		fmt.Fprintf(&b, "%s: the kernel's own lookup found no socket.\n", render.Paint("The kernel disagrees", render.Red, st.Color))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeDemuxJSON(w io.Writer, res demux.LookupResult, agrees *bool) error {
	b := []byte(`{"version":1,"verdict":`)
	b = render.AppendJSONString(b, string(res.Verdict))
	b = append(b, `,"socket":`...)
	if res.Socket != nil {
		b = render.AppendSocketJSON(b, res.Socket)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"candidates":[`...)
	for i, c := range res.Candidates {
		if i > 0 {
			b = append(b, ',')
		}
		b = render.AppendSocketJSON(b, c)
	}
	b = append(b, `],"steps":[`...)
	for i, s := range res.Steps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = render.AppendJSONString(b, s.Name)
		b = append(b, `,"detail":`...)
		b = render.AppendJSONString(b, s.Detail)
		b = append(b, `,"matched":[`...)
		for j, m := range s.Matched {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, m.Cookie, 10)
		}
		b = append(b, "]}"...)
	}
	b = append(b, `],"kernel_agrees":`...)
	if agrees == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendBool(b, *agrees)
	}
	b = append(b, "}\n"...)
	_, err := w.Write(b)
	return err
}
