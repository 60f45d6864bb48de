package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/query"
	"github.com/sockscope/sockscope/render"
)

// killOptions are kill's safeguards, shared with ls -K.
type killOptions struct {
	yes, dryRun, listeners bool
}

func (k *killOptions) flags(f *pflag.FlagSet, short bool) {
	if short {
		f.BoolVarP(&k.yes, "yes", "y", false, "close without asking (needed when stdin or stdout is not a terminal)")
	} else {
		f.BoolVar(&k.yes, "yes", false, "with -K: close without asking (needed when stdin or stdout is not a terminal)")
	}
	f.BoolVar(&k.dryRun, "dry-run", false, "print what would be closed, close nothing")
	f.BoolVar(&k.listeners, "listeners", false, "allow closing listening sockets (refused otherwise)")
}

// stdinIsTerminal reports whether r is a terminal; tests replace it.
var stdinIsTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newKillCmd(g *globals) *cobra.Command {
	k := &killOptions{}
	var tcp, udp, ipv4, ipv6 bool
	cmd := &cobra.Command{
		Use:   "kill [-tu46] [--dry-run] [--yes] [--listeners] FILTER...",
		Short: "Close the sockets a filter selects (SOCK_DESTROY, like ss -K)",
		Long: `Close the TCP and UDP sockets that FILTER selects, as ss -K does: the kernel
aborts each one (SOCK_DESTROY). A TCP socket sends a reset, so its peer
reads ECONNRESET, and the process holding it gets ECONNABORTED on its next
call. Each socket is named by its ends and its cookie, inside the network
namespace it was read from (--netns, -A), so no other socket is closed.

Safeguards: a filter is required; listening sockets are refused unless
--listeners is given; the sockets are listed and a confirmation asked on a
terminal, and --yes is required when stdin or stdout is not a terminal;
--dry-run lists them and closes nothing.

It needs CAP_NET_ADMIN (root) and a kernel built with
CONFIG_INET_DIAG_DESTROY. The exit status is 1 if any socket could not be
closed; the kernel's errno is printed for each (EPERM: no privilege,
ENOENT: already gone, EOPNOTSUPP: no destroy in this kernel). ls -K FILTER
does the same with ls's selection flags.`,
		Example: `  sockscope kill --dry-run dport = :443
  sockscope kill -t 'dst 10.0.0.7 and sport = :22'
  sockscope kill --yes proc badclient
  sockscope --netns blue kill -t state established`,
		RunE: func(cmd *cobra.Command, args []string) error {
			flt, opts, err := g.filterOptions(args)
			if err != nil {
				return err
			}
			if tcp {
				opts.Protos = append(opts.Protos, sockscope.TCP)
			}
			if udp {
				opts.Protos = append(opts.Protos, sockscope.UDP, sockscope.UDPLite)
			}
			if len(opts.Protos) == 0 {
				opts.Protos = []sockscope.Proto{sockscope.TCP, sockscope.UDP, sockscope.UDPLite}
			}
			if ipv4 {
				opts.Families = append(opts.Families, sockscope.FamilyInet)
			}
			if ipv6 {
				opts.Families = append(opts.Families, sockscope.FamilyInet6)
			}
			opts.States = sockscope.AllStates
			if flt != nil {
				opts.States = flt.States()
			}
			return runKill(cmd.Context(), g, k, opts, flt)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&tcp, "tcp", "t", false, "TCP sockets only")
	f.BoolVarP(&udp, "udp", "u", false, "UDP and UDP-Lite sockets only")
	f.BoolVarP(&ipv4, "ipv4", "4", false, "IPv4 sockets only")
	f.BoolVarP(&ipv6, "ipv6", "6", false, "IPv6 sockets only")
	k.flags(f, true)
	return cmd
}

// runKill closes the sockets that opts and flt select, with kill's
// safeguards.
func runKill(ctx context.Context, g *globals, k *killOptions, opts sockscope.Options, flt *query.Filter) error {
	if flt == nil {
		return usagef("kill needs a filter: without one it would close every socket; for example: sockscope kill --dry-run dport = :443")
	}
	opts.Holders = true
	opts.NoPeers = true
	snap, err := g.collect(ctx, opts)
	if err != nil {
		return err
	}
	filterSockets(snap, flt)
	g.warn(snap)
	socks := snap.Sockets
	var listeners []string
	for _, s := range socks {
		if s.State == sockscope.Listen {
			listeners = append(listeners, s.Proto.String()+" "+render.Sanitize(s.LocalString()))
		}
	}
	if len(listeners) > 0 && !k.listeners {
		return usagef("the filter selects %d listening %s (%s): closing a listener stops a service; add --listeners to close %s too, or narrow the filter (e.g. state established)",
			len(listeners), killPlural(len(listeners), "socket", "sockets"), strings.Join(listeners[:min(3, len(listeners))], ", "), killPlural(len(listeners), "it", "them"))
	}
	rep := render.KillReport{DryRun: k.dryRun}
	if len(socks) == 0 {
		fmt.Fprintln(g.io.ErrOut, "sockscope: no socket matches the filter: nothing to close")
		return g.writeKill(rep)
	}
	if k.dryRun {
		for _, s := range socks {
			rep.Results = append(rep.Results, sockscope.DestroyResult{Socket: s})
		}
		return g.writeKill(rep)
	}
	if !k.yes {
		if !g.io.OutTTY || !stdinIsTerminal(g.io.In) {
			return usagef("kill asks before closing, and stdin or stdout is not a terminal: add --yes to close the %d %s selected (--dry-run lists them)", len(socks), killPlural(len(socks), "socket", "sockets"))
		}
		st := g.style()
		st.Processes = true
		if err := render.WriteSockets(g.io.ErrOut, socks, st); err != nil {
			return err
		}
		fmt.Fprintf(g.io.ErrOut, "Close %s %d %s? [y/N] ", killPlural(len(socks), "this", "these"), len(socks), killPlural(len(socks), "socket", "sockets"))
		line, _ := bufio.NewReader(g.io.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return &exitError{code: ExitError, err: fmt.Errorf("nothing closed")}
		}
	}
	rep.Results, err = sockscope.Destroy(ctx, opts, socks)
	if werr := g.writeKill(rep); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range rep.Results {
		if r.Err != nil {
			failed++
		}
	}
	if failed > 0 {
		return &exitError{code: ExitError, err: fmt.Errorf("%d of %d %s could not be closed", failed, len(socks), killPlural(len(socks), "socket", "sockets"))}
	}
	return nil
}

func (g *globals) writeKill(rep render.KillReport) error {
	if g.output == "json" || g.output == "ndjson" {
		return render.WriteKillJSON(g.io.Out, rep)
	}
	return render.WriteKill(g.io.Out, rep, g.style())
}

func killPlural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
