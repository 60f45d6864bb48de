package cli

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/render"
)

func newProcCmd(g *globals) *cobra.Command {
	var d detailFlags
	cmd := &cobra.Command{
		Use:   "proc PID|NAME",
		Short: "Every socket a process holds",
		Long: `Every socket that a process holds, by PID or by name (the process's comm,
as ps -o comm shows it). With a name, every process of that name is shown.

The process is followed into every network namespace it uses: the one of
each of its threads and, as root, the one of each of its sockets (a socket
keeps the namespace it was created in). Sockets outside the host's
namespace are labelled with theirs. --netns and -A choose the namespaces
instead.`,
		Example: `  sockscope proc 812
  sockscope proc sshd
  sockscope proc nginx -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProc(cmd.Context(), g, args[0], &d)
		},
	}
	d.add(cmd.Flags())
	return cmd
}

func runProc(ctx context.Context, g *globals, arg string, d *detailFlags) error {
	if arg == "" {
		return usagef("proc needs a PID or a process name")
	}
	pid, perr := strconv.Atoi(arg)
	if perr == nil && pid <= 0 {
		return usagef("bad PID %q: a PID is a positive number", arg)
	}
	opts, err := g.options()
	if err != nil {
		return err
	}
	opts.Holders = true
	d.options(&opts)
	var pids []int
	if perr == nil {
		if !sockscope.ProcessExists(g.procRoot, pid) {
			return usagef("no process has PID %d: give the PID of a running process, or its name", pid)
		}
		pids = []int{pid}
	} else {
		pids, _ = sockscope.ProcessesNamed(g.procRoot, arg)
		if len(pids) == 0 {
			return usagef("no process is named %q: give a PID or a name as ps -o comm prints it", render.Sanitize(arg))
		}
	}
	if len(opts.NetNS) == 0 && !opts.AllNetNS {
		opts.Processes = pids
	}
	snap, err := g.collect(ctx, opts)
	if err != nil {
		return err
	}
	match := func(h sockscope.Holder) bool {
		if perr == nil {
			return h.PID() == pid
		}
		return h.Proc != nil && (h.Proc.Comm == arg || slices.Contains(pids, h.PID()))
	}
	var socks []*sockscope.Socket
	for _, s := range snap.Sockets {
		for _, h := range s.Holders {
			if match(h) {
				socks = append(socks, s)
				break
			}
		}
	}
	// Label namespaces whenever one is not the host's.
	otherNS := len(snap.NetNS) > 1 || (len(snap.NetNS) == 1 && snap.NetNS[0].Name != "host")
	if err := g.writeSockets(socks, snap, func(st *render.Style) {
		st.Processes = true
		st.NetNS = st.NetNS || otherNS
		d.style(st)
	}); err != nil {
		return err
	}
	if len(socks) == 0 && ctx.Err() == nil {
		what := "process " + strconv.Itoa(pid)
		if perr != nil {
			what = render.Sanitize(arg)
		}
		g.note(noSocketsText(what, snap, g.output == "json"))
	}
	return nil
}

// noSocketsText says that what (a PID or a name) holds no socket and, when
// some sockets' holders are hidden, that it may hold one of those: the
// warnings printed before it (or the JSON document's) name why they are
// hidden; this line does not guess.
func noSocketsText(what string, snap *sockscope.Snapshot, json bool) string {
	if snap.HiddenHolders == 0 {
		return what + " holds no sockets"
	}
	where := "the note above says why"
	if json {
		where = "the document's warnings say why"
	}
	return fmt.Sprintf("%s holds no socket that can be seen, but the holders of %d %s hidden (%s)",
		what, snap.HiddenHolders, map[bool]string{true: "socket are", false: "sockets are"}[snap.HiddenHolders == 1], where)
}
