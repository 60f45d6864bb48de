package sockscope

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sockscope/sockscope/internal/bpfiter"
	"github.com/sockscope/sockscope/internal/holders"
	"github.com/sockscope/sockscope/internal/netns"
)

// BindBucket is the state the kernel keeps for one bound TCP port of one
// network namespace (struct inet_bind_bucket), which decides a new bind(2)
// to that port before the sockets on it are compared. It is read through
// BPF (Options.Source SourceBPF).
type BindBucket struct {
	// Port is the bucket's port.
	Port uint16
	// FastReuse is the kernel's fastreuse: 1 when every socket on the port
	// has SO_REUSEADDR and none listens, 0 when a bind must check each
	// socket, -1 for ports taken by connect(2)'s automatic bind.
	FastReuse int8
	// FastReusePort is fastreuseport: 1 or 2 (FASTREUSEPORT_ANY,
	// FASTREUSEPORT_STRICT) when a bind with SO_REUSEPORT by FastUID to
	// FastAddr may skip the per-socket check, 0 when not, -1 for automatic
	// binds.
	FastReusePort int8
	// FastUID, FastAddr and FastIPv6Only are meaningful, and set, only
	// when FastReusePort > 0 (the kernel sets them only then).
	FastUID uint32
	// FastAddr is the bound address fast reuseport compares (of family
	// fast_sk_family); invalid when unknown.
	FastAddr     netip.Addr
	FastIPv6Only Tristate
}

// BPF holds the BPF iterator programs loaded into the kernel, for reuse by
// every Collect that passes it in Options.BPF (watch, serve): loading costs
// far more than reading. Close unloads them.
type BPF struct {
	it *bpfiter.Iters
}

// LoadBPF loads the iterator programs. It needs CAP_BPF and CAP_PERFMON
// (or root outside a user namespace) and a kernel with BTF; the error
// wraps ErrNotSupported otherwise.
func LoadBPF() (*BPF, error) {
	it, err := bpfiter.Load()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	return &BPF{it: it}, nil
}

// Close unloads the programs; nothing stays in the kernel. It is safe on
// nil.
func (b *BPF) Close() error {
	if b == nil {
		return nil
	}
	return b.it.Close()
}

// openBPF returns the programs Collect uses, and a function that releases
// those it loaded itself: opts.BPF when set, else programs loaded for this
// call when opts.Source is SourceBPF. When they cannot be loaded it
// returns nil and a warning: Collect reads sock_diag and /proc as without
// BPF. SourceAuto uses BPF, silently when it loads, only as root for a
// holder scan on a host with many open files (autoBPFFiles), or whenever
// opts.BPF is already loaded.
func openBPF(opts Options, procRoot string) (*BPF, func(), *Warning) {
	// Programs loaded by the caller (watch, serve) cost nothing more to
	// use: auto then scans holders through them whatever the count.
	auto := opts.Source == SourceAuto && opts.Holders && os.Geteuid() == 0 && initialPIDNS(procRoot) && (opts.BPF != nil || openFiles(procRoot) >= autoBPFFiles)
	if opts.Source != SourceBPF && !auto {
		return nil, func() {}, nil
	}
	if opts.BPF != nil {
		return opts.BPF, func() {}, nil
	}
	it, err := bpfiter.Load()
	if err != nil && auto {
		return nil, func() {}, nil // auto: the /proc scan, as without BPF
	}
	if err != nil {
		why := strings.TrimPrefix(err.Error(), bpfiter.ErrUnavailable.Error()+": ")
		return nil, func() {}, &Warning{Kind: WarnSource, Count: 1,
			Msg: "BPF unavailable (" + why + "): read sock_diag and /proc instead; reuse flags and bind buckets unknown"}
	}
	bp := &BPF{it: it}
	return bp, func() { bp.Close() }, nil
}

// autoBPFFiles is how many open files (fs.file-nr, every process's) make
// SourceAuto scan holders through BPF, in the initial PID namespace: loading the programs costs about
// 40 ms, which the /proc scan's 4-10 µs per fd exceeds from about 10k
// socket fds on (docs/performance.md); below, one-shot commands are
// faster without.
const autoBPFFiles = 50000

// openFiles returns the number of allocated file handles of the whole
// system (the first field of /proc/sys/fs/file-nr), 0 if unknown.
func openFiles(procRoot string) int {
	b, err := os.ReadFile(procRoot + "/sys/fs/file-nr")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

// initialPIDNS reports whether the caller is in the initial PID namespace,
// where the system's open-file count is what the /proc scan would walk;
// in a container it walks only the container's processes.
func initialPIDNS(procRoot string) bool {
	l, err := os.Readlink(procRoot + "/self/ns/pid")
	return err == nil && l == "pid:[4026531836]" // PROC_PID_INIT_INO
}

// bpfRead is what the iterators reported: the TCP and UDP sockets of
// every namespace read, and every socket fd.
type bpfRead struct {
	socks map[uint64]*bpfiter.Sock // by cookie
	fds   map[int][]holders.SocketFD
	files bool // the task_file iterator was read
	// noFlags: flags were not asked for (Options.SkipFlags).
	noFlags bool
	errs    []error
}

// readBPF runs the socket iterators in every namespace (the namespace of
// an iterator is the opening thread's) and the task_file iterator once.
func readBPF(ctx context.Context, bp *BPF, spaces []nsTarget, opts Options) (*bpfRead, error) {
	r := &bpfRead{socks: map[uint64]*bpfiter.Sock{}, noFlags: opts.SkipFlags && opts.Source == SourceAuto}
	var mu sync.Mutex
	add := func(s bpfiter.Sock) {
		if s.Cookie == 0 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		r.socks[s.Cookie] = &s
	}
	var keep func(uint8) bool
	if opts.FlagStates != 0 {
		keep = func(st uint8) bool { return opts.FlagStates.Has(State(st)) }
	}
	flags := !r.noFlags
	wantTCP, wantUDP := flags && wantsProto(opts, TCP), flags && wantsProto(opts, UDP)
	read := func() error {
		for _, p := range []struct {
			want  bool
			proto int
		}{{wantTCP, bpfiter.TCP}, {wantUDP, bpfiter.UDP}} {
			if !p.want {
				continue
			}
			if err := bp.it.EachSock(p.proto, keep, add); err != nil {
				return err
			}
		}
		return nil
	}
	for _, ns := range spaces {
		if !wantTCP && !wantUDP {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, &OpError{Op: "read", NetNS: ns.model.Name, Err: err}
		}
		var err error
		if ns.direct {
			err = read()
		} else {
			err = netns.Do(ns.ns, read)
		}
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("%s: %w", ns.model.Name, err))
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, &OpError{Op: "scan holders", Err: err}
	}
	if opts.Holders {
		r.readFiles(bp, true, flags)
	}
	return r, nil
}

// readFiles runs the task_file iterator: with flags, the flags of
// bound-only TCP sockets, which iter/tcp does not walk, and with holders
// the socket fds of every process.
func (r *bpfRead) readFiles(bp *BPF, withHolders, flags bool) {
	r.files = true
	var fds map[int][]holders.SocketFD
	if withHolders {
		fds = make(map[int][]holders.SocketFD)
	}
	bound, err := bp.it.EachHolder(func(h bpfiter.Holder) {
		if fds != nil && h.PID > 0 {
			fds[int(h.PID)] = append(fds[int(h.PID)], holders.SocketFD{Inode: h.Inode, FD: h.FD})
		}
	})
	if err != nil {
		r.errs = append(r.errs, err)
		return
	}
	for i := range bound {
		if flags && bound[i].Cookie != 0 {
			r.socks[bound[i].Cookie] = &bound[i]
		}
	}
	r.fds = fds
}

// wantsProto reports whether opts selects proto.
func wantsProto(opts Options, p Proto) bool {
	if len(opts.Protos) == 0 {
		return true
	}
	for _, q := range opts.Protos {
		if q == p {
			return true
		}
	}
	return false
}

// applyBPF sets the flags and bind buckets of the sockets the iterators
// reported, by cookie, and warns about what could not be read.
func applyBPF(snap *Snapshot, bp *BPF, r *bpfRead) {
	if r == nil {
		return
	}
	// Bound-only TCP sockets are seen only through their holders' fds:
	// walk them now if the table has any and the holder scan did not.
	if !r.files && !r.noFlags && slices.ContainsFunc(snap.Sockets, func(s *Socket) bool {
		return s.Proto == TCP && s.State == Close && s.Cookie != 0 && r.socks[s.Cookie] == nil
	}) {
		r.readFiles(bp, false, true)
	}
	// Sockets on one port of one namespace share one bucket.
	type bucketKey struct {
		ns *NetNS
		b  bpfiter.Bucket
	}
	buckets := map[bucketKey]*BindBucket{}
	for _, s := range snap.Sockets {
		if s.Cookie == 0 || (s.Proto != TCP && s.Proto != UDP) {
			continue
		}
		k := r.socks[s.Cookie]
		if k == nil {
			continue
		}
		s.ReuseAddr = TristateOf(k.ReuseAddr != 0)
		s.ReusePort = TristateOf(k.ReusePort)
		if k.ReuseportRead {
			s.ReuseportProg = TristateOf(k.ReuseportProg)
		}
		if s.Family == FamilyInet6 {
			s.V6Only = TristateOf(k.V6Only)
		}
		if k.Bucket != nil {
			key := bucketKey{s.NetNS, *k.Bucket}
			bb := buckets[key]
			if bb == nil {
				bb = bindBucketOf(k.Bucket)
				buckets[key] = bb
			}
			s.BindBucket = bb
		}
	}
	if len(r.errs) > 0 {
		snap.Warnings = append(snap.Warnings, Warning{Kind: WarnSource, Count: len(r.errs),
			Msg: fmt.Sprintf("BPF iterators could not be read, flags unknown there: %v", errors.Join(r.errs...))})
	}
}

func bindBucketOf(b *bpfiter.Bucket) *BindBucket {
	bb := &BindBucket{Port: b.Port, FastReuse: b.FastReuse, FastReusePort: b.FastReusePort}
	if b.FastReusePort > 0 {
		bb.FastUID = b.FastUID
		if b.HasSkFamily && b.HasRcvSaddr {
			if b.FastSkFamily == uint16(FamilyInet6) {
				bb.FastAddr = b.FastV6RcvSaddr
			} else {
				bb.FastAddr = b.FastRcvSaddr
			}
		}
		if b.HasIPv6Only {
			bb.FastIPv6Only = TristateOf(b.FastIPv6Only)
		}
	}
	return bb
}
