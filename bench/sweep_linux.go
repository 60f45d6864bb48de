package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// privateEnv marks the bench re-executed in its own mount namespace.
const privateEnv = "SOCKSCOPE_BENCH_PRIVATE_MOUNTS"

// reexecPrivate re-runs the bench under unshare(1) in a new mount
// namespace whose mounts do not propagate to the host, so that the
// namespaces the sweep names (bind mounts on a private /run/netns)
// disappear with it whatever happens, and in a new PID namespace with its
// own /proc, and in a new, empty network namespace, which is then the
// "host" (PID 1's): `sockscope -A` sees the sweep's namespaces and that
// empty one, not the machine's sockets and the namespaces of its other
// processes, which the shell loop does not list either. The kernel's TCP
// hash tables stay shared with the machine, so its sockets still slow
// every dump, of both tools. It returns the child's exit code, or ok false
// when this already is that child.
func reexecPrivate() (code int, ok bool) {
	if os.Getenv(privateEnv) == "1" {
		return 0, false
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: find own executable: %v\n", err)
		return 1, true
	}
	cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc", "--kill-child", "--net", "--", self}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), privateEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// The child gets the same signals from the terminal; give it time to
	// clean up rather than dying first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: run in private namespaces (unshare): %v\n", err)
		return 1, true
	}
	fmt.Fprintf(os.Stderr, "bench: running in private mount, PID and network namespaces: unshare is pid %d; enter with nsenter -t $(pgrep -P %d) --mount --pid --net\n",
		cmd.Process.Pid, cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		if ee, isExit := err.(*exec.ExitError); isExit {
			return ee.ExitCode(), true
		}
		fmt.Fprintf(os.Stderr, "bench: run in private namespaces (unshare): %v\n", err)
		return 1, true
	}
	return 0, true
}

// benchNetNS measures each namespace count in turn.
func benchNetNS(ctx context.Context, cfg config, bin string, rep *report) error {
	if err := privateNetnsDir(); err != nil {
		return err
	}
	if cfg.childEhash != 0 {
		// Read by the kernel when a namespace is made from this one
		// (the bench's private namespace, see reexecPrivate).
		if err := os.WriteFile("/proc/sys/net/ipv4/tcp_child_ehash_entries", []byte(strconv.Itoa(cfg.childEhash)), 0o644); err != nil {
			return fmt.Errorf("-child-ehash: %w", err)
		}
		rep.notes = append(rep.notes, fmt.Sprintf("each namespace has a TCP established hash of its own (net.ipv4.tcp_child_ehash_entries = %d)", cfg.childEhash))
	}
	var cmds []command
	for _, c := range nsCommands {
		c.argv = slices.Clone(c.argv)
		if c.argv[0] == "sockscope" {
			c.argv[0] = bin
		}
		cmds = append(cmds, c)
	}
	for _, n := range cfg.netns {
		if ctx.Err() != nil {
			rep.notes = append(rep.notes, fmt.Sprintf("%d namespaces skipped: %v", n, context.Cause(ctx)))
			continue
		}
		res, err := benchNetNSCount(ctx, cfg, cmds, n)
		if res != nil {
			rep.netns = append(rep.netns, res)
		}
		if err != nil {
			return fmt.Errorf("%d namespaces: %w", n, err)
		}
	}
	return nil
}

func benchNetNSCount(ctx context.Context, cfg config, cmds []command, n int) (res *sizeResult, err error) {
	fmt.Fprintf(os.Stderr, "bench: %d namespaces × %d sockets\n", n, socketsPerNS)
	set, err := makeNamespaces(fmt.Sprintf("sockscope-bench-%d", os.Getpid()), n)
	defer func() {
		if cerr := set.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "bench: namespaces ready in %s\n", set.setup.Round(time.Millisecond))
	res = &sizeResult{netns: n, sockets: n * socketsPerNS, setup: set.setup, byName: map[string]*cmdResult{}}
	for _, c := range cmds {
		r := &cmdResult{cmd: c}
		res.cmds = append(res.cmds, r)
		res.byName[c.name] = r
	}
	for i := 0; i < cfg.warmup; i++ {
		for _, r := range res.cmds {
			m, err := measure(ctx, "", r.cmd.argv)
			if err != nil {
				if ctx.Err() != nil {
					res.notes = append(res.notes, fmt.Sprintf("stopped during the warm-up: %v", context.Cause(ctx)))
					return res, nil
				}
				return res, fmt.Errorf("warm-up of %s: %w", r.cmd.name, err)
			}
			r.rows = m.rows
		}
	}
	for run := 0; run < cfg.runs; run++ {
		for k := range res.cmds {
			r := res.cmds[(k+run)%len(res.cmds)]
			m, err := measure(ctx, "", r.cmd.argv)
			if err != nil {
				if ctx.Err() != nil {
					res.notes = append(res.notes, fmt.Sprintf("stopped after %d of %d runs: %v", run, cfg.runs, context.Cause(ctx)))
					return res, nil
				}
				return res, fmt.Errorf("%s: %w", r.cmd.name, err)
			}
			r.samples = append(r.samples, m)
			r.rows = m.rows
		}
		fmt.Fprintf(os.Stderr, "bench: %d namespaces: run %d/%d done\n", n, run+1, cfg.runs)
	}
	return res, nil
}

// hold builds the first namespace count's namespaces and keeps them until
// ctx ends.
func holdNetNS(ctx context.Context, cfg config) (err error) {
	if err := privateNetnsDir(); err != nil {
		return err
	}
	n := cfg.netns[0]
	set, err := makeNamespaces(fmt.Sprintf("sockscope-bench-%d", os.Getpid()), n)
	defer func() {
		if cerr := set.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err != nil {
		return err
	}
	fmt.Printf("holding %d namespaces (made in %s), each with %d TCP sockets; interrupt to remove them\n",
		n, set.setup.Round(time.Millisecond), socketsPerNS)
	<-ctx.Done()
	return nil
}
