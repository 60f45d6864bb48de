package sockscope

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sockscope/sockscope/internal/netns"
)

// nsTarget is one namespace to read.
type nsTarget struct {
	ns     netns.NS
	model  *NetNS
	direct bool // the caller's own namespace: no setns
}

// nsInode reads the inode of a namespace link ("net:[4026531840]"), 0 if
// it cannot be read.
func nsInode(path string) uint64 {
	l, err := os.Readlink(path)
	if err != nil {
		return 0
	}
	l = strings.TrimSuffix(strings.TrimPrefix(l, "net:["), "]")
	n, _ := strconv.ParseUint(l, 10, 64)
	return n
}

// nsLabel names a namespace for people: "host" for the initial one, else
// its first `ip netns` name, else "netns:INODE" (which labelNetNS may
// later replace by a container or pod).
func nsLabel(ns netns.NS) string {
	switch {
	case ns.Host:
		return "host"
	case len(ns.Names) > 0:
		return ns.Names[0]
	}
	return "netns:" + strconv.FormatUint(ns.Inode, 10)
}

// selectNetNS lists the namespaces opts selects: every one found, those
// named, those of some processes, or the caller's own. release closes the
// namespace files it keeps open for the collection.
func selectNetNS(ctx context.Context, opts Options, procRoot string, snap *Snapshot) (targets []nsTarget, release func(), err error) {
	self := nsInode(filepath.Join(procRoot, "thread-self/ns/net"))
	release = func() {}
	var list []netns.NS
	switch {
	case opts.AllNetNS:
		var errs []error
		list, errs = netns.ListContext(ctx, procRoot)
		if err := ctx.Err(); err != nil {
			return nil, release, err
		}
		if len(errs) > 0 {
			snap.Warnings = append(snap.Warnings, Warning{
				Kind:  WarnNetNS,
				Count: len(errs),
				Msg:   fmt.Sprintf("%d %s where namespaces may hide could not be read (run as root to see them)", len(errs), pluralWord(len(errs), "place", "places")),
			})
		}
	case len(opts.NetNS) > 0:
		for _, spec := range opts.NetNS {
			ns, err := netns.Resolve(spec, procRoot)
			if err != nil {
				return nil, release, err
			}
			list = append(list, ns)
		}
	case len(opts.Processes) > 0:
		list, release, err = processNetNS(procRoot, opts.Processes)
		if err != nil {
			// Another user's process, without privilege: read the
			// caller's own namespace, and say so.
			snap.Warnings = append(snap.Warnings, Warning{
				Kind:  WarnNetNS,
				Count: 1,
				Msg:   fmt.Sprintf("the network namespaces of the process could not be read (%v): showing this namespace only", err),
			})
			return []nsTarget{currentNetNS(procRoot, self)}, release, nil
		}
	default:
		return []nsTarget{currentNetNS(procRoot, self)}, release, nil
	}
	out := make([]nsTarget, 0, len(list))
	for _, ns := range list {
		out = append(out, nsTarget{
			ns:     ns,
			model:  &NetNS{Inode: ns.Inode, Name: nsLabel(ns)},
			direct: ns.Inode == self && self != 0,
		})
	}
	return out, release, nil
}

// processNetNS lists the namespaces that the processes pids use, each
// once. Processes that have exited are skipped; it fails only when none
// could be read.
func processNetNS(procRoot string, pids []int) ([]netns.NS, func(), error) {
	var (
		list     []netns.NS
		releases []func()
		seen     = map[[2]uint64]bool{}
		firstErr error
	)
	release := func() {
		for _, r := range releases {
			r()
		}
	}
	for _, pid := range pids {
		nss, rel, err := netns.Process(procRoot, pid)
		releases = append(releases, rel)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		for _, ns := range nss {
			k := [2]uint64{ns.Dev, ns.Inode}
			if !seen[k] {
				seen[k] = true
				list = append(list, ns)
			}
		}
	}
	if len(list) == 0 && firstErr != nil {
		return nil, release, firstErr
	}
	return list, release, nil
}

// currentNetNS describes the namespace of the calling thread. It is "host"
// only when it is the initial namespace (the one of PID 1, or of the
// kernel threads when PID 1's cannot be read); inside another namespace it
// is named by its `ip netns` name, else by the container or pod of this
// process, else "netns:INODE". When neither PID 1's nor PID 2's namespace
// can be read (an unprivileged user) and the namespace has no name, it is
// taken to be the host's, as it nearly always is.
func currentNetNS(procRoot string, self uint64) nsTarget {
	// The host's: its `ip netns` names would not change its label, and
	// looking them up costs a stat per name (hundreds on a busy node).
	if host, err := netns.Initial(procRoot); err == nil && self != 0 && host.Inode == self {
		return nsTarget{ns: host, model: &NetNS{Inode: self, Name: "host"}, direct: true}
	}
	path := filepath.Join(procRoot, "thread-self/ns/net")
	ns, err := netns.Resolve(path, procRoot)
	if err != nil {
		// A fixture proc root without thread-self, or no procfs.
		return nsTarget{model: &NetNS{Inode: self, Name: "host"}, direct: true}
	}
	t := nsTarget{ns: ns, model: &NetNS{Inode: ns.Inode, Name: nsLabel(ns)}, direct: true}
	if !ns.Host && len(ns.Names) == 0 {
		if _, err := netns.Initial(procRoot); err != nil {
			t.model.Name = "host" // cannot tell: assume the usual case
		} else {
			t.ns.PIDs = []int{os.Getpid()} // labelNetNS looks at its cgroup
		}
	}
	return t
}

// labelTargets names the namespaces of processes after their container,
// pod or unit, where known. It stops early once ctx is done (a few cgroup
// files per namespace add up over hundreds); the next stage reports it.
func labelTargets(ctx context.Context, spaces []nsTarget, procRoot string, names map[string]string) {
	for _, ns := range spaces {
		if ctx.Err() != nil {
			return
		}
		if len(ns.ns.PIDs) > 0 {
			labelNetNS(ns.model, procRoot, ns.ns.PIDs, names)
		}
	}
}
