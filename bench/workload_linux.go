package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// holderArg, as the first argument, runs this binary as a holder process.
const holderArg = "__holder"

// basePort is the first listening port.
const basePort = 20000

// workload is a namespace plus the holder processes that fill it.
type workload struct {
	name    string
	nsPath  string
	holders []*exec.Cmd
	stdins  []io.Closer
	setup   time.Duration
	// nrOpen is fs.nr_open before the bench raised it ("" if untouched).
	nrOpen string
}

// nrOpenPath caps RLIMIT_NOFILE, which each holder raises to its count.
const nrOpenPath = "/proc/sys/fs/nr_open"

// raiseNrOpen raises fs.nr_open to at least need and returns the old
// value, or "" when it was high enough.
func raiseNrOpen(need int) (string, error) {
	b, err := os.ReadFile(nrOpenPath)
	if err != nil {
		return "", fmt.Errorf("read fs.nr_open: %w", err)
	}
	old := strings.TrimSpace(string(b))
	cur, err := strconv.Atoi(old)
	if err != nil {
		return "", fmt.Errorf("fs.nr_open is %q: %w", old, err)
	}
	if cur >= need {
		return "", nil
	}
	// nr_open must be a multiple of 64 (BITS_PER_LONG).
	need = (need + 63) &^ 63
	if err := os.WriteFile(nrOpenPath, []byte(strconv.Itoa(need)), 0o644); err != nil {
		return "", fmt.Errorf("raise fs.nr_open to %d: %w", need, err)
	}
	return old, nil
}

// startWorkload creates the namespace and starts procs holders that
// together hold listeners listening sockets and conns connections.
func startWorkload(ctx context.Context, self string, procs, listeners, conns int) (*workload, error) {
	start := time.Now()
	w := &workload{name: fmt.Sprintf("sockscope-bench-%d", os.Getpid())}
	w.nsPath = "/run/netns/" + w.name
	if err := runCmd(ctx, "ip", "netns", "add", w.name); err != nil {
		return nil, fmt.Errorf("create netns: %w", err)
	}
	if err := runCmd(ctx, "ip", "-n", w.name, "link", "set", "lo", "up"); err != nil {
		return w, fmt.Errorf("bring lo up: %w", err)
	}
	// Holder i gets listeners i, i+P, …; connections are spread over the
	// holders that have a listener.
	withL := min(procs, listeners)
	old, err := raiseNrOpen(listeners/procs + 1 + 2*(conns/withL+1) + 64)
	if err != nil {
		return w, err
	}
	w.nrOpen = old
	type ready struct {
		i   int
		n   int
		err error
	}
	done := make(chan ready, procs)
	started := 0
	for i := 0; i < withL; i++ {
		var ports []string
		for j := i; j < listeners; j += procs {
			ports = append(ports, strconv.Itoa(basePort+j))
		}
		c := conns / withL
		if i < conns%withL {
			c++
		}
		cmd := exec.Command("nsenter", "--net="+w.nsPath, "--", self, holderArg,
			"-index", strconv.Itoa(i), "-ports", strings.Join(ports, ","), "-conns", strconv.Itoa(c))
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		in, err := cmd.StdinPipe()
		if err != nil {
			return w, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return w, err
		}
		var stderr strings.Builder
		cmd.Stderr = &limitWriter{w: &stderr, n: 2048}
		if err := cmd.Start(); err != nil {
			return w, fmt.Errorf("start holder %d: %w", i, err)
		}
		w.holders = append(w.holders, cmd)
		w.stdins = append(w.stdins, in)
		started++
		go func(i int) {
			line, err := bufio.NewReader(out).ReadString('\n')
			n, perr := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "ready "))
			switch {
			case err != nil:
				// The holder died: wait so that its stderr is complete.
				_ = cmd.Wait()
				err = fmt.Errorf("holder %d: %w: %s", i, err, strings.TrimSpace(stderr.String()))
			case perr != nil:
				err = fmt.Errorf("holder %d said %q", i, line)
			}
			done <- ready{i, n, err}
		}(i)
	}
	total := 0
	for k := 0; k < started; k++ {
		select {
		case r := <-done:
			if r.err != nil {
				return w, r.err
			}
			total += r.n
		case <-ctx.Done():
			return w, fmt.Errorf("waiting for holders: %w", context.Cause(ctx))
		}
	}
	if want := listeners + 2*conns; total != want {
		return w, fmt.Errorf("holders made %d sockets, want %d", total, want)
	}
	w.setup = time.Since(start)
	return w, nil
}

// close kills the holders by PID and deletes the namespace.
func (w *workload) close() error {
	for i, c := range w.holders {
		_ = w.stdins[i].Close()
		if c.Process != nil {
			_ = c.Process.Kill()
		}
	}
	for _, c := range w.holders {
		_ = c.Wait()
	}
	// A fresh context: this must run even when the deadline has passed.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	if err := runCmd(ctx, "ip", "netns", "del", w.name); err != nil {
		errs = append(errs, fmt.Errorf("delete netns %s: %w", w.name, err))
	}
	if w.nrOpen != "" {
		if err := os.WriteFile(nrOpenPath, []byte(w.nrOpen), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("restore fs.nr_open to %s: %w", w.nrOpen, err))
		}
	}
	return errors.Join(errs...)
}

func runCmd(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// holderMain is the holder process: it runs inside the namespace, listens
// on its ports, makes its connections (both ends), prints "ready N" and
// holds everything until stdin closes or it is killed.
func holderMain(args []string) int {
	fs := flag.NewFlagSet("holder", flag.ContinueOnError)
	index := fs.Int("index", 0, "holder index (selects source addresses)")
	portList := fs.String("ports", "", "listening ports")
	conns := fs.Int("conns", 0, "connections to make")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	n, err := holdSockets(*index, *portList, *conns)
	if err != nil {
		fmt.Fprintf(os.Stderr, "holder %d: %v\n", *index, err)
		return 1
	}
	fmt.Printf("ready %d\n", n)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

func holdSockets(index int, portList string, conns int) (int, error) {
	var ports []int
	for _, f := range strings.Split(portList, ",") {
		p, err := strconv.Atoi(f)
		if err != nil {
			return 0, fmt.Errorf("bad port %q", f)
		}
		ports = append(ports, p)
	}
	need := uint64(len(ports) + 2*conns + 64)
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur < need {
		lim.Cur = need
		lim.Max = max(lim.Max, need)
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			return 0, fmt.Errorf("raise RLIMIT_NOFILE to %d (fs.nr_open?): %w", need, err)
		}
	}
	linger := &unix.Linger{Onoff: 1, Linger: 0}
	lfds := make([]int, len(ports))
	for i, p := range ports {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return 0, fmt.Errorf("socket: %w", err)
		}
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Port: p, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return 0, fmt.Errorf("bind 127.0.0.1:%d: %w", p, err)
		}
		if err := unix.Listen(fd, 4096); err != nil {
			return 0, fmt.Errorf("listen: %w", err)
		}
		lfds[i] = fd
	}
	made := len(ports)
	for k := 0; k < conns; k++ {
		// 1000 connections per source address 127.(1+index).x.y.
		blk := k / 1000
		src := [4]byte{127, byte(1 + index), byte(blk / 250), byte(1 + blk%250)}
		li := k % len(ports)
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return made, fmt.Errorf("socket: %w", err)
		}
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
		_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, linger)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: src}); err != nil {
			return made, fmt.Errorf("bind %v: %w", src, err)
		}
		if err := connect(fd, &unix.SockaddrInet4{Port: ports[li], Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return made, fmt.Errorf("connect from %v to port %d: %w", src, ports[li], err)
		}
		afd, _, err := unix.Accept4(lfds[li], unix.SOCK_CLOEXEC)
		if err != nil {
			return made, fmt.Errorf("accept: %w", err)
		}
		_ = unix.SetsockoptLinger(afd, unix.SOL_SOCKET, unix.SO_LINGER, linger)
		made += 2
	}
	return made, nil
}

// connect is a blocking connect that survives EINTR (the Go runtime's
// preemption signals): the attempt goes on in the kernel, so wait for it.
func connect(fd int, sa unix.Sockaddr) error {
	err := unix.Connect(fd, sa)
	if !errors.Is(err, unix.EINTR) {
		return err
	}
	for try := 0; try < 1000; try++ {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		n, err := unix.Poll(pfd, 1000)
		if errors.Is(err, unix.EINTR) || (err == nil && n == 0) {
			continue
		}
		if err != nil {
			return err
		}
		soErr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return err
		}
		if soErr != 0 {
			return unix.Errno(soErr)
		}
		return nil
	}
	return errors.New("connect did not finish")
}

// peakRSS is the child's peak resident set in KiB (wait4's ru_maxrss), or 0.
func peakRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss
	}
	return 0
}

// fdSlack is what each holder keeps free of its RLIMIT_NOFILE for its own
// files (stdio, the Go runtime's).
const fdSlack = 64

// holdersFor is how many holder processes and listeners hold n sockets.
// Each holder keeps its sockets' fds open, so it needs n/procs of them; a
// holder can raise its soft RLIMIT_NOFILE up to the hard limit it
// inherits (raising the hard limit needs CAP_SYS_RESOURCE, which a
// container's root may lack), so when -procs processes cannot hold n
// sockets within it, more are started and note says so. Listeners
// default to one per holder (connections go only to holders with one).
func holdersFor(cfg config, n int) (procs, listeners int, note string) {
	procs = cfg.procs
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err == nil && lim.Max > 2*fdSlack && lim.Max < 1<<31 {
		per := int(lim.Max) - fdSlack
		if need := (n + per - 1) / per; need > procs {
			note = fmt.Sprintf("%d holder processes instead of %d: the hard RLIMIT_NOFILE is %d, and raising it needs CAP_SYS_RESOURCE", need, procs, lim.Max)
			procs = need
		}
	}
	listeners = cfg.listeners
	if listeners <= 0 {
		listeners = procs
	}
	return procs, min(listeners, n), note
}
