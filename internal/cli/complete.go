package cli

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/internal/lab"
	"github.com/sockscope/sockscope/internal/netns"
)

// addCompletions teaches the shell completions (sockscope completion
// bash|zsh|fish) the values of flags and arguments, not only the names of
// commands: -o's formats, --source's sources, --netns's `ip netns` names,
// port's listened ports, lab's experiments and proc's process names. Each runs when the user
// presses Tab, through cobra's hidden __complete command.
func addCompletions(root *cobra.Command, g *globals) {
	fixed := func(values ...string) cobra.CompletionFunc {
		return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var out []cobra.Completion
			for _, v := range values {
				if strings.HasPrefix(v, toComplete) {
					out = append(out, v)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		}
	}
	_ = root.RegisterFlagCompletionFunc("output", fixed(
		"table\taligned columns for people",
		"json\tone JSON document",
		"ndjson\tone JSON object per line"))
	_ = root.RegisterFlagCompletionFunc("source", fixed(
		"auto\tnetlink, else /proc/net",
		"netlink\tsock_diag netlink dumps",
		"proc\t/proc/net files"))
	// A namespace may also be a path or a PID: with no name matching,
	// the shell completes file names.
	_ = root.RegisterFlagCompletionFunc("netns", func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return completable(netns.Names(), toComplete), cobra.ShellCompDirectiveDefault
	})
	for _, c := range root.Commands() {
		switch c.Name() {
		case "lab":
			c.ValidArgsFunction = completeLab
		case "port":
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return completePorts(cmd.Context(), g, toComplete), cobra.ShellCompDirectiveNoFileComp
			}
		case "proc":
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				names, _ := sockscope.ProcessNames(g.procRoot, toComplete)
				return completable(names, toComplete), cobra.ShellCompDirectiveNoFileComp
			}
		}
	}
}

// maxPortCompletions bounds the ports offered for 'port <Tab>'.
const maxPortCompletions = 1000

// completePorts offers the ports that have a listener (in the namespaces
// the global flags choose), numerically, each described by its protocols:
// "8080\ttcp, udp". A collection that fails or takes over 2 s offers
// nothing.
func completePorts(ctx context.Context, g *globals, prefix string) []cobra.Completion {
	opts, err := g.options()
	if err != nil {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	opts.Protos = []sockscope.Proto{sockscope.TCP, sockscope.UDP, sockscope.UDPLite}
	snap, err := sockscope.Collect(ctx, opts)
	if err != nil {
		return nil
	}
	protos := map[uint16][]string{}
	for _, s := range snap.Sockets {
		if !s.IsListener() {
			continue
		}
		p, name := s.Local.Port(), s.Proto.String()
		if !slices.Contains(protos[p], name) {
			protos[p] = append(protos[p], name)
		}
	}
	ports := slices.Sorted(maps.Keys(protos))
	var out []cobra.Completion
	for _, p := range ports {
		num := strconv.Itoa(int(p))
		if !strings.HasPrefix(num, prefix) {
			continue
		}
		if len(out) == maxPortCompletions {
			break
		}
		out = append(out, cobra.CompletionWithDesc(num, strings.Join(protos[p], ", ")))
	}
	return out
}

// completeLab offers the experiments not yet named, with their claims.
func completeLab(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, e := range lab.List() {
		if strings.HasPrefix(e.Name, toComplete) && !slices.Contains(args, e.Name) {
			out = append(out, cobra.CompletionWithDesc(e.Name, e.Claim))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completable keeps the values that begin with prefix and that a shell
// can take as one completion: cobra's protocol separates completions by
// newlines and a description by a tab, and the shell prints them raw, so a
// name (which a process chooses itself) holding a control character, an
// invisible format character such as a bidirectional override, or invalid
// UTF-8 is left out rather than split or passed to the terminal.
func completable(values []string, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, v := range values {
		if v == "" || !strings.HasPrefix(v, prefix) || !utf8.ValidString(v) ||
			strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) {
			continue
		}
		out = append(out, v)
	}
	return out
}
