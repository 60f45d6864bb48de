package cli

import (
	"context"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
	"github.com/sockscope/sockscope/internal/sysenv"
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
  depends on something sockscope cannot see (SO_REUSEADDR or SO_REUSEPORT
  of an existing socket, the port's bind-bucket cache)     exit 3

It names the blocking sockets with their state and holders (sockets that
block for the same reason, such as thousands of TIME-WAIT sockets on one
address, print as one line with a count and a few examples), states the
rule in plain words, and says what would help. As root it reads the hidden
flags of existing sockets (pidfd_getfd + getsockopt, read only); otherwise
it answers "depends" where they would change the answer. Every socket that
holds the port counts: listeners, connections, bound-only sockets and
TIME-WAIT. A port below net.ipv4.ip_unprivileged_port_start (of the target
namespace) needs CAP_NET_BIND_SERVICE: by default a process of --uid 0 has
it and other uids do not; --cap-net-bind-service says otherwise.`,
		Example: `  sockscope bind-check 0.0.0.0:8080
  sockscope bind-check tcp [::]:443 --reuseport --uid 33
  sockscope bind-check udp 127.0.0.1:5353 --reuseaddr
  sockscope bind-check tcp 127.0.0.1:9000 --no-listen -o json`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.uidSet = cmd.Flags().Changed("uid")
			o.capNetBindSet = cmd.Flags().Changed("cap-net-bind-service")
			return runBindCheck(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.reuseAddr, "reuseaddr", false, "the new socket sets SO_REUSEADDR")
	f.BoolVar(&o.reusePort, "reuseport", false, "the new socket sets SO_REUSEPORT")
	f.StringVar(&o.v6only, "v6only", "default", "IPV6_V6ONLY of an IPv6 socket: yes, no or default (net.ipv6.bindv6only)")
	f.Lookup("v6only").NoOptDefVal = "yes"
	f.StringVar(&o.device, "device", "", "the new socket is bound to this device (SO_BINDTODEVICE)")
	f.IntVar(&o.uid, "uid", os.Geteuid(), "the uid that will create the socket (SO_REUSEPORT needs the same uid; a port below net.ipv4.ip_unprivileged_port_start needs CAP_NET_BIND_SERVICE, which only uid 0 has by default)")
	f.BoolVar(&o.capNetBind, "cap-net-bind-service", false, "the binding process has CAP_NET_BIND_SERVICE (default: as this process if --uid is yours, yes for uid 0, no for other uids)")
	f.BoolVar(&o.noListen, "no-listen", false, "TCP: check bind() only, not the listen() after it")
	f.BoolVar(&o.freebind, "freebind", false, "the new socket sets IP_FREEBIND (may bind a non-local address)")
	return cmd
}

// bindCheckOptions are bind-check's flags.
type bindCheckOptions struct {
	reuseAddr, reusePort bool
	v6only               string
	device               string
	uid                  int
	uidSet               bool
	capNetBind           bool
	capNetBindSet        bool
	noListen             bool
	freebind             bool
}

func runBindCheck(ctx context.Context, g *globals, o *bindCheckOptions, args []string) error {
	req, err := o.request(args)
	if err != nil {
		return err
	}
	snap, err := g.collectPort(ctx, req.Proto, req.Addr.Port())
	if err != nil {
		return err
	}
	env, envErr, err := g.loadEnv()
	if err != nil {
		return err
	}
	if err := o.complete(&req, env); err != nil {
		return err
	}
	res := demux.CheckBind(snap, req, env, sysenv.ReadFlags)
	g.warn(snap)
	if g.output == "table" {
		if envErr != nil {
			g.note(envErr.Error())
		}
		err = render.WriteBindCheck(g.io.Out, g.style(), req, res)
	} else {
		err = render.WriteBindCheckJSON(g.io.Out, req, res)
	}
	if err != nil {
		return err
	}
	return verdictExit(res.Verdict)
}

// collectPort takes a snapshot of one protocol's sockets on one local
// port (every port for 0) in the target namespace, with holders.
func (g *globals) collectPort(ctx context.Context, proto sockscope.Proto, port uint16) (*sockscope.Snapshot, error) {
	opts, err := g.options()
	if err != nil {
		return nil, err
	}
	opts.AllNetNS = false
	opts.Protos = []sockscope.Proto{proto}
	opts.Holders = true
	opts.LocalPort = port
	// As root, read the flags of every socket on the port through BPF
	// (TIME-WAIT sockets and orphans have no holder to ask): the ~20-40 ms
	// load is what definite answers cost. Where BPF cannot load, auto
	// reads as before, without a warning.
	if opts.Source == sockscope.SourceAuto && os.Geteuid() == 0 {
		if bp, err := sockscope.LoadBPF(); err == nil {
			defer bp.Close()
			opts.Source, opts.BPF = sockscope.SourceBPF, bp
		}
	}
	return g.collect(ctx, opts)
}

// loadEnv reads the bind environment of the target namespace. envErr
// reports facts that could not be read (the Env keeps defaults for them);
// err means the namespace could not be entered.
func (g *globals) loadEnv() (env demux.Env, envErr, err error) {
	err = g.inTargetNS(func() error {
		env, envErr = sysenv.Load()
		return nil
	})
	return env, envErr, err
}

// verdictExit is bind-check's exit status: 0 ok, 1 fail, 3 depends.
func verdictExit(v demux.Verdict) error {
	switch v {
	case demux.Fail:
		return &exitError{code: ExitError}
	case demux.Depends:
		return &exitError{code: ExitDepends}
	}
	return nil
}

// request builds the request from the arguments and the flags that need
// no kernel facts.
func (o *bindCheckOptions) request(args []string) (demux.BindRequest, error) {
	proto := sockscope.TCP
	if len(args) == 2 {
		p, ok := parseOracleProto(args[0])
		if !ok {
			return demux.BindRequest{}, usagef("bad protocol %q: use tcp, udp or udplite", args[0])
		}
		proto = p
		args = args[1:]
	}
	ap, err := parseEndpoint("address", args[0], true)
	if err != nil {
		return demux.BindRequest{}, err
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
		return demux.BindRequest{}, usagef("bad --v6only %q: use yes, no or default", o.v6only)
	}
	if o.uid < 0 || o.uid > 1<<32-2 {
		return demux.BindRequest{}, usagef("bad --uid %d: a uid is a number from 0 to 4294967294", o.uid)
	}
	req.UID = uint32(o.uid)
	return req, nil
}

// complete fills what needs the target namespace: the device's index and
// the binding process's CAP_NET_BIND_SERVICE. Without
// --cap-net-bind-service, a process of this very uid has the caller's
// capability, uid 0 has it, and any other uid lacks it (demux decides
// that, and says so).
func (o *bindCheckOptions) complete(req *demux.BindRequest, env demux.Env) error {
	if o.device != "" {
		idx, ok := env.Interfaces[o.device]
		if !ok {
			names := make([]string, 0, len(env.Interfaces))
			for n := range env.Interfaces {
				names = append(names, render.Sanitize(n))
			}
			slices.Sort(names)
			return usagef("unknown device %q for --device: this namespace has %s", o.device, strings.Join(names, ", "))
		}
		req.Device = idx
	}
	switch {
	case o.capNetBindSet:
		req.CapNetBindService = sockscope.TristateOf(o.capNetBind)
	case !o.uidSet || o.uid == os.Geteuid():
		req.CapNetBindService = sockscope.TristateOf(env.CanBindPrivileged)
	case o.uid == 0:
		req.CapNetBindService = sockscope.Yes
	}
	return nil
}

type demuxOptions struct {
	device    string
	broadcast bool
	noKernel  bool
}
