package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/render"

	"github.com/spf13/pflag"
)

// lsSS holds the ls flags that come from ss and change what ls does
// altogether (-s prints a summary instead of a list, -K closes sockets,
// --packet and the like list other families), or where it reads its
// filter (-F) and its protocols (--query).
type lsSS struct {
	filterFile string
	dumpFile   string
	query      string
	summary    bool
	kill       bool
	killOpt    killOptions
	// The families ls lists apart from the inet and Unix tables.
	packet, netlink, mptcp, sctp, vsock, tipc bool
}

// families returns the extra families asked for, in a fixed order.
func (x *lsSS) families() []sockscope.ExtraFamily {
	var fs []sockscope.ExtraFamily
	for _, f := range []struct {
		on bool
		f  sockscope.ExtraFamily
	}{{x.packet, sockscope.ExtraPacket}, {x.netlink, sockscope.ExtraNetlink}, {x.mptcp, sockscope.ExtraMPTCP},
		{x.sctp, sockscope.ExtraSCTP}, {x.vsock, sockscope.ExtraVsock}, {x.tipc, sockscope.ExtraTIPC}} {
		if f.on {
			fs = append(fs, f.f)
		}
	}
	return fs
}

// addLsSSFlags registers on ls the ss flags that ls.go does not.
func addLsSSFlags(f *pflag.FlagSet, o *lsOptions) *lsSS {
	x := &lsSS{}
	f.BoolVarP(&o.noHeader, "no-header", "H", false, "no header line on a terminal (a pipe never has one)")
	f.BoolVarP(&o.oneLine, "oneline", "O", false, "one line per socket: -i and -m details in a DETAILS column on a terminal too")
	f.StringVarP(&x.filterFile, "filter", "F", "", "read the filter from `FILE` (- for stdin; # starts a comment)")
	f.StringVarP(&x.dumpFile, "diag", "D", "", "ss's raw dump to `FILE`: not supported (use -o json)")
	f.StringVar(&x.query, "query", "", "ss's -A QUERY: socket tables to list, comma-separated (all, inet, tcp, udp, raw, unix, packet, netlink, mptcp, sctp, vsock, tipc)")
	f.BoolVarP(&x.summary, "summary", "s", false, "print a summary (as ss -s; see sockscope summary)")
	f.BoolVarP(&x.kill, "kill", "K", false, "close the sockets selected (as ss -K; see sockscope kill)")
	x.killOpt.flags(f, false)
	f.BoolVarP(&x.packet, "packet", "0", false, "packet sockets (packet_diag): interface, protocol, holders")
	f.BoolVar(&x.netlink, "netlink", false, "netlink sockets (netlink_diag): protocol, port id, groups, holders")
	f.BoolVarP(&x.mptcp, "mptcp", "M", false, "MPTCP sockets (mptcp_diag)")
	f.BoolVarP(&x.sctp, "sctp", "S", false, "SCTP sockets (says whether the kernel has sctp_diag)")
	f.BoolVar(&x.vsock, "vsock", false, "vsock sockets (says whether the kernel has vsock_diag)")
	f.BoolVar(&x.tipc, "tipc", false, "TIPC sockets (says whether the kernel has tipc_diag)")
	return x
}

// run handles the flags that replace the listing; handled is false when
// none of them was given and ls lists as usual, with the filter words it
// returns (read from -F FILE).
func (x *lsSS) run(ctx context.Context, g *globals, o *lsOptions, args []string) (_ []string, handled bool, err error) {
	if x.dumpFile != "" {
		return nil, true, usagef("-D (ss's raw sock_diag dump to a file) is not supported: -o json records every socket with every field sockscope reads; for the raw messages use ss -D")
	}
	if x.filterFile != "" {
		if len(args) > 0 {
			return nil, true, usagef("give the filter in the -F file or on the command line, not both (found %q after the flags)", args[0])
		}
		text, err := readFilterFile(g, x.filterFile)
		if err != nil {
			return nil, true, err
		}
		if text != "" {
			args = []string{text}
		}
	}
	if x.query != "" {
		if err := x.applyQuery(o); err != nil {
			return nil, true, err
		}
	}
	handled, err = x.dispatch(ctx, g, o, args)
	return args, handled, err
}

func (x *lsSS) dispatch(ctx context.Context, g *globals, o *lsOptions, args []string) (handled bool, err error) {
	if x.summary {
		if len(args) > 0 {
			return true, usagef("ls -s counts every socket and takes no filter: drop %q, or list with ls and the filter", args[0])
		}
		return true, runSummary(ctx, g, sockscope.DefaultSummaryTop)
	}
	if x.kill {
		flt, opts, err := g.filterOptions(args)
		if err != nil {
			return true, err
		}
		o.apply(&opts, flt)
		if len(opts.Protos) == 0 {
			opts.Protos = []sockscope.Proto{sockscope.TCP, sockscope.UDP, sockscope.UDPLite}
		}
		return true, runKill(ctx, g, &x.killOpt, opts, flt)
	}
	if fams := x.families(); len(fams) > 0 {
		return true, runLsExtra(ctx, g, o, x, fams, args)
	}
	if x.killOpt != (killOptions{}) {
		return true, usagef("--yes, --dry-run and --listeners go with -K (close sockets): add -K, or use sockscope kill")
	}
	return false, nil
}

// runLsExtra lists the extra families; with -t, -u, -w or -x as well, the
// usual list comes first (tables only).
func runLsExtra(ctx context.Context, g *globals, o *lsOptions, x *lsSS, fams []sockscope.ExtraFamily, args []string) error {
	if x.summary || x.kill {
		return usagef("-s and -K do not combine with --packet, --netlink, -M, -S, --vsock or --tipc")
	}
	if len(args) > 0 {
		return usagef("filters apply to inet and Unix sockets: drop %q with --packet, --netlink, -M, -S, --vsock or --tipc", args[0])
	}
	both := o.tcp || o.udp || o.raw || o.unix
	if both && g.output != "table" {
		return usagef("-o %s prints one document: list --packet, --netlink, -M, -S, --vsock or --tipc without -t, -u, -w or -x", g.output)
	}
	opts, err := g.options()
	if err != nil {
		return err
	}
	opts.Holders = o.processes
	snap, err := sockscope.CollectExtra(ctx, opts, fams)
	if err != nil {
		return err
	}
	if both {
		if err := runLs(ctx, g, o, nil); err != nil {
			return err
		}
		if g.io.OutTTY {
			fmt.Fprintln(g.io.Out)
		}
	}
	if g.output != "table" {
		return render.WriteExtraJSON(g.io.Out, snap, fams)
	}
	g.warn(&sockscope.Snapshot{Warnings: snap.Warnings})
	for _, n := range snap.Notes {
		fmt.Fprintf(g.io.ErrOut, "sockscope: note: %s\n", render.Sanitize(n.Msg))
	}
	st := g.style()
	st.Processes = o.processes
	return render.WriteExtra(g.io.Out, snap, fams, st)
}

// maxFilterFile bounds what -F reads.
const maxFilterFile = 1 << 20

// readFilterFile reads a filter from path ("-": stdin), as ss -F does:
// the lines joined, each cut at a '#'.
func readFilterFile(g *globals, path string) (string, error) {
	var r io.Reader
	if path == "-" {
		r = g.io.In
	} else {
		f, err := os.Open(path)
		if err != nil {
			return "", usagef("-F: cannot read the filter file: %v", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxFilterFile+1))
	if err != nil {
		return "", usagef("-F %s: %v", render.Sanitize(path), err)
	}
	if len(b) > maxFilterFile {
		return "", usagef("-F %s: the filter file is larger than 1 MiB", render.Sanitize(path))
	}
	var words []string
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" {
			words = append(words, line)
		}
	}
	return strings.Join(words, " "), nil
}

// applyQuery sets the protocol flags that ss's -A QUERY names.
func (x *lsSS) applyQuery(o *lsOptions) error {
	for _, w := range strings.Split(x.query, ",") {
		switch strings.TrimSpace(strings.ToLower(w)) {
		case "all":
			o.tcp, o.udp, o.raw, o.unix = true, true, true, true
			x.packet, x.netlink = true, true
		case "inet":
			o.tcp, o.udp, o.raw = true, true, true
		case "tcp":
			o.tcp = true
		case "udp":
			o.udp = true
		case "raw":
			o.raw = true
		case "unix":
			o.unix = true
		case "packet":
			x.packet = true
		case "netlink":
			x.netlink = true
		case "mptcp":
			x.mptcp = true
		case "sctp":
			x.sctp = true
		case "vsock":
			x.vsock = true
		case "tipc":
			x.tipc = true
		case "unix_stream", "unix_dgram", "unix_seqpacket", "packet_raw", "packet_dgram", "vsock_stream", "vsock_dgram":
			return usagef("--query %s: socket types within a family are not selectable here: use %s", render.Sanitize(w), strings.SplitN(strings.TrimSpace(w), "_", 2)[0])
		case "dccp", "xdp":
			return usagef("--query %s: sockscope does not list %s sockets", render.Sanitize(w), render.Sanitize(w))
		default:
			return usagef("--query %q: unknown socket table: use all, inet, tcp, udp, raw, unix, packet, netlink, mptcp, sctp, vsock or tipc, comma-separated", render.Sanitize(w))
		}
	}
	return nil
}
