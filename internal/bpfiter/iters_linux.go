//go:build linux

package bpfiter

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// raiseMemlock lifts RLIMIT_MEMLOCK as far as this process may, for
// kernels that charge BPF maps and programs to it.
func raiseMemlock() {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim); err != nil || lim.Cur == unix.RLIM_INFINITY {
		return
	}
	want := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	if unix.Setrlimit(unix.RLIMIT_MEMLOCK, &want) != nil {
		// Without CAP_SYS_RESOURCE: up to the hard limit.
		lim.Cur = lim.Max
		_ = unix.Setrlimit(unix.RLIMIT_MEMLOCK, &lim)
	}
}

// Iters holds the loaded programs and their iterator links. It is safe
// for concurrent use: each read opens its own iterator instance.
type Iters struct {
	objs            iterObjects
	tcp, udp, files *link.Iter
}

// Load loads the iterator programs into the kernel and creates their links.
// The kernel's BTF is parsed once, for both the CO-RE relocations and the
// attach targets. Close releases everything.
func Load() (*Iters, error) {
	if !privileged() {
		return nil, fmt.Errorf("%w: needs CAP_BPF and CAP_PERFMON, or root", ErrUnavailable)
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return nil, fmt.Errorf("%w: no kernel BTF: %w", ErrUnavailable, err)
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK. Not
	// cilium/ebpf/rlimit: its package initialiser creates a BPF map
	// (and reads mountinfo) to detect memcg accounting in every run of
	// every command, BPF or not; raising the limit is harmless where it
	// is not needed.
	raiseMemlock()
	spec, err := loadIter()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	cache := btf.NewCache()
	kernel, err := cache.Kernel()
	if err != nil {
		return nil, fmt.Errorf("%w: read kernel BTF: %w", ErrUnavailable, err)
	}
	it := &Iters{}
	opts := &ebpf.CollectionOptions{
		Programs: ebpf.ProgramOptions{KernelTypes: kernel},
		Cache:    cache,
	}
	if err := spec.LoadAndAssign(&it.objs, opts); err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return nil, fmt.Errorf("%w: the kernel rejected the programs: %w", ErrUnavailable, err)
		}
		return nil, fmt.Errorf("%w: load programs: %w", ErrUnavailable, err)
	}
	for _, a := range []struct {
		l    **link.Iter
		prog *ebpf.Program
		name string
	}{{&it.tcp, it.objs.DumpTcp, "tcp"}, {&it.udp, it.objs.DumpUdp, "udp"}, {&it.files, it.objs.DumpTaskFile, "task_file"}} {
		l, err := link.AttachIter(link.IterOptions{Program: a.prog})
		if err != nil {
			it.Close()
			return nil, fmt.Errorf("%w: create iter/%s link: %w", ErrUnavailable, a.name, err)
		}
		*a.l = l
	}
	return it, nil
}

// privileged reports whether the process has the capabilities loading
// needs: CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON (iterators are tracing
// programs). It answers true when it cannot tell: the load then decides.
func privileged() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return true
	}
	for line := range strings.Lines(string(b)) {
		hex, ok := strings.CutPrefix(line, "CapEff:")
		if !ok {
			continue
		}
		caps, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return true
		}
		const sysAdmin, perfmon, bpf = 21, 38, 39
		return caps&(1<<sysAdmin) != 0 || (caps&(1<<perfmon) != 0 && caps&(1<<bpf) != 0)
	}
	return true
}

// Close detaches the links and unloads the programs. It is safe on nil
// and more than once.
func (it *Iters) Close() error {
	if it == nil {
		return nil
	}
	var errs []error
	for _, l := range []**link.Iter{&it.tcp, &it.udp, &it.files} {
		if *l != nil {
			errs = append(errs, (*l).Close())
			*l = nil
		}
	}
	errs = append(errs, it.objs.Close())
	return errors.Join(errs...)
}

// Proto numbers for Sockets.
const (
	TCP = 6
	UDP = 17
)

// Sockets reads every socket of proto (TCP or UDP) in the network
// namespace of the calling thread (iter/tcp walks the listening and
// established hashes: TIME-WAIT sockets and orphans are there, TCP
// sockets that are only bound are not; see Holders). Request sockets
// (SYN-RECV) are left out. Run it inside netns.Do to read another
// namespace: the namespace is fixed when the iterator is opened.
func (it *Iters) Sockets(proto int) ([]Sock, error) {
	var out []Sock
	err := it.EachSock(proto, nil, func(s Sock) { out = append(out, s) })
	return out, err
}

// EachSock is Sockets calling fn for each socket whose kernel state number
// keep accepts (every socket when keep is nil) instead of keeping them
// all: records of the other states are skipped before they are decoded.
func (it *Iters) EachSock(proto int, keep func(state uint8) bool, fn func(Sock)) error {
	var l *link.Iter
	switch proto {
	case TCP:
		l = it.tcp
	case UDP:
		l = it.udp
	default:
		return fmt.Errorf("bpfiter: protocol %d: want TCP (6) or UDP (17)", proto)
	}
	if l == nil {
		return errors.New("bpfiter: iterators closed")
	}
	rd, err := l.Open()
	if err != nil {
		return fmt.Errorf("bpfiter: open iterator: %w", err)
	}
	defer rd.Close()
	br := bufio.NewReaderSize(rd, 64<<10)
	var rec iterSkRec
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&rec)), unsafe.Sizeof(rec))
	for {
		if _, err := io.ReadFull(br, buf); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("bpfiter: read iterator: %w", err)
		}
		if keep == nil || keep(rec.State) {
			fn(sockOf(&rec))
		}
	}
}

// Holders reads every socket fd of every process in every namespace (the
// iterator skips threads that share their leader's fd table). Sockets
// lists the TCP sockets in state CLOSE among them (bound but neither
// listening nor connected, which Sockets cannot see), with their flags.
func (it *Iters) Holders() (holders []Holder, socks []Sock, err error) {
	socks, err = it.EachHolder(func(h Holder) { holders = append(holders, h) })
	return holders, socks, err
}

// EachHolder is Holders calling fn for each socket fd instead of keeping
// them all (at 300k fds the list is 7 MB).
func (it *Iters) EachHolder(fn func(Holder)) (socks []Sock, err error) {
	if it.files == nil {
		return nil, errors.New("bpfiter: iterators closed")
	}
	rd, err := it.files.Open()
	if err != nil {
		return nil, fmt.Errorf("bpfiter: open task_file iterator: %w", err)
	}
	defer rd.Close()
	br := bufio.NewReaderSize(rd, 64<<10)
	var h iterHoldRec
	hbuf := unsafe.Slice((*byte)(unsafe.Pointer(&h)), unsafe.Sizeof(h))
	var rec iterSkRec
	rbuf := unsafe.Slice((*byte)(unsafe.Pointer(&rec)), unsafe.Sizeof(rec))
	for {
		if _, err := io.ReadFull(br, hbuf); err != nil {
			if err == io.EOF {
				return socks, nil
			}
			return socks, fmt.Errorf("bpfiter: read task_file iterator: %w", err)
		}
		fn(Holder{PID: int32(h.Pid), FD: int32(h.Fd), Inode: h.Ino, Cookie: h.Cookie})
		if h.HasSk != 0 {
			if _, err := io.ReadFull(br, rbuf); err != nil {
				return socks, fmt.Errorf("bpfiter: read task_file iterator: %w", err)
			}
			socks = append(socks, sockOf(&rec))
		}
	}
}
