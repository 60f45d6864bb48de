//go:build linux

package netns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// maxSocketFDs bounds how many socket fds of one process Process asks the
// kernel about, so that a process with a huge number of sockets cannot make
// it slow; the namespaces of its threads are always found.
const maxSocketFDs = 4096

// Process returns the network namespaces a process uses, each once, host
// first: the namespace of the process and of each of its threads, and,
// where the caller may duplicate the process's fds (pidfd_getfd(2): root,
// or ptrace rights over it), the namespace of each of its sockets
// (ioctl SIOCGSKNS, which needs CAP_NET_ADMIN over the namespace). A socket
// keeps the namespace it was created in, whatever namespace the process
// has moved to since, and may be passed to a process in another one
// (docs/kernel.md N5).
//
// A namespace known only through a socket may have no path of its own:
// Process then keeps it open and gives it the Path /proc/self/fd/N. Call
// release once the namespaces have been used; it closes those files.
// procRoot ("" means /proc) is where /proc/PID is read; the pidfd calls
// always concern the live process pid.
func Process(procRoot string, pid int) (list []NS, release func(), err error) {
	if procRoot == "" {
		procRoot = defaultProcRoot
	}
	release = func() {}
	name := strconv.Itoa(pid)
	path := filepath.Join(procRoot, name, "ns", "net")
	k, err := statNS(path)
	if err != nil {
		return nil, release, wrapErr(fmt.Sprintf("netns: namespaces of process %d", pid), err)
	}
	w := &walker{procRoot: procRoot, byKey: make(map[key]*entry), taskBudget: maxTaskStats}
	e := w.add(k, path, rankPID)
	e.ns.PIDs, e.ns.NumPIDs = []int{pid}, 1
	w.tasks(pid, name, k)

	var held []int
	release = func() {
		for _, fd := range held {
			unix.Close(fd)
		}
	}
	for _, nsfd := range socketNetNS(procRoot, pid) {
		sk, err := fstatNS(nsfd, "socket netns")
		if err != nil || w.byKey[sk] != nil {
			unix.Close(nsfd)
			continue
		}
		held = append(held, nsfd)
		w.add(sk, fmt.Sprintf("/proc/self/fd/%d", nsfd), rankTask+1)
	}

	// Names, from /run/netns, and the host.
	for _, dir := range nameDirs() {
		ents, _ := os.ReadDir(dir)
		for _, de := range ents {
			p := filepath.Join(dir, de.Name())
			nk, err := statNS(p)
			if err != nil {
				continue
			}
			if e := w.byKey[nk]; e != nil {
				e.ns.Names = append(e.ns.Names, de.Name())
				if rankNamed < e.rank {
					e.ns.Path, e.rank = p, rankNamed
				}
			}
		}
	}
	hk, _, herr := findHost(procRoot)
	for k, e := range w.byKey {
		ns := e.ns
		ns.Host = herr == nil && k == hk
		slices.Sort(ns.Names)
		ns.Names = slices.Compact(ns.Names)
		list = append(list, ns)
	}
	sortNS(list)
	return list, release, nil
}

// socketNetNS returns an open file of the namespace of each socket fd of
// process pid (possibly the same namespace several times), or nothing when
// the caller may not duplicate its fds.
func socketNetNS(procRoot string, pid int) []int {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(pidfd)
	dir := filepath.Join(procRoot, strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []int
	seen := map[key]bool{}
	checked := 0
	buf := make([]byte, 64)
	for _, de := range ents {
		if checked >= maxSocketFDs {
			break
		}
		n, err := unix.Readlink(filepath.Join(dir, de.Name()), buf)
		if err != nil || n >= len(buf) || !isSocketLink(buf[:n]) {
			continue
		}
		target, err := strconv.Atoi(de.Name())
		if err != nil {
			continue
		}
		checked++
		sfd, err := unix.PidfdGetfd(pidfd, target, 0)
		if err != nil {
			if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.ESRCH) {
				break // not allowed, not available, or the process is gone
			}
			continue // closed since the listing
		}
		nsfd, err := unix.IoctlRetInt(sfd, unix.SIOCGSKNS)
		unix.Close(sfd)
		if err != nil {
			if errors.Is(err, unix.EPERM) {
				break // no CAP_NET_ADMIN
			}
			continue
		}
		k, err := fstatNS(nsfd, "socket netns")
		if err != nil || seen[k] {
			unix.Close(nsfd)
			continue
		}
		seen[k] = true
		out = append(out, nsfd)
	}
	return out
}

func isSocketLink(b []byte) bool {
	return len(b) > 8 && string(b[:8]) == "socket:["
}
