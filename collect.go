package sockscope

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sockscope/sockscope/internal/holders"
	"github.com/sockscope/sockscope/internal/netns"
	"github.com/sockscope/sockscope/internal/procnet"
	"github.com/sockscope/sockscope/internal/sockdiag"
	"golang.org/x/sys/unix"
)

// Collect reads the socket table(s) that opts selects and returns one
// Snapshot. Holders are scanned concurrently with the dumps, once for the
// whole host. Collect returns an error only when nothing could be read;
// partial results (permission, vanished processes, namespaces that could
// not be entered) are reported in Snapshot.Warnings.
func Collect(ctx context.Context, opts Options) (*Snapshot, error) {
	if runtime.GOOS != "linux" {
		return nil, fmt.Errorf("sockscope: collect on %s: %w", runtime.GOOS, ErrNotSupported)
	}
	procRoot := opts.ProcRoot
	if procRoot == "" {
		procRoot = "/proc"
	}
	snap := &Snapshot{Taken: time.Now(), Source: "netlink"}
	if opts.Source == SourceProc {
		snap.Source = "proc"
	}

	spaces, err := selectNetNS(opts, procRoot, snap)
	if err != nil {
		return nil, err
	}
	names := map[string]string{} // container ID -> name
	for _, ns := range spaces {
		if len(ns.ns.PIDs) > 0 {
			labelNetNS(ns.model, procRoot, ns.ns.PIDs, names)
		}
	}

	// The holder scan runs beside the dumps.
	var (
		hres   *holders.Result
		herr   error
		hwg    sync.WaitGroup
		hstart = time.Now()
	)
	if opts.Holders {
		hwg.Add(1)
		go func() {
			defer hwg.Done()
			timeout := opts.HolderTimeout
			if timeout <= 0 {
				timeout = 5 * time.Second
			}
			hctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			hres, herr = holders.Scan(hctx, holders.Options{Root: procRoot})
		}()
	}

	b := newBuilder(opts)
	var readErrs []error
	var denied []string // namespaces that could not be entered for lack of privilege
	for _, ns := range spaces {
		b.ns = ns.model
		var err error
		if ns.direct {
			// thread-self, not self: /proc/self/net is the thread-group
			// leader's namespace, which need not be this thread's.
			err = b.readNamespace(procRoot, "thread-self")
		} else {
			err = netns.Do(ns.ns, func() error { return b.readNamespace(procRoot, "thread-self") })
		}
		if err != nil {
			if len(spaces) == 1 {
				return nil, fmt.Errorf("sockscope: read netns %s: %w", ns.model.Name, err)
			}
			if errors.Is(err, netns.ErrPermission) {
				denied = append(denied, ns.model.Name)
			} else {
				readErrs = append(readErrs, fmt.Errorf("%s: %w", ns.model.Name, err))
			}
		}
		snap.NetNS = append(snap.NetNS, ns.model)
	}
	if len(denied) > 0 {
		snap.Warnings = append(snap.Warnings, Warning{
			Kind:  "netns",
			Count: len(denied),
			Msg: fmt.Sprintf("%d network %s could not be entered (run as root to read them): %s",
				len(denied), pluralWord(len(denied), "namespace", "namespaces"), strings.Join(firstNames(denied, 8), ", ")),
		})
	}
	if len(readErrs) > 0 {
		snap.Warnings = append(snap.Warnings, Warning{
			Kind:  "netns",
			Count: len(readErrs),
			Msg:   fmt.Sprintf("%d network namespace(s) could not be read: %v", len(readErrs), errors.Join(readErrs...)),
		})
	}
	if b.procFallback != "" && opts.Source != SourceProc {
		snap.Warnings = append(snap.Warnings, Warning{Kind: "source", Count: 1, Msg: b.procFallback})
	}
	b.finish()
	snap.Sockets = b.sockets

	if opts.Holders {
		hwg.Wait()
		attachHolders(snap, hres, herr, time.Since(hstart), procRoot, names)
	}
	if !opts.NoPeers {
		linkPeers(snap.Sockets)
	}
	sortSockets(snap.Sockets)
	return snap, nil
}

// nsTarget is one namespace to read.
type nsTarget struct {
	ns     netns.NS
	model  *NetNS
	direct bool // the caller's own namespace: no setns
}

func selfNetNSInode(procRoot string) uint64 {
	return nsInode(filepath.Join(procRoot, "thread-self/ns/net"))
}

func nsInode(path string) uint64 {
	l, err := os.Readlink(path)
	if err != nil {
		return 0
	}
	// "net:[4026531840]"
	l = strings.TrimSuffix(strings.TrimPrefix(l, "net:["), "]")
	n, _ := strconv.ParseUint(l, 10, 64)
	return n
}

func nsLabel(ns netns.NS, hostInode uint64) string {
	switch {
	case ns.Host || (hostInode != 0 && ns.Inode == hostInode):
		return "host"
	case len(ns.Names) > 0:
		return ns.Names[0]
	}
	return "netns:" + strconv.FormatUint(ns.Inode, 10)
}

func selectNetNS(opts Options, procRoot string, snap *Snapshot) ([]nsTarget, error) {
	self := selfNetNSInode(procRoot)
	host := nsInode(filepath.Join(procRoot, "1/ns/net"))
	if host == 0 {
		// pid 1's namespace is unreadable (not root, or pid 1 is not
		// dumpable): assume the caller runs on the host.
		host = self
	}
	var list []netns.NS
	switch {
	case opts.AllNetNS:
		var errs []error
		list, errs = netns.List(procRoot)
		if len(errs) > 0 {
			snap.Warnings = append(snap.Warnings, Warning{
				Kind:  "netns",
				Count: len(errs),
				Msg:   fmt.Sprintf("%d place(s) where namespaces may hide could not be read (run as root to see them)", len(errs)),
			})
		}
	case len(opts.NetNS) > 0:
		for _, spec := range opts.NetNS {
			ns, err := netns.Resolve(spec, procRoot)
			if err != nil {
				return nil, err
			}
			list = append(list, ns)
		}
	default:
		name := "host"
		if self != host {
			name = "netns:" + strconv.FormatUint(self, 10)
		}
		return []nsTarget{{model: &NetNS{Inode: self, Name: name}, direct: true}}, nil
	}
	out := make([]nsTarget, 0, len(list))
	for _, ns := range list {
		out = append(out, nsTarget{
			ns:     ns,
			model:  &NetNS{Inode: ns.Inode, Name: nsLabel(ns, host)},
			direct: ns.Inode == self && self != 0,
		})
	}
	return out, nil
}

// builder turns records from one or more namespaces into Sockets,
// deduplicated by cookie (a dump is not a snapshot).
//
// Sockets are kept in slabs while records come in; finish lists them,
// once, in a slice of the exact size. Appending each pointer to a growing
// slice instead left about 4 MB of outgrown copies at 100k sockets (append
// grows large slices by 1.25x), all of it in the peak RSS.
type builder struct {
	opts Options
	ns   *NetNS
	// sockets lists the sockets, in the order they were added, after finish.
	sockets []*Socket
	seq     uint32 // dump position within the current (namespace, protocol)
	// added holds the sockets added, in order: each element is a prefix of
	// a slab, or of what was left of one; the last one ends where free
	// starts.
	added        [][]Socket
	free         []Socket
	n            int // sockets added
	procFallback string
}

func newBuilder(opts Options) *builder {
	return &builder{opts: opts}
}

// finish lists the sockets and drops those reported twice (a dump is not a
// snapshot: under churn a socket can come back twice), keeping the first
// report. Duplicates are rare: hasDupCookies checks cheaply, and the set
// is built only when there are some.
func (b *builder) finish() {
	b.sockets = make([]*Socket, 0, b.n)
	for _, part := range b.added {
		for i := range part {
			b.sockets = append(b.sockets, &part[i])
		}
	}
	b.added, b.free = nil, nil
	if !hasDupCookies(b.sockets) {
		return
	}
	seen := make(map[uint64]struct{}, len(b.sockets))
	kept := b.sockets[:0]
	for _, s := range b.sockets {
		if s.Cookie != 0 {
			if _, ok := seen[s.Cookie]; ok {
				continue
			}
			seen[s.Cookie] = struct{}{}
		}
		kept = append(kept, s)
	}
	clear(b.sockets[len(kept):])
	b.sockets = kept
}

// hasDupCookies reports whether two sockets share a non-zero cookie. It
// sets one bit per cookie, at a hash of it, in a bitmap of 8 to 16 bits
// per socket; only the cookies that find their bit already set (a few
// percent) are candidates, counted exactly in a second pass. A sorted copy
// of every cookie, as before, took 8 bytes per socket at the peak of
// Collect, and a sort.
func hasDupCookies(socks []*Socket) bool {
	bits := 12
	for 1<<bits < 8*len(socks) {
		bits++
	}
	set := make([]uint64, 1<<bits/64)
	slot := func(c uint64) (int, uint64) {
		h := mix64(c) >> (64 - bits)
		return int(h / 64), 1 << (h % 64)
	}
	var cand []uint64
	for _, s := range socks {
		if s.Cookie == 0 {
			continue
		}
		w, m := slot(s.Cookie)
		if set[w]&m != 0 {
			cand = append(cand, s.Cookie)
		}
		set[w] |= m
	}
	if len(cand) == 0 {
		return false
	}
	slices.Sort(cand)
	cand = slices.Compact(cand)
	// Second pass: the bitmap now marks the candidates only.
	clear(set)
	for _, c := range cand {
		w, m := slot(c)
		set[w] |= m
	}
	seen := make([]bool, len(cand))
	for _, s := range socks {
		if s.Cookie == 0 {
			continue
		}
		if w, m := slot(s.Cookie); set[w]&m == 0 {
			continue
		}
		if i, ok := slices.BinarySearch(cand, s.Cookie); ok {
			if seen[i] {
				return true
			}
			seen[i] = true
		}
	}
	return false
}

// alloc adds a Socket, from a slab to avoid one allocation per socket.
func (b *builder) alloc() *Socket {
	if len(b.free) == 0 {
		n := 256
		if b.n > 1024 {
			n = 4096
		}
		b.free = make([]Socket, n)
		b.added = append(b.added, b.free[:0])
	}
	last := &b.added[len(b.added)-1]
	*last = (*last)[:len(*last)+1]
	s := &b.free[0]
	b.free = b.free[1:]
	b.n++
	return s
}

// merge adds the sockets of child after those added so far; the sockets
// added later come after them.
func (b *builder) merge(child *builder) {
	b.added = append(b.added, child.added...)
	b.n += child.n
	if len(b.free) > 0 {
		b.added = append(b.added, b.free[:0])
	}
}

func (b *builder) wantProto(p Proto) bool {
	return len(b.opts.Protos) == 0 || slices.Contains(b.opts.Protos, p)
}

func (b *builder) wantFamily(f Family) bool {
	return len(b.opts.Families) == 0 || slices.Contains(b.opts.Families, f)
}

func (b *builder) states() StateSet {
	if b.opts.States == 0 {
		return AllStates
	}
	return b.opts.States
}

// unixShow asks unix_diag for the name, peer, pending connections, queue
// lengths and owner.
const unixShow = 0x01 | 0x04 | 0x08 | 0x10 | 0x40

var inetProtos = []struct {
	proto Proto
	num   uint8
	file  string
}{
	{TCP, unix.IPPROTO_TCP, "tcp"},
	{UDP, unix.IPPROTO_UDP, "udp"},
	{UDPLite, 136, "udplite"}, // IPPROTO_UDPLITE (not defined by x/sys/unix on every OS),
	{Raw, unix.IPPROTO_RAW, "raw"},
}

// readNamespace reads every selected table of the namespace the calling
// thread is in. self is "self" or "thread-self": which /proc/X/net to read
// for the /proc source (kernel.md N3: /proc/self/net is the thread-group
// leader's namespace, not a setns'd thread's).
func (b *builder) readNamespace(procRoot, self string) error {
	fs := procnet.FS{Root: procRoot}
	var conn *sockdiag.Conn
	if b.opts.Source != SourceProc {
		c, err := sockdiag.Dial()
		if err != nil {
			if b.opts.Source == SourceNetlink {
				return fmt.Errorf("open sock_diag: %w", err)
			}
			b.procFallback = fmt.Sprintf("sock_diag unavailable (%v): read /proc/net instead (no cookies, no bound-only TCP sockets)", err)
		} else {
			conn = c
			defer conn.Close()
		}
	}
	states := b.states()
	var pf *prefetch
	if conn != nil && b.wantProto(TCP) && b.wantFamily(FamilyInet) && b.wantFamily(FamilyInet6) {
		pf = b.startPrefetch(TCP, unix.IPPROTO_TCP, FamilyInet6, inetMask(TCP, states))
		defer pf.wait()
	}
	for _, p := range inetProtos {
		if !b.wantProto(p.proto) {
			continue
		}
		for _, fam := range []Family{FamilyInet, FamilyInet6} {
			if !b.wantFamily(fam) {
				continue
			}
			if pf != nil && p.proto == TCP && fam == FamilyInet6 {
				child, err := pf.wait()
				pf = nil
				if err == nil {
					b.merge(child)
					continue
				}
				// Dump again below, where every error is handled.
			}
			b.seq = 0
			emit := func(r *sockdiag.InetRecord) error {
				b.addInet(p.proto, r)
				return nil
			}
			if conn != nil {
				err := conn.DumpInet(sockdiag.InetRequest{Family: uint8(fam), Protocol: p.num, States: inetMask(p.proto, states), SPort: b.kernelPort(p.proto)}, emit)
				if err == nil {
					continue
				}
				if !errors.Is(err, sockdiag.ErrNotSupported) || b.opts.Source == SourceNetlink {
					if errors.Is(err, sockdiag.ErrNotSupported) {
						// The kernel lacks this protocol's diag handler: nothing to list.
						continue
					}
					return fmt.Errorf("dump %s%s: %w", p.proto, famSuffix(fam), err)
				}
			}
			file := filepath.Join(self, "net", p.file+famSuffix(fam))
			if err := fs.Inet(file, uint8(fam), p.num, emit); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					continue // protocol or IPv6 not built in
				}
				return fmt.Errorf("read %s: %w", file, err)
			}
		}
	}
	if b.wantProto(Unix) {
		emit := func(r *sockdiag.UnixRecord) error {
			b.addUnix(r)
			return nil
		}
		if conn != nil {
			err := conn.DumpUnix(sockdiag.UnixRequest{
				States: ^uint32(0),
				Show:   unixShow,
			}, emit)
			if err == nil {
				return nil
			}
			if !errors.Is(err, sockdiag.ErrNotSupported) {
				return fmt.Errorf("dump unix: %w", err)
			}
		}
		file := filepath.Join(procRoot, self, "net", "unix")
		f, err := os.Open(file)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("read unix sockets: %w", err)
		}
		defer f.Close()
		if err := procnet.ParseUnix(f, emit); err != nil {
			return fmt.Errorf("read %s: %w", file, err)
		}
	}
	return nil
}

// inetMask is the kernel state mask to ask for.
func inetMask(p Proto, states StateSet) uint32 {
	if p != TCP {
		return uint32(AllStates) // UDP/raw: filter after (the kernel's UDP state numbering is ours)
	}
	mask := uint32(states)
	if states.Has(Close) {
		mask |= 1 << BoundInactive
	}
	return mask
}

// prefetch is one inet dump running on its own sock_diag socket, beside
// the caller's dumps, into its own builder.
type prefetch struct {
	done  chan struct{}
	child *builder
	err   error
}

// startPrefetch starts a dump of (proto, fam) on a second sock_diag socket.
// Every TCP dump walks the whole TCP hash table whatever the family asked
// for, so running the IPv6 dump beside the IPv4 one hides most of its cost
// on a machine with two cores or more. The socket is opened here, on the
// calling thread, so it belongs to the namespace being read (kernel.md
// N3); the goroutine may then use it from any thread. It returns nil when
// the second socket cannot be opened: the caller dumps in turn as before.
func (b *builder) startPrefetch(proto Proto, num uint8, fam Family, mask uint32) *prefetch {
	c, err := sockdiag.Dial()
	if err != nil {
		return nil
	}
	pf := &prefetch{done: make(chan struct{}), child: &builder{opts: b.opts, ns: b.ns}}
	go func() {
		defer close(pf.done)
		defer c.Close()
		pf.err = c.DumpInet(sockdiag.InetRequest{Family: uint8(fam), Protocol: num, States: mask, SPort: b.kernelPort(proto)}, func(r *sockdiag.InetRecord) error {
			pf.child.addInet(proto, r)
			return nil
		})
	}()
	return pf
}

// wait waits for the dump and returns its builder, or its error. It is
// safe on a nil prefetch and may be called more than once.
func (pf *prefetch) wait() (*builder, error) {
	if pf == nil {
		return nil, errors.New("no prefetch")
	}
	<-pf.done
	return pf.child, pf.err
}

func famSuffix(f Family) string {
	if f == FamilyInet6 {
		return "6"
	}
	return ""
}

// kernelPort is the local port the kernel is asked to filter on (a
// bytecode filter in the dump request), 0 for none. Raw sockets have no
// port: their "port" is the IP protocol.
func (b *builder) kernelPort(p Proto) uint16 {
	if !p.HasPorts() {
		return 0
	}
	return b.opts.LocalPort
}

func (b *builder) addInet(p Proto, r *sockdiag.InetRecord) {
	if b.opts.LocalPort != 0 && p.HasPorts() && r.SrcPort != b.opts.LocalPort {
		return // the /proc fallback cannot filter in the kernel
	}
	st := State(r.State)
	if st == BoundInactive {
		st = Close
	}
	if !b.states().Has(st) && !(st == Close && b.states().Has(BoundInactive)) {
		return
	}
	b.seq++
	s := b.alloc()
	*s = Socket{
		Cookie:    r.Cookie,
		Inode:     uint64(r.Inode),
		Family:    Family(r.Family),
		Proto:     p,
		State:     st,
		Local:     netip.AddrPortFrom(r.Src, r.SrcPort),
		Remote:    netip.AddrPortFrom(r.Dst, r.DstPort),
		RecvQ:     r.RQueue,
		SendQ:     r.WQueue,
		UID:       r.UID,
		Interface: r.If,
		Timer:     r.Timer,
		Expires:   r.Expires,
		Retrans:   r.Retrans,
		CgroupID:  r.CgroupID,
		NetNS:     b.ns,
		Seq:       b.seq,
	}
	switch p {
	case TCP:
		s.Type = SockStream
	case UDP, UDPLite:
		s.Type = SockDgram
	case Raw:
		s.Type = SockRaw
	}
	if r.HasSockopt {
		s.Sockopt = r.Sockopt
	}
	switch r.V6Only {
	case 0:
		s.V6Only = No
	case 1:
		s.V6Only = Yes
	}
}

func (b *builder) addUnix(r *sockdiag.UnixRecord) {
	st := State(r.State)
	if !b.states().Has(st) {
		return
	}
	s := b.alloc()
	*s = Socket{
		Cookie:    r.Cookie,
		Inode:     uint64(r.Inode),
		Family:    FamilyUnix,
		Proto:     Unix,
		Type:      SockType(r.Type),
		State:     st,
		Path:      r.Name,
		PeerInode: uint64(r.Peer),
		RecvQ:     r.RQueue,
		SendQ:     r.WQueue,
		UID:       r.UID,
		NetNS:     b.ns,
	}
	if len(r.Icons) > 0 {
		s.Pending = make([]uint64, len(r.Icons))
		for i, ino := range r.Icons {
			s.Pending[i] = uint64(ino)
		}
	}
}

// attachHolders joins the holder scan to the sockets by inode.
func attachHolders(snap *Snapshot, res *holders.Result, err error, took time.Duration, procRoot string, names map[string]string) {
	if res == nil {
		snap.Warnings = append(snap.Warnings, Warning{Kind: "holders", Count: 1, Msg: fmt.Sprintf("holders could not be read: %v", err)})
		return
	}
	procs := make([]Process, len(res.Procs))
	for i, p := range res.Procs {
		procs[i] = Process{PID: p.PID, PPID: p.PPID, Comm: p.Comm, Cmdline: p.Cmdline, UID: p.UID, User: p.User, Cgroup: p.Cgroup, NetNS: p.NetNS}
	}
	labelProcesses(procs, snap.NetNS, procRoot, names)
	partial := res.Denied > 0 || len(res.TimedOut) > 0 || err != nil
	hidden := 0
	var slab []Holder
	for _, s := range snap.Sockets {
		if s.Inode == 0 {
			continue
		}
		refs := res.Holders(s.Inode)
		if len(refs) == 0 {
			if partial {
				s.HoldersHidden = true
				hidden++
			}
			continue
		}
		// Holders come from slabs: one allocation per 4096, not per socket.
		if len(slab) < len(refs) {
			slab = make([]Holder, max(4096, len(refs)))
		}
		s.Holders = slab[:len(refs):len(refs)]
		slab = slab[len(refs):]
		for i, r := range refs {
			s.Holders[i] = Holder{Proc: &procs[r.Proc], FD: int(r.FD)}
		}
		if len(refs) > 1 {
			slices.SortFunc(s.Holders, func(a, b Holder) int {
				if a.PID() != b.PID() {
					return a.PID() - b.PID()
				}
				return a.FD - b.FD
			})
		}
	}
	snap.HiddenHolders = hidden
	if hidden > 0 {
		socks := "sockets' holders are"
		if hidden == 1 {
			socks = "socket's holders are"
		}
		procs := "processes"
		are := "are"
		if res.Denied == 1 {
			procs, are = "process", "is"
		}
		msg := fmt.Sprintf("%d %s hidden: %d %s could not be inspected (run as root to see them)", hidden, socks, res.Denied, procs)
		if os.Geteuid() == 0 {
			msg = fmt.Sprintf("%d %s hidden: %d %s %s not readable even by root (non-dumpable, or in another user namespace)", hidden, socks, res.Denied, procs, are)
		}
		snap.Warnings = append(snap.Warnings, Warning{Kind: "permission", Count: hidden, Msg: msg})
	}
	if res.Failed > 0 {
		snap.Warnings = append(snap.Warnings, Warning{Kind: "holders", Count: res.Failed,
			Msg: fmt.Sprintf("%d processes could not be read: %v", res.Failed, res.FailErr)})
	}
	if len(res.TimedOut) > 0 {
		snap.Warnings = append(snap.Warnings, Warning{Kind: "timeout", Count: len(res.TimedOut),
			Msg: fmt.Sprintf("%d processes did not answer within the time bound and were skipped (pids %v)", len(res.TimedOut), firstN(res.TimedOut, 8))})
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		snap.Warnings = append(snap.Warnings, Warning{Kind: "timeout", Count: 1, Msg: fmt.Sprintf("the holder scan stopped after %s: %v", took.Round(time.Millisecond), err)})
	}
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func firstNames(x []string, n int) []string {
	if len(x) > n {
		return append(x[:n:n], fmt.Sprintf("and %d more", len(x)-n))
	}
	return x
}

func firstN(x []int, n int) []int {
	if len(x) > n {
		return x[:n]
	}
	return x
}

type connKey struct {
	ns            uint64
	proto         Proto
	local, remote netip.AddrPort
}

func nsInodeOf(s *Socket) uint64 {
	if s.NetNS != nil {
		return s.NetNS.Inode
	}
	return 0
}

// linkPeers pairs both ends of local connections: inet sockets whose
// reversed 5-tuple is also a socket in the same namespace, and connected
// Unix sockets by peer inode.
func linkPeers(socks []*Socket) {
	var conns peerIndex
	var byInode map[uint64]*Socket
	for _, s := range socks {
		switch {
		case s.Proto == Unix && s.Inode != 0:
			if byInode == nil {
				byInode = make(map[uint64]*Socket)
			}
			byInode[s.Inode] = s
		case s.Proto.HasPorts() && s.Remote.Port() != 0 && s.State != Listen && s.State != TimeWait:
			conns.add(connKey{nsInodeOf(s), s.Proto, s.Local, s.Remote}, s, len(socks))
		}
	}
	for _, s := range socks {
		if s.Peer != nil {
			continue
		}
		if s.Proto == Unix {
			if s.PeerInode != 0 {
				if p := byInode[s.PeerInode]; p != nil && p != s {
					s.Peer = p
				}
			}
			continue
		}
		if conns.byHash == nil || s.Remote.Port() == 0 {
			continue
		}
		if p := conns.get(connKey{nsInodeOf(s), s.Proto, s.Remote, s.Local}); p != nil && p != s && p.State != TimeWait && s.State != TimeWait {
			s.Peer = p
			p.Peer = s
		}
	}
}

// peerIndex maps a connection (netns, proto, local, remote) to the last
// socket added with it. It is keyed by a 64-bit hash of the tuple, which is
// checked on lookup, because a map keyed by the 80-byte tuple itself cost
// four times as much at 100k sockets; the rare tuple whose hash collides
// with a different tuple goes to an exact map.
type peerIndex struct {
	byHash map[uint64]*Socket
	exact  map[connKey]*Socket
}

func (x *peerIndex) add(k connKey, s *Socket, sizeHint int) {
	if x.byHash == nil {
		x.byHash = make(map[uint64]*Socket, sizeHint)
	}
	h := k.hash()
	if old, ok := x.byHash[h]; ok && connKeyOf(old) != k {
		if x.exact == nil {
			x.exact = make(map[connKey]*Socket)
		}
		x.exact[k] = s
		return
	}
	x.byHash[h] = s
}

func (x *peerIndex) get(k connKey) *Socket {
	if p := x.byHash[k.hash()]; p != nil && connKeyOf(p) == k {
		return p
	}
	return x.exact[k]
}

func connKeyOf(s *Socket) connKey {
	return connKey{nsInodeOf(s), s.Proto, s.Local, s.Remote}
}

// hash mixes every field of the key except address zones (which the exact
// comparison on lookup still checks).
func (k connKey) hash() uint64 {
	const m = 0x9e3779b97f4a7c15
	l, r := k.local.Addr().As16(), k.remote.Addr().As16()
	h := (k.ns ^ uint64(k.proto)<<56) * m
	h = (h ^ binary.BigEndian.Uint64(l[:8])) * m
	h = (h ^ binary.BigEndian.Uint64(l[8:]) ^ uint64(k.local.Port())<<32) * m
	h = (h ^ binary.BigEndian.Uint64(r[:8])) * m
	h = (h ^ binary.BigEndian.Uint64(r[8:]) ^ uint64(k.remote.Port())<<32 ^ uint64(k.local.Addr().BitLen())<<48) * m
	return mix64(h)
}

// mix64 is the murmur3 finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// sortSockets sorts in the order of Less, as Snapshot.Sort does, with
// slices.SortFunc and a three-way comparison: half the time of sort.Slice
// at 100k sockets.
func sortSockets(socks []*Socket) {
	slices.SortFunc(socks, compareSockets)
}

// compareSockets is Less as a three-way comparison: it returns a negative
// number when Less(a, b), a positive one when Less(b, a), and 0 otherwise.
func compareSockets(a, b *Socket) int {
	if an, bn := nsInodeOf(a), nsInodeOf(b); an != bn {
		return cmp.Compare(an, bn)
	}
	if a.Proto != b.Proto {
		return cmp.Compare(a.Proto, b.Proto)
	}
	if a.Proto == Unix {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return cmp.Compare(a.Inode, b.Inode)
	}
	if c := cmp.Compare(a.Local.Port(), b.Local.Port()); c != 0 {
		return c
	}
	if c := a.Local.Addr().Compare(b.Local.Addr()); c != 0 {
		return c
	}
	if a.State != b.State {
		// LISTEN first, then by number.
		switch {
		case a.State == Listen:
			return -1
		case b.State == Listen:
			return 1
		}
		return cmp.Compare(a.State, b.State)
	}
	if c := a.Remote.Compare(b.Remote); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Inode, b.Inode); c != 0 {
		return c
	}
	return cmp.Compare(a.Cookie, b.Cookie)
}
