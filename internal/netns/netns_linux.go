//go:build linux

package netns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

const defaultProcRoot = "/proc"

// netnsDirs are where `ip netns` binds named namespaces, preferred first.
var netnsDirs = []string{"/run/netns", "/var/run/netns"}

// maxTaskStats bounds how many /proc/PID/task/TID/ns/net files one List
// call looks at, so a process with a huge number of threads cannot make
// it slow. Only processes with more than one thread cost anything.
const maxTaskStats = 1 << 16

// Path ranks: a lower rank is a more stable path for NS.Path.
const (
	rankNamed = iota // /run/netns/NAME
	rankMount        // another nsfs bind mount
	rankPID          // /proc/PID/ns/net
	rankTask         // /proc/PID/task/TID/ns/net
)

// List returns every network namespace it can find, host first, then by
// inode, each once. procRoot is where procfs is mounted ("" means /proc).
// It looks at /proc/*/ns/net, at the threads of multi-threaded processes
// (/proc/*/task/*/ns/net, where a thread's namespace differs from its
// leader's), at the `ip netns` names in /run/netns and /var/run/netns, and
// at the nsfs bind mounts in /proc/self/mountinfo.
//
// Processes that exit during the walk are skipped silently. Files that
// cannot be read are reported in the returned errors, one per file;
// permission failures wrap ErrPermission. The errors never stop the walk.
//
// List does not enter any namespace and needs no privileges, but without
// them it sees only the caller's own processes.
func List(procRoot string) ([]NS, []error) {
	return ListContext(context.Background(), procRoot)
}

// ListContext is List that stops walking the processes once ctx is done
// (it checks every few hundred) and then returns nil and ctx.Err() as the
// last error: on a host with tens of thousands of processes and threads
// the walk takes long enough to be worth interrupting.
func ListContext(ctx context.Context, procRoot string) ([]NS, []error) {
	if procRoot == "" {
		procRoot = defaultProcRoot
	}
	w := &walker{
		ctx:        ctx,
		procRoot:   procRoot,
		byKey:      make(map[key]*entry),
		taskBudget: maxTaskStats,
	}
	w.host()
	w.mounts()
	w.named()
	w.procs()
	if err := ctx.Err(); err != nil {
		return nil, append(w.errs, err)
	}

	out := make([]NS, 0, len(w.byKey))
	for k, e := range w.byKey {
		ns := e.ns
		ns.Host = w.hostOK && k == w.hostKey
		slices.Sort(ns.Names)
		ns.Names = slices.Compact(ns.Names)
		slices.Sort(ns.PIDs)
		if len(ns.PIDs) > MaxPIDs {
			ns.PIDs = slices.Clip(ns.PIDs[:MaxPIDs])
		}
		out = append(out, ns)
	}
	sortNS(out)
	return out, w.errs
}

type entry struct {
	ns   NS
	rank int
}

type walker struct {
	ctx        context.Context
	procRoot   string
	byKey      map[key]*entry
	errs       []error
	hostKey    key
	hostOK     bool
	taskBudget int
	taskNoted  bool
}

// add records that path leads to namespace k.
func (w *walker) add(k key, path string, rank int) *entry {
	e := w.byKey[k]
	if e == nil {
		e = &entry{ns: NS{Inode: k.ino, Dev: k.dev, Path: path}, rank: rank}
		w.byKey[k] = e
	} else if rank < e.rank {
		e.ns.Path, e.rank = path, rank
	}
	return e
}

func (w *walker) fail(op string, err error) {
	w.errs = append(w.errs, wrapErr("netns: "+op, err))
}

// host records the initial namespace.
func (w *walker) host() {
	k, path, err := findHost(w.procRoot)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			w.fail("find host namespace", err)
		}
		return
	}
	w.hostKey, w.hostOK = k, true
	w.add(k, path, rankPID)
}

// findHost finds the initial namespace through PID 1 or, when that cannot
// be read (a non-dumpable init, or no CAP_SYS_PTRACE), through kthreadd:
// kernel threads always live in the initial namespace (docs/kernel.md
// N6). The error is PID 1's.
func findHost(procRoot string) (key, string, error) {
	path := filepath.Join(procRoot, "1", "ns", "net")
	k, err := statNS(path)
	if err == nil {
		return k, path, nil
	}
	stat, serr := os.ReadFile(filepath.Join(procRoot, "2", "stat"))
	if serr == nil && isKernelThread(stat) {
		kpath := filepath.Join(procRoot, "2", "ns", "net")
		if kk, kerr := statNS(kpath); kerr == nil {
			return kk, kpath, nil
		}
	}
	return key{}, "", err
}

// Initial returns the initial network namespace (the host's): the one of
// PID 1 or, when /proc/1/ns/net cannot be read (a non-dumpable init, no
// CAP_SYS_PTRACE), the one of kthreadd (PID 2), since kernel threads always
// live in the initial namespace. procRoot "" means /proc. The error is PID
// 1's when neither can be read (an unprivileged caller): then which
// namespace is the host's is unknown.
func Initial(procRoot string) (NS, error) {
	if procRoot == "" {
		procRoot = defaultProcRoot
	}
	k, path, err := findHost(procRoot)
	if err != nil {
		return NS{}, wrapErr("netns: find the initial namespace", err)
	}
	return NS{Inode: k.ino, Dev: k.dev, Path: path, Host: true}, nil
}

// mounts adds the nsfs bind mounts of the caller's mount namespace.
func (w *walker) mounts() {
	path := filepath.Join(w.procRoot, "self", "mountinfo")
	f, err := os.Open(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			w.fail("read mounts", err)
		}
		return
	}
	defer f.Close()
	mounts, err := parseMountinfo(f)
	if err != nil {
		w.fail("read "+path, err)
	}
	for _, m := range mounts {
		k, err := statNS(m.MountPoint)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				w.fail("read mount", err)
			}
			continue
		}
		if k.ino != m.Inode {
			continue // shadowed by a later mount on the same point
		}
		rank := rankMount
		if slices.Contains(netnsDirs, filepath.Dir(m.MountPoint)) {
			rank = rankNamed
		}
		e := w.add(k, m.MountPoint, rank)
		if rank == rankNamed {
			e.ns.Names = append(e.ns.Names, filepath.Base(m.MountPoint))
		}
	}
}

// named adds the `ip netns` names, including those mountinfo did not show
// (for example when procRoot is another machine's or container's /proc).
func (w *walker) named() {
	for _, dir := range nameDirs() {
		ents, err := os.ReadDir(dir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				w.fail("list names", err)
			}
			continue
		}
		for _, de := range ents {
			path := filepath.Join(dir, de.Name())
			k, err := statNS(path)
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errNotNSFS) {
					w.fail("read name", err)
				}
				continue // stale entry left by a failed `ip netns add`
			}
			e := w.add(k, path, rankNamed)
			e.ns.Names = append(e.ns.Names, de.Name())
		}
	}
}

// procs adds the namespaces of every process and of threads that have
// moved to another namespace than their leader.
func (w *walker) procs() {
	d, err := os.Open(w.procRoot)
	if err != nil {
		w.fail("list processes", err)
		return
	}
	defer d.Close()
	for w.ctx.Err() == nil {
		ents, err := d.ReadDir(256)
		for _, de := range ents {
			pid, err := strconv.Atoi(de.Name())
			if err != nil || pid <= 0 {
				continue
			}
			w.proc(pid, de.Name())
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				w.fail("list processes", err)
			}
			return
		}
	}
}

func (w *walker) proc(pid int, name string) {
	path := filepath.Join(w.procRoot, name, "ns", "net")
	k, err := statNS(path)
	if err != nil {
		if !vanished(err) && pid != 1 { // host() reported PID 1
			w.fail("read process", err)
		}
		return
	}
	e := w.add(k, path, rankPID)
	e.ns.PIDs = append(e.ns.PIDs, pid)
	e.ns.NumPIDs++
	w.tasks(pid, name, k)
}

func (w *walker) tasks(pid int, name string, leader key) {
	if w.taskBudget <= 0 {
		return
	}
	dir := filepath.Join(w.procRoot, name, "task")
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) <= 1 {
		return // single-threaded, or exited
	}
	for _, de := range ents {
		if de.Name() == name {
			continue
		}
		if w.taskBudget <= 0 {
			if !w.taskNoted {
				w.taskNoted = true
				w.errs = append(w.errs, fmt.Errorf("netns: thread scan stopped after %d threads (at pid %d); thread-only namespaces may be missing", maxTaskStats, pid))
			}
			return
		}
		w.taskBudget--
		path := filepath.Join(dir, de.Name(), "ns", "net")
		k, err := statNS(path)
		if err != nil {
			if !vanished(err) {
				w.fail("read thread", err)
			}
			continue
		}
		if k != leader {
			w.add(k, path, rankTask)
		}
	}
}

// vanished reports whether err means the process or thread exited.
func vanished(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH)
}

// errNotNSFS is returned by statNS for a file that is not a namespace.
var errNotNSFS = errors.New("not a namespace file (nsfs)")

// statNS returns the identity of the namespace file at path. Files that
// are not on nsfs (such as a stale /run/netns entry whose mount is gone)
// yield an error wrapping errNotNSFS.
//
// Every namespace file lives on the one nsfs superblock, so all share one
// device number: once a file has been found on nsfs, a later one with the
// same device needs no statfs(2). Listing 500 `ip netns` names then costs
// 500 system calls, not 1000.
func statNS(path string) (key, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return key{}, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	dev := uint64(st.Dev) //nolint:unconvert // Dev is uint32 on some platforms
	if d := nsfsDev.Load(); d != 0 && d == dev {
		return key{dev: dev, ino: st.Ino}, nil
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(path, &sfs); err != nil {
		return key{}, &fs.PathError{Op: "statfs", Path: path, Err: err}
	}
	if uint64(sfs.Type) != unix.NSFS_MAGIC {
		return key{}, &fs.PathError{Op: "stat", Path: path, Err: errNotNSFS}
	}
	nsfsDev.Store(dev)
	return key{dev: dev, ino: st.Ino}, nil
}

// nsfsDev is the device number of nsfs, once a namespace file has been
// seen; 0 before.
var nsfsDev atomic.Uint64

// nameDirs returns the directories of netnsDirs that exist, each real
// directory once (/var/run is usually a link to /run), in order.
func nameDirs() []string {
	var out, seen []string
	for _, dir := range netnsDirs {
		real, err := filepath.EvalSymlinks(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			out = append(out, dir) // reading it reports the error
			continue
		}
		if slices.Contains(seen, real) {
			continue
		}
		seen = append(seen, real)
		out = append(out, dir)
	}
	return out
}

// fstatNS is statNS for an open file descriptor.
func fstatNS(fd int, path string) (key, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return key{}, &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return key{}, &fs.PathError{Op: "fstatfs", Path: path, Err: err}
	}
	if uint64(sfs.Type) != unix.NSFS_MAGIC {
		return key{}, &fs.PathError{Op: "fstat", Path: path, Err: errNotNSFS}
	}
	return key{dev: uint64(st.Dev), ino: st.Ino}, nil //nolint:unconvert // Dev is uint32 on some platforms
}

// wrapErr adds context and, for EACCES and EPERM, ErrPermission.
func wrapErr(op string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%s: %w", op, permError{err})
	}
	return fmt.Errorf("%s: %w", op, err)
}

// permError is a permission failure that also matches ErrPermission,
// with the cause's text alone (not "permission denied: permission
// denied").
type permError struct{ err error }

func (e permError) Error() string   { return e.err.Error() }
func (e permError) Unwrap() []error { return []error{ErrPermission, e.err} }

// Resolve finds the namespace a user named. spec is one of:
//
//   - an `ip netns` name, looked up in /run/netns and /var/run/netns;
//   - a path to a namespace file (anything containing a '/'), such as
//     /proc/1234/ns/net or /run/docker/netns/1a2b3c4d5e6f;
//   - a PID, whose /proc/PID/ns/net under procRoot ("" means /proc) is
//     used; when no such process exists, a namespace named by the digits
//     is tried.
//
// The returned NS has Inode, Dev, Path, Names and Host set; Resolve does
// not scan processes, so PIDs is empty. Errors quote spec and say what
// would be accepted; permission failures wrap ErrPermission.
func Resolve(spec, procRoot string) (NS, error) {
	ns, err := resolve(spec, procRoot)
	if err != nil {
		return NS{}, &ResolveError{Spec: spec, Err: err}
	}
	return ns, nil
}

func resolve(spec, procRoot string) (NS, error) {
	if procRoot == "" {
		procRoot = defaultProcRoot
	}
	const want = "want an ip netns name, a path to a namespace file, or a PID"
	switch {
	case spec == "":
		return NS{}, fmt.Errorf("empty (%s)", want)
	case strings.ContainsRune(spec, '/'):
		return resolvePath(spec, procRoot)
	case isDigits(spec):
		path := filepath.Join(procRoot, spec, "ns", "net")
		ns, err := resolvePath(path, procRoot)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			return ns, err
		}
		if ns, nerr := resolveName(spec, procRoot); nerr == nil {
			return ns, nil
		}
		return NS{}, fmt.Errorf("no process %s and no ip netns name %q (%s): %w", spec, spec, want, fs.ErrNotExist)
	default:
		return resolveName(spec, procRoot)
	}
}

func resolveName(name, procRoot string) (NS, error) {
	if name == "." || name == ".." {
		return NS{}, errors.New("not a name (want an ip netns name, a path to a namespace file, or a PID)")
	}
	for _, dir := range netnsDirs {
		path := filepath.Join(dir, name)
		ns, err := resolvePath(path, procRoot)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			return ns, err
		}
	}
	var have []string
	for _, dir := range netnsDirs {
		ents, _ := os.ReadDir(dir)
		for _, de := range ents {
			have = append(have, de.Name())
		}
	}
	slices.Sort(have)
	have = slices.Compact(have)
	// Names are any file names: quoted (escaped), and at most
	// maxKnownNames of them, for a host may have hundreds.
	const maxKnownNames = 10
	known := "there are none"
	if len(have) > 0 {
		quoted := make([]string, 0, maxKnownNames+1)
		for _, n := range have[:min(len(have), maxKnownNames)] {
			quoted = append(quoted, strconv.Quote(n))
		}
		if len(have) > maxKnownNames {
			quoted = append(quoted, fmt.Sprintf("and %d more (ip netns list)", len(have)-maxKnownNames))
		}
		known = "known: " + strings.Join(quoted, ", ")
	}
	return NS{}, fmt.Errorf("no such ip netns name in %s (%s); give an ip netns name, a path to a namespace file, or a PID: %w",
		strings.Join(netnsDirs, " or "), known, fs.ErrNotExist)
}

// resolvePath opens path, checks that it is a network namespace, and
// describes it.
func resolvePath(path, procRoot string) (NS, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		err = wrapErr("open "+path, err)
		if errors.Is(err, ErrPermission) {
			return NS{}, fmt.Errorf("%w (needs root or the process's owner)", err)
		}
		return NS{}, err
	}
	defer unix.Close(fd)
	k, err := fstatNS(fd, path)
	if err != nil {
		return NS{}, fmt.Errorf("%w (want an ip netns name, a path to a namespace file, or a PID)", err)
	}
	typ, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil {
		return NS{}, fmt.Errorf("namespace type of %s: %w", path, err)
	}
	if typ != unix.CLONE_NEWNET {
		return NS{}, fmt.Errorf("%s is a namespace of another type, not a network namespace (use a .../ns/net path)", path)
	}
	ns := NS{Inode: k.ino, Dev: k.dev, Path: path}
	for _, dir := range nameDirs() {
		ents, _ := os.ReadDir(dir)
		for _, de := range ents {
			if nk, err := statNS(filepath.Join(dir, de.Name())); err == nil && nk == k {
				ns.Names = append(ns.Names, de.Name())
			}
		}
	}
	slices.Sort(ns.Names)
	ns.Names = slices.Compact(ns.Names)
	if hk, _, err := findHost(procRoot); err == nil && hk == k {
		ns.Host = true
	}
	return ns, nil
}

func isDigits(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// threadSelfNS is the calling thread's namespace file. /proc/thread-self
// exists since Linux 3.17; older kernels need the explicit task path.
func threadSelfNS() string {
	const p = "/proc/thread-self/ns/net"
	if _, err := os.Lstat("/proc/thread-self"); err == nil {
		return p
	}
	return fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
}

// Do runs fn inside the network namespace ns and returns its error.
//
// If ns is the namespace the caller's thread is already in, fn runs
// directly. Otherwise fn runs in a new goroutine locked to its OS thread:
// Do opens ns.Path, checks that it still leads to ns (a /proc path may now
// belong to another process), saves the thread's namespace, enters ns with
// setns(2), runs fn, and switches back. The caller's own thread is never
// touched. Only the code fn runs on that goroutine is inside ns: goroutines
// it starts run in the process's own namespace. Sockets created by fn stay
// in ns and may be used from any goroutine afterwards.
//
// Entering needs CAP_SYS_ADMIN in the caller's and the target's user
// namespaces; without it the error wraps ErrPermission. A panic in fn is
// re-raised in the caller after the thread has been restored.
//
// Do is safe for concurrent use.
func Do(ns NS, fn func() error) error {
	target, tk, err := openNS(ns)
	if err != nil {
		return err
	}
	defer unix.Close(target)
	// An unlocked goroutine only ever runs on threads in the process's
	// namespace (threads moved elsewhere are locked to their goroutine),
	// and a locked one stays on its thread, so this is the namespace the
	// caller is in now.
	if cur, err := statNS(threadSelfNS()); err == nil && cur == tk {
		return fn()
	}

	type result struct {
		err      error
		panicked bool
		value    any
	}
	done := make(chan result, 1)
	go func() {
		var res result
		restored := false
		defer func() {
			// If switching back failed, the thread is poisoned: it sits in
			// the wrong namespace, and any goroutine the scheduler put on it
			// next would silently work there. Exiting the goroutine while
			// still locked makes the Go runtime terminate the thread instead
			// of reusing it (since Go 1.10).
			if restored {
				runtime.UnlockOSThread()
			}
			done <- res
		}()
		runtime.LockOSThread()

		orig, err := unix.Open(threadSelfNS(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			res.err, restored = wrapErr("netns: save current namespace", err), true
			return
		}
		defer unix.Close(orig)
		if err := setns(target, ns); err != nil {
			// A failed setns leaves the thread where it was.
			res.err, restored = err, true
			return
		}
		func() {
			defer func() {
				if v := recover(); v != nil {
					res.panicked, res.value = true, v
				}
			}()
			res.err = fn()
		}()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			res.err = errors.Join(res.err, fmt.Errorf("netns: leave %s: setns back: %w (terminating OS thread)", ns.Path, err))
			return
		}
		restored = true
	}()
	res := <-done
	if res.panicked {
		panic(res.value)
	}
	return res.err
}

// openNS opens ns.Path and checks that it still leads to ns (a /proc path
// may now belong to another process). The caller closes the descriptor.
func openNS(ns NS) (int, key, error) {
	if ns.Path == "" {
		return -1, key{}, fmt.Errorf("netns: enter net:[%d]: no path to open", ns.Inode)
	}
	fd, err := unix.Open(ns.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, key{}, wrapErr(fmt.Sprintf("netns: enter %s: open", ns.Path), err)
	}
	k, err := fstatNS(fd, ns.Path)
	if err != nil {
		unix.Close(fd)
		return -1, key{}, fmt.Errorf("netns: enter %s: %w", ns.Path, err)
	}
	if ns.Inode != 0 && (k.ino != ns.Inode || (ns.Dev != 0 && k.dev != ns.Dev)) {
		unix.Close(fd)
		return -1, key{}, fmt.Errorf("netns: enter %s: it now leads to net:[%d], not net:[%d] (the process may have exited)", ns.Path, k.ino, ns.Inode)
	}
	return fd, k, nil
}

// setns moves the calling thread into the namespace open at fd.
func setns(fd int, ns NS) error {
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		err = wrapErr(fmt.Sprintf("netns: enter %s: setns", ns.Path), err)
		if errors.Is(err, ErrPermission) {
			err = fmt.Errorf("%w (needs CAP_SYS_ADMIN)", err)
		}
		return err
	}
	return nil
}

// DoEach runs fn(worker, i) inside the network namespace list[i], for
// every i, on up to workers OS threads at once (at least one), and returns
// the error of each, by index. worker, from 0 to workers-1, names the
// thread that runs the call: calls with the same worker never overlap, so
// fn may keep per-worker state without locking.
//
// Each worker is a goroutine locked to its OS thread that saves the
// thread's namespace, then, for each index it takes, opens list[i].Path,
// checks that it still leads to list[i] (as Do does), enters it with
// setns(2) and calls fn; when no index is left it switches back. Moving a
// thread from one namespace to the next directly, instead of creating a
// goroutine and switching back and forth for each as Do does, matters
// with hundreds of namespaces. The caller's own thread is never touched.
//
// Once ctx is done, the indexes not yet started get ctx.Err() and fn is
// no longer called; calls under way finish (fn should watch ctx itself).
// If a worker cannot switch back, its thread is terminated rather than
// reused (see Do). A panic in fn is re-raised in the caller after every
// worker has stopped.
func DoEach(ctx context.Context, list []NS, workers int, fn func(worker, i int) error) []error {
	errs := make([]error, len(list))
	if len(list) == 0 {
		return errs
	}
	workers = max(1, min(workers, len(list)))
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		panicked atomic.Pointer[any]
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			orig, err := unix.Open(threadSelfNS(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				runtime.UnlockOSThread()
				err = wrapErr("netns: save current namespace", err)
				for i := int(next.Add(1) - 1); i < len(list); i = int(next.Add(1) - 1) {
					errs[i] = err
				}
				return
			}
			defer unix.Close(orig)
			moved := false
			for i := int(next.Add(1) - 1); i < len(list); i = int(next.Add(1) - 1) {
				if err := ctx.Err(); err != nil {
					errs[i] = err
					continue
				}
				if panicked.Load() != nil {
					errs[i] = errors.New("netns: not entered after a panic")
					continue
				}
				errs[i] = doIn(list[i], &moved, func() error { return fn(w, i) }, &panicked)
			}
			if moved {
				if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
					return // still locked: the runtime ends the thread
				}
			}
			runtime.UnlockOSThread()
		}()
	}
	wg.Wait()
	if p := panicked.Load(); p != nil {
		panic(*p)
	}
	return errs
}

// doIn enters ns on the calling (locked) thread and runs fn there. moved
// records that the thread has left its namespace; a panic in fn is stored
// in panicked.
func doIn(ns NS, moved *bool, fn func() error, panicked *atomic.Pointer[any]) (err error) {
	fd, _, err := openNS(ns)
	if err != nil {
		return err
	}
	err = setns(fd, ns)
	unix.Close(fd)
	if err != nil {
		return err
	}
	*moved = true
	defer func() {
		if v := recover(); v != nil {
			panicked.CompareAndSwap(nil, &v)
			err = fmt.Errorf("netns: in %s: panic: %v", ns.Path, v)
		}
	}()
	return fn()
}
