package sockscope

import (
	"net/netip"
	"slices"

	"github.com/sockscope/sockscope/internal/sockdiag"
)

// builder turns records from one or more namespaces into Sockets,
// deduplicated by cookie (a dump is not a snapshot, docs/kernel.md D2;
// netlink_diag lists some sockets twice, K4).
//
// Sockets are kept in slabs while records come in; finish lists them,
// once, in a slice of the exact size. Appending each pointer to a growing
// slice instead left about 4 MB of outgrown copies at 100k sockets (append
// grows large slices by 1.25x), all of it in the peak RSS.
type builder struct {
	opts     Options
	procRoot string
	ns       *NetNS
	// sockets lists the sockets, in the order they were added, after finish.
	sockets []*Socket
	seq     [2]uint32 // dump position within the current (namespace, protocol), by family (IPv4, IPv6)
	// added holds the sockets added, in order: each element is a prefix of
	// a slab, or of what was left of one; the last one ends where free
	// starts.
	added        [][]Socket
	free         []Socket
	n            int // sockets added
	procFallback string
	strs         map[string]string // interned strings (congestion control names)
	counterErrs  []error           // namespaces whose listen counters could not be read
}

func newBuilder(opts Options) *builder {
	root := opts.ProcRoot
	if root == "" {
		root = "/proc"
	}
	return &builder{opts: opts, procRoot: root}
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
	fi := 0
	if r.Family == uint8(FamilyInet6) {
		fi = 1
	}
	b.seq[fi]++
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
		Seq:       b.seq[fi],
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
	if r.HasShutdown {
		s.ShutRead, s.ShutWrite = shutdownOf(r.Shutdown)
	}
	switch r.V6Only {
	case 0:
		s.V6Only = No
	case 1:
		s.V6Only = Yes
	}
	b.addInetDetails(s, r)
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
	if r.HasShutdown {
		s.ShutRead, s.ShutWrite = shutdownOf(r.Shutdown)
	}
	if len(r.Icons) > 0 {
		s.Pending = make([]uint64, len(r.Icons))
		for i, ino := range r.Icons {
			s.Pending[i] = uint64(ino)
		}
	}
	addUnixDetails(s, r)
}

// shutdownOf splits sk_shutdown into its receive (RCV_SHUTDOWN, 1) and
// send (SEND_SHUTDOWN, 2) sides.
func shutdownOf(v uint8) (read, write Tristate) {
	return TristateOf(v&1 != 0), TristateOf(v&2 != 0)
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
