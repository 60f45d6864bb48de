package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
	"github.com/sockscope/sockscope/internal/loopback"
	"github.com/sockscope/sockscope/internal/sysenv"
)

// bodies are the experiments' procedures, by name.
var bodies = map[string]func(*lab){
	"shared-port":             sharedPort,
	"one-listener":            oneListener,
	"reuseport":               reusePortGroup,
	"specific-beats-wildcard": specificBeatsWildcard,
	"time-wait":               timeWait,
	"dual-stack":              dualStack,
	"shared-ephemeral":        sharedEphemeral,
	"udp-connected":           udpConnected,
	"unix-no-port":            unixNoPort,
}

// errStop ends an experiment early; the reason is already in the report.
var errStop = errors.New("lab: experiment stopped")

// lab is one experiment's workspace: its namespace, its sockets and its
// report. Its methods run on the experiment's locked OS thread.
type lab struct {
	ctx     context.Context
	private bool
	nsPath  string
	env     demux.Env
	rep     *Report
	socks   []*sock
	tmpDir  string
	skipped bool
	failed  bool
	// tw remembers the options of TCP connections that were closed, so
	// that the oracle can be told what a TIME-WAIT socket inherited.
	tw map[[2]netip.AddrPort]demux.Flags
}

func run(ctx context.Context, e Experiment, o Options) Report {
	rep := Report{Experiment: e}
	body, ok := bodies[e.Name]
	if !ok {
		rep.Result = Fail
		rep.Details = []string{fmt.Sprintf("no experiment named %q", e.Name)}
		return rep
	}
	done := make(chan struct{})
	l := &lab{ctx: ctx, rep: &rep, tw: map[[2]netip.AddrPort]demux.Flags{}}
	go func() {
		defer close(done)
		// No UnlockOSThread: once unshared, this thread's namespace is
		// not the process's, so the runtime must discard the thread when
		// the goroutine ends. That also removes the namespace.
		runtime.LockOSThread()
		l.do(body, o)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		// Every blocking step polls with the same deadline, so the body
		// ends soon after; wait for it so that nothing outlives Run.
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			return Report{Experiment: e, Result: Fail, Details: []string{"FAIL: the experiment did not end within its timeout"}}
		}
	}
	return rep
}

// do sets up the namespace, runs the body and removes what it made.
func (l *lab) do(body func(*lab), o Options) {
	defer l.cleanup()
	defer func() {
		if r := recover(); r != nil && r != errStop { //nolint:errorlint // sentinel panic value
			l.failf("the experiment broke: %v", r)
		}
		switch {
		case l.skipped:
			l.rep.Result = Skip
		case l.failed:
			l.rep.Result = Fail
		default:
			l.rep.Result = Pass
		}
	}()
	if !o.Shared {
		if err := unix.Unshare(unix.CLONE_NEWNET); err == nil {
			if err := loopback.Up(); err != nil {
				l.failf("bring lo up in the private namespace: %v", err)
				return
			}
			l.private = true
			l.nsPath = fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		} else if !errors.Is(err, unix.EPERM) {
			l.failf("unshare the network namespace: %v", err)
			return
		}
	}
	if l.private {
		l.rep.Namespace = Private
		l.note("ran in a private network namespace, removed afterwards")
	} else {
		l.rep.Namespace = Shared
		why := "not root"
		if o.Shared {
			why = "asked to"
		}
		l.note("%s", "ran on the shared loopback of this network namespace ("+why+"): ports chosen by the kernel")
	}
	env, err := sysenv.Load()
	if err != nil {
		env = demux.DefaultEnv()
	}
	l.env = env
	body(l)
}

func (l *lab) cleanup() {
	for _, s := range l.socks {
		s.close()
	}
	if l.tmpDir != "" {
		if err := os.RemoveAll(l.tmpDir); err != nil {
			l.failf("remove %s: %v", l.tmpDir, err)
		}
	}
}

// note adds a detail line.
func (l *lab) note(format string, a ...any) {
	l.rep.Details = append(l.rep.Details, fmt.Sprintf(format, a...))
}

// failf records a contradiction of the claim.
func (l *lab) failf(format string, a ...any) {
	l.failed = true
	l.note("FAIL: "+format, a...)
}

// stop ends the experiment: the failure is already recorded.
func (l *lab) stop() { panic(errStop) }

// skip ends the experiment as skipped with the reason.
func (l *lab) skip(format string, a ...any) {
	l.skipped = true
	l.note("SKIP: "+format, a...)
	panic(errStop)
}

// expect records the result of a kernel call against what the claim says
// it returns (nil for success, an errno for a failure); a mismatch fails
// the experiment and, when fatal, stops it.
func (l *lab) expect(what string, got, want error, fatal bool) bool {
	if errors.Is(got, want) || (got == nil && want == nil) {
		if want == nil {
			l.note("kernel: %s: ok", what)
		} else {
			l.note("kernel: %s: %s, as claimed", what, errnoName(got))
		}
		return true
	}
	l.failf("kernel: %s: %s, but the claim says %s", what, errnoName(got), errnoName(want))
	if fatal {
		l.stop()
	}
	return false
}

// must records a setup step that has to succeed.
func (l *lab) must(what string, err error) {
	if err != nil {
		l.failf("%s: %v", what, err)
		l.stop()
	}
}

// deadline is when the experiment's blocking steps give up.
func (l *lab) deadline() time.Time {
	if d, ok := l.ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(10 * time.Second)
}

// port returns the port to bind a first socket to: a fixed, readable one
// in a private namespace, 0 (the kernel chooses) on the shared loopback.
func (l *lab) port(fixed uint16) uint16 {
	if l.private {
		return fixed
	}
	return 0
}

// snapshot collects sockscope's view of the experiment's namespace.
func (l *lab) snapshot(protos ...sockscope.Proto) *sockscope.Snapshot {
	o := sockscope.Options{Holders: true, Protos: protos, HolderTimeout: 3 * time.Second}
	if l.private {
		o.NetNS = []string{l.nsPath}
	}
	snap, err := sockscope.Collect(l.ctx, o)
	l.must("collect the snapshot", err)
	return snap
}

// find returns the snapshot's entry for one of the experiment's sockets,
// failing the experiment if the snapshot lacks it.
func (l *lab) find(snap *sockscope.Snapshot, s *sock) *sockscope.Socket {
	for _, x := range snap.Sockets {
		if x.Inode == s.ino && x.Inode != 0 {
			return x
		}
	}
	l.failf("snapshot: %s (inode %d) is missing from the snapshot", s.name, s.ino)
	l.stop()
	return nil
}

// show sets the report's sockets: the snapshot's entries for socks, plus
// the TIME-WAIT sockets the experiment left, in display order.
func (l *lab) show(snap *sockscope.Snapshot, socks ...*sock) []*sockscope.Socket {
	var out []*sockscope.Socket
	for _, s := range socks {
		out = append(out, l.find(snap, s))
	}
	for _, x := range snap.Sockets {
		if x.State == sockscope.TimeWait {
			if _, ok := l.tw[[2]netip.AddrPort{x.Local, x.Remote}]; ok {
				out = append(out, x)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b *sockscope.Socket) int {
		switch {
		case sockscope.Less(a, b):
			return -1
		case sockscope.Less(b, a):
			return 1
		}
		return 0
	})
	l.rep.Sockets = out
	// Every socket the experiment still holds must show this process.
	pid := os.Getpid()
	for _, x := range out {
		if x.Inode == 0 || x.HoldersHidden {
			continue
		}
		held := false
		for _, h := range x.Holders {
			held = held || h.PID() == pid
		}
		if !held {
			l.failf("snapshot: %s does not show this process (pid %d) as its holder", l.nameOf(x), pid)
		}
	}
	return out
}

// flags is the oracle's FlagFunc: it knows the options the experiment set
// on each socket, those accepted sockets inherited from their listener,
// and those TIME-WAIT sockets inherited from the socket they replaced.
func (l *lab) flags(s *sockscope.Socket) demux.Flags {
	if s.Inode != 0 {
		for _, x := range l.socks {
			if x.ino == s.Inode {
				return x.flags
			}
		}
		return demux.Flags{}
	}
	if f, ok := l.tw[[2]netip.AddrPort{s.Local, s.Remote}]; ok {
		return f
	}
	return demux.Flags{}
}

// checkBind asks the oracle about a bind the experiment then made, and
// compares with the kernel's answer.
func (l *lab) checkBind(snap *sockscope.Snapshot, req demux.BindRequest, what string, kernel error) {
	r := demux.CheckBind(snap, req, l.env, l.flags)
	pred := r.Verdict.String()
	if r.Errno != "" {
		pred += " " + r.Errno
	}
	a := compareBind(r, kernel)
	line := fmt.Sprintf("oracle: bind-check %s predicted %s (%s); the kernel said %s: %s", what, pred, r.Rule, errnoName(kernel), a)
	if a == Disagree {
		l.failf("%s", line)
		return
	}
	l.note("%s", line)
}

// checkLookup asks the oracle which socket gets seg and compares with the
// socket that did (nil: none); a disagreement fails the experiment. label
// says which snapshot was asked, when it matters.
func (l *lab) checkLookup(snap *sockscope.Snapshot, seg demux.Segment, got *sock, label string) {
	a, line := l.lookup(snap, seg, got, label)
	if a == Disagree {
		l.failf("%s", line)
		return
	}
	l.note("%s", line)
}

// lookup runs the oracle's demux for seg and compares.
func (l *lab) lookup(snap *sockscope.Snapshot, seg demux.Segment, got *sock, label string) (Agreement, string) {
	if seg.Ifindex == 0 {
		seg.Ifindex = 1 // lo (LOOPBACK_IFINDEX): the device that owns loopback addresses
	}
	r := demux.Lookup(snap, seg, l.flags)
	var want *sockscope.Socket
	name := "none"
	if got != nil {
		want = &sockscope.Socket{Inode: got.ino}
		name = got.name
	}
	pred := string(r.Verdict)
	switch r.Verdict {
	case demux.One:
		pred = l.nameOf(r.Socket)
	case demux.OneOf, demux.All:
		var ns []string
		for _, c := range r.Candidates {
			ns = append(ns, l.nameOf(c))
		}
		pred = string(r.Verdict) + " {" + strings.Join(ns, ", ") + "}"
	}
	if label != "" {
		label = " (" + label + ")"
	}
	a := compareLookup(r, want)
	return a, fmt.Sprintf("oracle: demux %s %s -> %s%s predicted %s; the kernel delivered to %s: %s",
		seg.Proto, sockscope.FormatAddrPort(seg.Src), sockscope.FormatAddrPort(seg.Dst), label, pred, name, a)
}

// nameOf names a snapshot socket by the experiment's name for it.
func (l *lab) nameOf(s *sockscope.Socket) string {
	if s == nil {
		return "none"
	}
	for _, x := range l.socks {
		if x.ino != 0 && x.ino == s.Inode {
			return x.name
		}
	}
	if s.State == sockscope.TimeWait {
		return "a TIME-WAIT socket"
	}
	return fmt.Sprintf("another socket (inode %d)", s.Inode)
}
