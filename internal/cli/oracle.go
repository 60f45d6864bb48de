package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
	"github.com/sockscope/sockscope/internal/netns"
	"github.com/sockscope/sockscope/internal/sockdiag"
	"github.com/sockscope/sockscope/render"
)

func init() {
	moreCommands = append(moreCommands, newBindCheckCmd, newDemuxCmd)
	portExplain = demux.ExplainPort
}

// inTargetNS runs fn in the namespace --netns names, or here.
func (g *globals) inTargetNS(fn func() error) error {
	if g.allNetNS {
		return usagef("this command reads one namespace: use --netns NAME, not --all-netns")
	}
	if len(g.netns) == 0 {
		return fn()
	}
	if len(g.netns) > 1 {
		return usagef("this command reads one namespace, got --netns %s", strings.Join(g.netns, ","))
	}
	ns, err := netns.Resolve(g.netns[0], g.procRoot)
	if err != nil {
		return usagef("%v", err)
	}
	return netns.Do(ns, fn)
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

type bindCheckOptions struct {
	reuseAddr, reusePort bool
	v6only               string
	device               string
	uid                  int
	noListen             bool
	freebind             bool
}

func newBindCheckCmd(g *globals) *cobra.Command {
	o := &bindCheckOptions{}
	cmd := &cobra.Command{
		Use:   "bind-check [tcp|udp] ADDR:PORT",
		Short: "Would bind() to ADDR:PORT succeed? If not, which socket blocks it, and why",
		Long: `Predict bind(2) — and for TCP the listen(2) after it, which repeats the
check — for a new socket described by the flags, from the live socket table
and the kernel's rules. The answer is one of:

  would succeed             exit 0
  would fail (EADDRINUSE, EACCES, EADDRNOTAVAIL, EINVAL)   exit 1
  depends on a flag sockscope cannot see (SO_REUSEADDR or SO_REUSEPORT of
  an existing socket)       exit 3

It names the blocking sockets with their state and holders, states the rule
in plain words, and says what would help. As root it reads the hidden flags
of existing sockets (pidfd_getfd + getsockopt, read only); otherwise it
answers "depends" where they decide. Every socket that holds the port
counts: listeners, connections, bound-only sockets and TIME-WAIT.`,
		Example: `  sockscope bind-check 0.0.0.0:8080
  sockscope bind-check tcp [::]:443 --reuseport --uid 33
  sockscope bind-check udp 127.0.0.1:5353 --reuseaddr
  sockscope bind-check tcp 127.0.0.1:9000 --no-listen -o json`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBindCheck(cmd.Context(), g, o, args, cmd.Flags().Changed("uid"))
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.reuseAddr, "reuseaddr", false, "the new socket sets SO_REUSEADDR")
	f.BoolVar(&o.reusePort, "reuseport", false, "the new socket sets SO_REUSEPORT")
	f.StringVar(&o.v6only, "v6only", "default", "IPV6_V6ONLY of an IPv6 socket: yes, no or default (net.ipv6.bindv6only)")
	f.Lookup("v6only").NoOptDefVal = "yes"
	f.StringVar(&o.device, "device", "", "the new socket is bound to this device (SO_BINDTODEVICE)")
	f.IntVar(&o.uid, "uid", os.Geteuid(), "the uid that will create the socket (SO_REUSEPORT needs the same uid)")
	f.BoolVar(&o.noListen, "no-listen", false, "TCP: check bind() only, not the listen() after it")
	f.BoolVar(&o.freebind, "freebind", false, "the new socket sets IP_FREEBIND (may bind a non-local address)")
	return cmd
}

func runBindCheck(ctx context.Context, g *globals, o *bindCheckOptions, args []string, _ bool) error {
	proto := sockscope.TCP
	if len(args) == 2 {
		p, ok := parseOracleProto(args[0])
		if !ok {
			return usagef("bad protocol %q: use tcp, udp or udplite", args[0])
		}
		proto = p
		args = args[1:]
	}
	ap, err := parseEndpoint("address", args[0], true)
	if err != nil {
		return err
	}
	req := demux.BindRequest{Proto: proto, Addr: ap, ReuseAddr: o.reuseAddr, ReusePort: o.reusePort,
		Listen: proto == sockscope.TCP && !o.noListen, Freebind: o.freebind}
	switch o.v6only {
	case "default", "":
	case "yes", "true", "1":
		req.V6Only = sockscope.Yes
	case "no", "false", "0":
		req.V6Only = sockscope.No
	default:
		return usagef("bad --v6only %q: use yes, no or default", o.v6only)
	}
	if o.uid < 0 || o.uid > 1<<32-2 {
		return usagef("bad --uid %d: a uid is a number from 0 to 4294967294", o.uid)
	}
	req.UID = uint32(o.uid)
	opts, err := g.options()
	if err != nil {
		return err
	}
	opts.AllNetNS = false
	opts.Protos = []sockscope.Proto{proto}
	opts.Holders = true
	opts.LocalPort = ap.Port() // 0 (let the kernel choose) reads every port
	snap, err := g.collect(ctx, opts)
	if err != nil {
		return err
	}
	var env demux.Env
	var envErr error
	if err := g.inTargetNS(func() error {
		env, envErr = demux.LoadEnv()
		return nil
	}); err != nil {
		return err
	}
	if o.device != "" {
		idx, ok := env.Interfaces[o.device]
		if !ok {
			names := make([]string, 0, len(env.Interfaces))
			for n := range env.Interfaces {
				names = append(names, n)
			}
			return usagef("unknown device %q for --device: this namespace has %s", o.device, strings.Join(names, ", "))
		}
		req.Device = idx
	}
	res := demux.CheckBind(snap, req, env, demux.ReadFlags)
	g.warn(snap)
	if envErr != nil && g.output == "table" {
		fmt.Fprintf(g.io.ErrOut, "sockscope: note: %s\n", render.Sanitize(envErr.Error()))
	}
	var werr error
	if g.output == "table" {
		werr = writeBindResult(g.io.Out, g.style(), req, res)
	} else {
		werr = writeBindJSON(g.io.Out, res)
	}
	if werr != nil {
		return werr
	}
	switch res.Verdict {
	case demux.Fail:
		return &exitError{code: ExitError}
	case demux.Depends:
		return &exitError{code: ExitDepends}
	}
	return nil
}

func describeRequest(req demux.BindRequest) string {
	var opts []string
	if req.ReuseAddr {
		opts = append(opts, "SO_REUSEADDR")
	}
	if req.ReusePort {
		opts = append(opts, "SO_REUSEPORT")
	}
	s := fmt.Sprintf("%s bind to %s", req.Proto, sockscope.FormatAddrPort(req.Addr))
	if req.Addr.Addr().IsUnspecified() && req.Addr.Addr().Is4() {
		s = fmt.Sprintf("%s bind to 0.0.0.0:%d", req.Proto, req.Addr.Port())
	}
	if req.Listen {
		s += " and listen"
	}
	if len(opts) > 0 {
		s += " with " + strings.Join(opts, "+")
	}
	return s + fmt.Sprintf(" as uid %d", req.UID)
}

func writeBindResult(w io.Writer, st render.Style, req demux.BindRequest, res demux.BindResult) error {
	var b strings.Builder
	verdict := map[string]string{demux.OK: "would succeed", demux.Fail: "would fail", demux.Depends: "depends on a flag sockscope cannot see"}[res.Verdict]
	color := map[string]render.Color{demux.OK: render.Green, demux.Fail: render.Red, demux.Depends: render.Yellow}[res.Verdict]
	head := describeRequest(req) + ": " + verdict
	if res.Errno != "" {
		if res.Verdict == demux.Depends {
			head += " (else " + res.Errno
		} else {
			head += " (" + res.Errno
		}
		if res.Phase != "" {
			head += " at " + res.Phase + "()"
		}
		head += ")"
	}
	b.WriteString(render.Paint(head, color, st.Color) + "\n")
	if res.Rule != "" {
		b.WriteString("\n" + render.Sanitize(res.Rule) + "\n")
	}
	if len(res.Blockers) > 0 {
		b.WriteString("\nSockets in the way:\n")
		for _, bl := range res.Blockers {
			s := bl.Socket
			mark := "blocks"
			if !bl.Definite {
				mark = "may block"
			}
			fmt.Fprintf(&b, "  %s  %s %s  %s  %s\n    %s\n", mark, s.Proto, s.State, sockscope.FormatAddrPort(s.Local),
				holderOrNone(s), render.Sanitize(bl.Reason))
		}
	}
	if len(res.DependsOn) > 0 {
		b.WriteString("\nThe answer turns on:\n")
		for _, d := range res.DependsOn {
			b.WriteString("  - " + render.Sanitize(d) + "\n")
		}
	}
	if len(res.Help) > 0 {
		b.WriteString("\nWhat would help:\n")
		for _, h := range res.Help {
			b.WriteString("  - " + render.Sanitize(h) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func holderOrNone(s *sockscope.Socket) string {
	if len(s.Holders) > 0 {
		return render.HolderText(s.Holders, 3)
	}
	if s.HoldersHidden {
		return "(holder hidden)"
	}
	return "(no holder)"
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = render.AppendJSONString(b, s)
	}
	return append(b, ']')
}

func writeBindJSON(w io.Writer, res demux.BindResult) error {
	b := []byte(`{"version":1,"verdict":`)
	b = render.AppendJSONString(b, res.Verdict)
	b = append(b, `,"errno":`...)
	if res.Errno == "" {
		b = append(b, "null"...)
	} else {
		b = render.AppendJSONString(b, res.Errno)
	}
	b = append(b, `,"phase":`...)
	b = render.AppendJSONString(b, res.Phase)
	b = append(b, `,"blockers":[`...)
	for i, bl := range res.Blockers {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"definite":`...)
		b = strconv.AppendBool(b, bl.Definite)
		b = append(b, `,"reason":`...)
		b = render.AppendJSONString(b, bl.Reason)
		b = append(b, `,"socket":`...)
		b = render.AppendSocketJSON(b, bl.Socket)
		b = append(b, '}')
	}
	b = append(b, `],"rule":`...)
	b = render.AppendJSONString(b, res.Rule)
	b = append(b, `,"depends_on":`...)
	b = appendStrings(b, res.DependsOn)
	b = append(b, `,"cache_dependent":`...)
	b = strconv.AppendBool(b, res.CacheDependent)
	b = append(b, `,"help":`...)
	b = appendStrings(b, res.Help)
	b = append(b, "}\n"...)
	_, err := w.Write(b)
	return err
}

type demuxOptions struct {
	device    string
	broadcast bool
	noKernel  bool
}

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
	b = render.AppendJSONString(b, res.Verdict)
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
