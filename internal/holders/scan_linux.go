//go:build linux

package holders

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Buffer sizes of one worker's scratch space.
const (
	direntBuf = 16 << 10
	linkBuf   = 64 // "socket:[4294967295]" is 19 bytes; longer targets are not sockets
	fileBuf   = 64 << 10
)

// Scan reads every process under the proc root and returns the socket
// holders it found. It keeps going past processes it cannot read (counted in
// Denied, Vanished, Failed or TimedOut). When ctx is done it stops and
// returns what it has so far together with an error wrapping ctx.Err().
//
// It needs no privilege; see the package documentation for what an
// unprivileged scan sees.
func Scan(ctx context.Context, opts Options) (*Result, error) {
	root := opts.Root
	if root == "" {
		root = "/proc"
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = 2 * runtime.GOMAXPROCS(0)
	}
	per := opts.PerProcess
	if per <= 0 {
		per = time.Second
	}
	var pids []int
	if opts.SocketFDs != nil {
		pids = slices.Sorted(maps.Keys(opts.SocketFDs))
	} else {
		var err error
		if pids, err = listPIDs(root); err != nil {
			return nil, fmt.Errorf("holders: list %s: %w", root, err)
		}
	}
	workers = max(1, min(workers, len(pids)))

	jobs := make(chan int)
	results := make(chan procResult, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := worker{root: root, per: per, want: opts.WantInode, known: opts.SocketFDs}
			w.reset()
			defer w.timer.Stop()
			for pid := range jobs {
				results <- w.run(ctx, pid)
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, pid := range pids {
			select {
			case jobs <- pid:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()

	res := &Result{}
	var found []procResult
	done := 0
	for r := range results {
		done++
		switch r.kind {
		case kindHolder:
			found = append(found, r)
		case kindDenied:
			res.Denied++
		case kindVanished:
			res.Vanished++
		case kindFailed:
			res.Failed++
			if res.FailErr == nil {
				res.FailErr = r.err
			}
		case kindTimedOut:
			res.TimedOut = append(res.TimedOut, r.pid)
		case kindCancelled:
			done--
		}
	}
	res.build(found, &userCache{path: opts.Passwd})
	slices.Sort(res.TimedOut)
	if done < len(pids) {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("holders: scan of %s stopped after %d of %d processes: %w", root, done, len(pids), err)
		}
	}
	return res, nil
}

// listPIDs returns the numeric entries of root: the thread-group leaders.
func listPIDs(root string) ([]int, error) {
	f, err := os.Open(root)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if pid, ok := parseUint([]byte(n), 1<<31-1); ok && pid > 0 {
			pids = append(pids, int(pid))
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// build fills Procs and Refs from the processes that hold sockets, in
// PID order, naming uids through users.
func (res *Result) build(found []procResult, users *userCache) {
	slices.SortFunc(found, func(a, b procResult) int { return a.pid - b.pid })
	total := 0
	for _, r := range found {
		total += len(r.pairs)
	}
	res.Procs = make([]Proc, len(found))
	res.Refs = make([]Ref, 0, total)
	open := func(p string) (io.ReadCloser, error) { return os.Open(p) }
	if users.path == "" {
		users.path = "/etc/passwd"
	}
	for i, r := range found {
		r.proc.User = users.name(r.proc.UID, open)
		res.Procs[i] = r.proc
		for _, p := range r.pairs {
			res.Refs = append(res.Refs, Ref{Inode: p.inode, Proc: int32(i), FD: p.fd})
		}
	}
	// Procs are in PID order, so (inode, Proc, FD) is (inode, PID, fd).
	slices.SortFunc(res.Refs, func(a, b Ref) int {
		if c := cmp.Compare(a.Inode, b.Inode); c != 0 {
			return c
		}
		if a.Proc != b.Proc {
			return cmp.Compare(a.Proc, b.Proc)
		}
		return cmp.Compare(a.FD, b.FD)
	})
}

type kind uint8

const (
	kindNone      kind = iota // read, no wanted socket
	kindHolder                // read, holds at least one wanted socket
	kindDenied                // fd/ not readable
	kindVanished              // exited during the scan
	kindFailed                // another error
	kindTimedOut              // exceeded the per-process bound
	kindCancelled             // the scan's context ended first
)

// pair is one wanted socket fd of a process.
type pair struct {
	inode uint64
	fd    int32
}

type procResult struct {
	pid   int
	kind  kind
	err   error
	proc  Proc
	pairs []pair // sorted by fd, owned by the result
}

// scratch is one process read's reusable memory. A read that times out
// keeps its scratch; the worker takes a fresh one.
type scratch struct {
	dirent []byte
	link   []byte
	file   []byte
	pairs  []pair
	// progress counts completed system calls, so the worker can tell a
	// read that is slow because the process has many fds from one that is
	// stuck.
	progress atomic.Uint64
}

func newScratch() *scratch {
	return &scratch{
		dirent: make([]byte, direntBuf),
		link:   make([]byte, linkBuf),
		file:   make([]byte, fileBuf),
	}
}

// worker reads processes one at a time, each in a goroutine of its own so
// that a hung read can be abandoned.
type worker struct {
	root  string
	per   time.Duration
	want  func(uint64) bool
	known map[int][]SocketFD // Options.SocketFDs
	sc    *scratch
	done  chan procResult
	timer *time.Timer
}

// reset gives the worker fresh scratch space and result channel, leaving the
// old ones to an abandoned read.
func (w *worker) reset() {
	w.sc = newScratch()
	w.done = make(chan procResult, 1)
	if w.timer == nil {
		w.timer = time.NewTimer(time.Hour)
		w.timer.Stop()
	}
}

// run reads one process in a goroutine and waits for it while it makes
// progress: the read is abandoned once w.per passes without a system call
// completing, or when ctx is done.
func (w *worker) run(ctx context.Context, pid int) procResult {
	if ctx.Err() != nil {
		return procResult{pid: pid, kind: kindCancelled}
	}
	sc, done := w.sc, w.done
	last := sc.progress.Load()
	var known []SocketFD
	if w.known != nil {
		known = w.known[pid]
	}
	go func() { done <- readProc(w.root, pid, w.want, w.known != nil, known, sc) }()
	w.timer.Reset(w.per)
	for {
		select {
		case r := <-done:
			w.timer.Stop()
			return r
		case <-w.timer.C:
			if p := sc.progress.Load(); p != last {
				last = p
				w.timer.Reset(w.per)
				continue
			}
			w.reset()
			return procResult{pid: pid, kind: kindTimedOut}
		case <-ctx.Done():
			w.timer.Stop()
			w.reset()
			return procResult{pid: pid, kind: kindCancelled}
		}
	}
}

// classify maps an error from reading a process to its outcome. A process
// reaped mid-scan gives ENOENT or ESRCH (docs/kernel.md P2).
func classify(pid int, err error) procResult {
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ESRCH):
		return procResult{pid: pid, kind: kindVanished}
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return procResult{pid: pid, kind: kindDenied}
	}
	return procResult{pid: pid, kind: kindFailed, err: err}
}

// classifyOpen is classify for a process whose directory was opened: a
// process that exits while its fds are read can fail with EACCES (the fd
// links of a reaped process refuse readlink) or another error, which must
// not read as "not readable even by root". If the process has exited since
// (its stat file is gone, or it is a zombie), it is counted as vanished.
func classifyOpen(pidfd, pid int, err error, sc *scratch) procResult {
	r := classify(pid, err)
	if r.kind != kindVanished && exited(pidfd, sc.file) {
		return procResult{pid: pid, kind: kindVanished}
	}
	return r
}

// exited reports whether the process whose /proc directory pidfd is has
// exited: it was reaped (its files are gone) or is a zombie (state Z or X
// in stat). buf is scratch space.
func exited(pidfd int, buf []byte) bool {
	b, err := readAt(pidfd, "stat", buf)
	if err != nil {
		return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH)
	}
	// "PID (COMM) STATE ...": COMM may hold ')' itself.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X')
}

// readProc reads one process: its socket fds (or, when given, takes known
// as them) and, if it holds any wanted socket, its metadata.
func readProc(root string, pid int, want func(uint64) bool, given bool, known []SocketFD, sc *scratch) procResult {
	dir := filepath.Join(root, strconv.Itoa(pid))
	pidfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return classify(pid, fmt.Errorf("open %s: %w", dir, err))
	}
	defer unix.Close(pidfd)

	var pairs []pair
	if given {
		sc.pairs = sc.pairs[:0]
		for _, k := range known {
			if want == nil || want(k.Inode) {
				sc.pairs = append(sc.pairs, pair{inode: k.Inode, fd: k.FD})
			}
		}
		slices.SortFunc(sc.pairs, func(a, b pair) int { return cmp.Compare(a.fd, b.fd) })
		pairs = sc.pairs
	} else {
		pairs, err = readFDs(pidfd, want, sc)
		if err != nil {
			return classifyOpen(pidfd, pid, fmt.Errorf("read %s/fd: %w", dir, err), sc)
		}
	}
	if len(pairs) == 0 {
		return procResult{pid: pid, kind: kindNone}
	}

	p := Proc{PID: pid}
	// status decides whether the process is still there; the other files
	// are best effort.
	sc.progress.Add(1)
	status, err := readAt(pidfd, "status", sc.file)
	if err != nil {
		return classifyOpen(pidfd, pid, fmt.Errorf("read %s/status: %w", dir, err), sc)
	}
	ppid, uid, hasUID := statusFields(status)
	p.PPID = ppid
	if hasUID {
		p.UID = uid
	} else {
		var st unix.Stat_t
		if unix.Fstat(pidfd, &st) == nil {
			p.UID = st.Uid
		}
	}
	sc.progress.Add(1)
	if b, err := readAt(pidfd, "comm", sc.file); err == nil {
		p.Comm = trimComm(b)
	}
	sc.progress.Add(1)
	if b, err := readAt(pidfd, "cmdline", sc.file); err == nil {
		p.Cmdline = splitCmdline(b)
	}
	sc.progress.Add(1)
	if b, err := readAt(pidfd, "cgroup", sc.file); err == nil {
		p.Cgroup = cgroupV2Path(b)
	}
	sc.progress.Add(1)
	if n, err := unix.Readlinkat(pidfd, "ns/net", sc.link); err == nil && n < len(sc.link) {
		p.NetNS, _ = parseBracketLink(sc.link[:n], "net:")
	}
	return procResult{pid: pid, kind: kindHolder, proc: p, pairs: slices.Clone(pairs)}
}

// readFDs lists pidfd's fd/ directory and returns the wanted socket fds,
// sorted by fd, in sc.pairs.
func readFDs(pidfd int, want func(uint64) bool, sc *scratch) ([]pair, error) {
	fdfd, err := unix.Openat(pidfd, "fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fdfd)
	sc.pairs = sc.pairs[:0]
	var linkErr error
	for {
		n, err := unix.Getdents(fdfd, sc.dirent)
		sc.progress.Add(1)
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			break
		}
		ok := eachDirent(sc.dirent[:n], func(name []byte) bool {
			fd, ok := parseUint(name, 1<<31-1)
			if !ok { // "." and ".."
				return true
			}
			m, err := readlinkat(fdfd, name, sc.link)
			sc.progress.Add(1)
			if err != nil {
				if errors.Is(err, unix.ENOENT) {
					return true // closed since the listing
				}
				linkErr = err
				return false
			}
			if m >= len(sc.link) {
				return true // truncated: not a socket link
			}
			ino, ok := parseBracketLink(sc.link[:m], "socket:")
			if ok && (want == nil || want(ino)) {
				sc.pairs = append(sc.pairs, pair{inode: ino, fd: int32(fd)})
			}
			return true
		})
		if linkErr != nil {
			return nil, linkErr
		}
		if !ok {
			return nil, fmt.Errorf("getdents: malformed record")
		}
	}
	slices.SortFunc(sc.pairs, func(a, b pair) int { return int(a.fd - b.fd) })
	return sc.pairs, nil
}

// readlinkat reads the link name (a NUL-free file name) in directory dirfd.
//
// unix.Readlinkat copies name to add a NUL: one small allocation per fd.
// Passing the getdents buffer (which already holds the NUL) to a raw
// Syscall6 removes it (5900 -> 700 allocs per scan with 5000 sockets held)
// but measured no faster: the readlinkat system call itself is ~90% of the
// CPU time. So this stays free of unsafe.
func readlinkat(dirfd int, name []byte, buf []byte) (int, error) {
	return unix.Readlinkat(dirfd, string(name), buf)
}

// readAt reads the file name in directory dirfd into buf, up to len(buf)
// bytes (longer files are truncated), and returns the bytes read.
func readAt(dirfd int, name string, buf []byte) ([]byte, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return buf[:n], nil
}
