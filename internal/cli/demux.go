package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
	"github.com/sockscope/sockscope/internal/sysenv"
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
group); for UDP connected before specific before wildcard, and between
unconnected sockets of equal score the most recently bound one.

Unless --no-kernel, the kernel's own lookup is asked too (a sock_diag
get-one request) and the answer says which socket it returned and whether
it agreed. A SO_REUSEPORT group picks its member by a keyed hash of the
4-tuple that only the kernel can compute: its get-one lookup runs the same
selection, so the member it returned is the answer; it also decides where
socket options could not be read. "one of" remains with --no-kernel, when
the kernel could not be asked, and for UDP where the CPU a datagram is
processed on could decide (a connected socket among those scored). A reuseport BPF program attached
to a group (SO_ATTACH_REUSEPORT_CBPF/EBPF) overrides the hash for real
traffic; nothing shows whether one is attached. A DST that is not an
address of the namespace is not delivered locally at all.

Verdicts: socket, one-of, all (UDP broadcast), none, not-local. Exit
status 0.`,
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

// parseDemuxArgs parses PROTO SRC:PORT DST:PORT.
func parseDemuxArgs(args []string) (demux.Segment, error) {
	var seg demux.Segment
	proto, ok := parseOracleProto(args[0])
	if !ok || proto == sockscope.UDPLite {
		return seg, usagef("bad protocol %q: use tcp or udp", args[0])
	}
	src, err := parseEndpoint("source", args[1], false)
	if err != nil {
		return seg, err
	}
	dst, err := parseEndpoint("destination", args[2], false)
	if err != nil {
		return seg, err
	}
	if dst.Addr().IsUnspecified() {
		return seg, usagef("bad destination %q: a segment is sent to a real address, not the wildcard", args[2])
	}
	if src.Addr().Unmap().Is4() != dst.Addr().Unmap().Is4() {
		return seg, usagef("source %q and destination %q are of different IP versions", args[1], args[2])
	}
	return demux.Segment{Proto: proto, Src: src, Dst: dst}, nil
}

func runDemux(ctx context.Context, g *globals, o *demuxOptions, args []string) error {
	seg, err := parseDemuxArgs(args)
	if err != nil {
		return err
	}
	seg.Broadcast = o.broadcast
	if err := g.oneNetNS(); err != nil {
		return err
	}
	opts, err := g.options()
	if err != nil {
		return err
	}
	opts.Protos = []sockscope.Proto{seg.Proto}
	opts.Holders = true
	opts.LocalPort = seg.Dst.Port() // every candidate has the destination port as its local port
	snap, err := g.collect(ctx, opts)
	if err != nil {
		return err
	}
	ifaces, err := sockscope.Interfaces(ctx, opts)
	if err != nil {
		return err
	}
	seg.Local = demux.LocalPrefixes(ifaces)
	if o.device != "" {
		idx, ok := demux.InterfaceIndex(ifaces, o.device)
		if !ok {
			names := make([]string, 0, len(ifaces))
			for _, it := range ifaces {
				names = append(names, render.Sanitize(it.Name))
			}
			return usagef("unknown device %q for --device: this namespace has %s", o.device, strings.Join(names, ", "))
		}
		seg.Ifindex = idx
	} else {
		seg.Ifindex = demux.IngressDevice(ifaces, seg.Dst.Addr())
	}
	res := demux.Lookup(snap, seg, sysenv.ReadFlags)
	var k demux.KernelCheck
	if !o.noKernel && !o.broadcast && res.Verdict != demux.NotLocal {
		reply, err := sockscope.LookupSocket(ctx, opts, sockscope.LookupRequest{Proto: seg.Proto, Src: seg.Src, Dst: seg.Dst, Ifindex: seg.Ifindex})
		k = demux.CompareKernel(res, reply, err)
		res = demux.WithKernel(res, k)
	}
	g.warn(snap)
	rep := render.DemuxReport{Segment: seg, Result: res, Kernel: k}
	if g.output != "table" {
		return render.WriteDemuxJSON(g.io.Out, rep)
	}
	if err := render.WriteDemux(g.io.Out, g.style(), rep); err != nil {
		return fmt.Errorf("write demux: %w", err)
	}
	return nil
}
