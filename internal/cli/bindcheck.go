package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
	"github.com/sockscope/sockscope/render"
)

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
