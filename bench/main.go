// Command bench times sockscope beside ss, netstat and lsof on a large,
// real socket table built in a private network namespace.
//
// It needs root (it creates a network namespace and raises fd limits):
//
//	go run ./bench -sizes 1000,10000,100000,200000 -procs 50 -runs 5 -out docs/bench.md
//
// For each size N it creates the namespace sockscope-bench-<pid>, brings
// up lo, and starts -procs holder processes (this binary re-executed in
// holder mode through nsenter --net) that together hold L listeners and C
// established loopback connections, so N = L + 2C TCP sockets. Clients are
// bound to many 127.x.y.z source addresses so that ephemeral ports never
// run out, and every socket is closed with SO_LINGER 0 (no TIME-WAIT left
// behind). When all holders report ready, every command is run once as a
// warm-up and then -runs times, alternating between commands, each inside
// the namespace (nsenter --net=/run/netns/NAME, which, unlike ip netns
// exec, does not remount /sys), with its output going to a pipe that is
// drained and discarded. Wall time (median, min, max), peak RSS (wait4's
// ru_maxrss), the cost per socket and the ratios sockscope/anchor from the
// same run are printed as a markdown table, and written to -out.
//
// The holders are killed by PID and the namespace is deleted after each
// size, and on error, interrupt or when -deadline passes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// command is one timed command line.
type command struct {
	name string   // as printed
	argv []string // argv[0] is resolved by the harness
	// slow marks the anchors whose cost grows superlinearly with the
	// socket table (ss -tanp and netstat -tanp look each socket's inode
	// up in a small hash table; lsof is linear but slow): above -big
	// sockets ss -tanp runs once without a warm-up, the others are skipped.
	slow bool
}

var allCommands = []command{
	{"sockscope ls -tanp", []string{"sockscope", "ls", "-tanp", holdersTimeout, scanLimit}, false},
	{"sockscope ls -tan", []string{"sockscope", "ls", "-tan"}, false},
	{"sockscope", []string{"sockscope", holdersTimeout, scanLimit}, false},
	{"sockscope ls -tan -o json", []string{"sockscope", "ls", "-tan", "-o", "json"}, false},
	{"sockscope -o json", []string{"sockscope", "-o", "json", holdersTimeout, scanLimit}, false},
	{"ss -tan", []string{"ss", "-tan"}, false},
	{"ss -tanp", []string{"ss", "-tanp"}, true},
	{"netstat -tanp", []string{"netstat", "-tanp"}, true},
	{"lsof -nP -iTCP", []string{"lsof", "-nP", "-iTCP"}, true},
	// A watch refresh costs the difference of these two, halved (the
	// first snapshot, with every socket reported added, is in both).
	{watch1, []string{"sockscope", "watch", "-tanp", "--count", "1", "--interval", "10ms", "-o", "ndjson", holdersTimeout, scanLimit}, false},
	{watch3, []string{"sockscope", "watch", "-tanp", "--count", "3", "--interval", "10ms", "-o", "ndjson", holdersTimeout, scanLimit}, false},
}

// Every command that scans holders gets a longer scan limit than the
// default 5 s: at 1M sockets on a loaded machine the scan of 1M fds takes
// longer, and stopping it would time a different job (with holders
// hidden) from the one ss -tanp does.
const (
	holdersTimeout = "--holders-timeout"
	scanLimit      = "2m"
)

// The watch commands, by name.
const (
	watch1 = "sockscope watch -tanp --count 1"
	watch3 = "sockscope watch -tanp --count 3"
)

// target is one goal (issue 3, tightened by issue 11): cmd's median over
// base's ≤ max.
type target struct {
	cmd, base string
	max       float64
	rss       bool // compare peak RSS instead of time
}

var targets = []target{
	{"sockscope ls -tanp", "ss -tanp", 0.10, false},
	{"sockscope ls -tan", "ss -tan", 1.0, false},
	{"sockscope", "ss -tanp", 0.15, false},
	{"sockscope ls -tan -o json", "sockscope ls -tan", 1.2, false},
	{"sockscope -o json", "sockscope", 1.2, false},
	{"sockscope ls -tanp", "ss -tanp", 1.2, true},
	{"sockscope ls -tan", "ss -tanp", 1.2, true},
	{"sockscope", "ss -tanp", 1.2, true},
	{"sockscope ls -tan -o json", "ss -tanp", 1.2, true},
	{"sockscope -o json", "ss -tanp", 1.2, true},
}

type config struct {
	sizes     []int
	netns     []int
	procs     int
	big       int
	listeners int
	runs      int
	warmup    int
	deadline  time.Duration
	out       string
	sockscope string
	only      []string
	hold      bool
	// childEhash, when not 0, gives the sweep's namespaces TCP hash
	// tables of their own with this many buckets
	// (net.ipv4.tcp_child_ehash_entries of the private parent).
	childEhash int
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == holderArg {
		os.Exit(holderMain(os.Args[2:]))
	}
	os.Exit(run())
}

func run() int {
	var (
		cfg   config
		sizes = flag.String("sizes", "10000,100000,300000,1000000", "comma-separated TCP socket counts (listeners + 2 × connections); empty for none")
		netns = flag.String("netns", "", "comma-separated network namespace counts for the namespace sweep (e.g. 10,100,500); empty for none")
		srcs  = flag.String("source", "", "comma-separated sockscope sources (netlink, proc, bpf, auto) that each add a variant of the holder-scan rows (`sockscope ls -tanp` and `sockscope`) run with --source S")
		only  = flag.String("commands", "", "comma-separated subset of the commands to time (default all): "+commandNames())
	)
	flag.IntVar(&cfg.procs, "procs", 50, "holder processes")
	flag.IntVar(&cfg.listeners, "listeners", 0, "listening sockets (default: one per holder process)")
	flag.IntVar(&cfg.big, "big", 200000, "above this many sockets, ss -tanp runs once without a warm-up and netstat -tanp and lsof are skipped (their cost grows superlinearly: minutes per run at 1M)")
	flag.IntVar(&cfg.runs, "runs", 5, "timed runs of each command per size")
	flag.IntVar(&cfg.warmup, "warmup", 1, "untimed runs of each command first")
	flag.DurationVar(&cfg.deadline, "deadline", 30*time.Minute, "stop measuring (and clean up) after this long; sizes not reached are skipped")
	flag.StringVar(&cfg.out, "out", "", "also write the markdown report to this file")
	flag.IntVar(&cfg.childEhash, "child-ehash", 0, "with -netns: give each namespace its own TCP established hash of this many buckets (net.ipv4.tcp_child_ehash_entries in the bench's private parent namespace; the host's setting is not touched); 0 shares the machine's")
	flag.BoolVar(&cfg.hold, "hold", false, "build the workload for the first size (or, with -netns, the first namespace count), print where it is and hold it until interrupted or -deadline (for profiling)")
	flag.StringVar(&cfg.sockscope, "sockscope", "", "sockscope binary to time (default: go build ./cmd/sockscope into a temporary directory)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run ./bench [flags]   (as root)\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	var err error
	if cfg.sizes, err = parseSizes(*sizes, "socket counts", 2, 1_000_000); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 2
	}
	if cfg.netns, err = parseSizes(*netns, "namespace counts", 1, 5000); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 2
	}
	if len(cfg.sizes) == 0 && len(cfg.netns) == 0 {
		fmt.Fprintln(os.Stderr, "bench: nothing to do: give -sizes or -netns")
		return 2
	}
	if *srcs != "" {
		variants, err := sourceCommands(strings.Split(*srcs, ","))
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 2
		}
		allCommands = append(allCommands, variants...)
	}
	if *only != "" {
		cfg.only = strings.Split(*only, ",")
		for _, n := range cfg.only {
			if !slices.ContainsFunc(allCommands, func(c command) bool { return c.name == n }) {
				fmt.Fprintf(os.Stderr, "bench: unknown command %q: use %s\n", n, commandNames())
				return 2
			}
		}
	}
	if cfg.procs < 1 || cfg.procs > 250 || cfg.runs < 1 || cfg.warmup < 0 {
		fmt.Fprintln(os.Stderr, "bench: -procs must be 1..250, -runs ≥ 1, -warmup ≥ 0")
		return 2
	}
	// 0: one per holder process (holdersFor).
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: needs root on Linux (it creates a network namespace)")
		return 1
	}

	if len(cfg.netns) > 0 {
		// The sweep names namespaces on a private /run/netns.
		if code, done := reexecPrivate(); done {
			return code
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.deadline)
	defer cancel()

	if cfg.hold {
		holdFn := hold
		if len(cfg.sizes) == 0 {
			holdFn = holdNetNS
		}
		if err := holdFn(ctx, cfg); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 1
		}
		return 0
	}
	rep, err := bench(ctx, cfg)
	text := rep.markdown(cfg)
	fmt.Print(text)
	if cfg.out != "" {
		if werr := os.WriteFile(cfg.out, []byte(text), 0o644); werr != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", werr)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	return 0
}

// holderScanRows are the commands whose cost is mostly the holder scan,
// which -source repeats with each --source.
var holderScanRows = []string{"sockscope ls -tanp", "sockscope"}

// sourceCommands returns, for each source, the holder-scan rows run with
// --source S, named "sockscope --source S ls -tanp".
func sourceCommands(srcs []string) ([]command, error) {
	var out []command
	for _, src := range srcs {
		src = strings.TrimSpace(src)
		if !slices.Contains([]string{"auto", "netlink", "proc", "bpf"}, src) {
			return nil, fmt.Errorf("bad -source %q: use auto, netlink, proc or bpf", src)
		}
		for _, name := range holderScanRows {
			i := slices.IndexFunc(allCommands, func(c command) bool { return c.name == name })
			base := allCommands[i].argv
			argv := append([]string{base[0], "--source", src}, base[1:]...)
			out = append(out, command{name: "sockscope --source " + src + strings.TrimPrefix(name, "sockscope"), argv: argv})
		}
	}
	return out, nil
}

func commandNames() string {
	var names []string
	for _, c := range allCommands {
		names = append(names, strconv.Quote(c.name))
	}
	return strings.Join(names, ", ")
}

func parseSizes(s, what string, lo, hi int) ([]int, error) {
	var out []int
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < lo || n > hi {
			return nil, fmt.Errorf("bad count %q: give %s from %d to %d", f, what, lo, hi)
		}
		out = append(out, n)
	}
	return out, nil
}

// hold builds the first size's workload and keeps it until ctx ends.
func hold(ctx context.Context, cfg config) (err error) {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	n := cfg.sizes[0]
	procs, listeners, _ := holdersFor(cfg, n)
	w, err := startWorkload(ctx, self, procs, listeners, (n-listeners)/2)
	if w != nil {
		defer func() {
			if cerr := w.close(); cerr != nil && err == nil {
				err = cerr
			}
		}()
	}
	if err != nil {
		return err
	}
	fmt.Printf("holding %d sockets in %s; interrupt to remove them\n", n, w.nsPath)
	<-ctx.Done()
	return nil
}

// bench measures every size in turn.
func bench(ctx context.Context, cfg config) (*report, error) {
	rep := &report{started: time.Now()}
	tmp, err := os.MkdirTemp("", "sockscope-bench-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(tmp)
	bin := cfg.sockscope
	if bin == "" {
		bin = filepath.Join(tmp, "sockscope")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/sockscope")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return rep, fmt.Errorf("build sockscope (run from the repository root, or pass -sockscope): %w", err)
		}
	}
	rep.sockscope = bin
	var cmds []command
	for _, c := range allCommands {
		if len(cfg.only) > 0 && !slices.Contains(cfg.only, c.name) {
			continue
		}
		c.argv = slices.Clone(c.argv)
		if c.argv[0] == "sockscope" {
			c.argv[0] = bin
		} else if p, err := exec.LookPath(c.argv[0]); err == nil {
			c.argv[0] = p
		} else {
			rep.notes = append(rep.notes, fmt.Sprintf("%s: not installed, skipped", c.name))
			continue
		}
		cmds = append(cmds, c)
	}
	self, err := os.Executable()
	if err != nil {
		return rep, fmt.Errorf("find own executable: %w", err)
	}
	for _, n := range cfg.sizes {
		if ctx.Err() != nil {
			rep.notes = append(rep.notes, fmt.Sprintf("size %d skipped: %v", n, context.Cause(ctx)))
			continue
		}
		res, err := benchSize(ctx, cfg, self, cmds, n)
		if res != nil {
			rep.sizes = append(rep.sizes, res)
		}
		if err != nil {
			return rep, fmt.Errorf("size %d: %w", n, err)
		}
	}
	if len(cfg.netns) > 0 {
		if err := benchNetNS(ctx, cfg, bin, rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// benchSize builds the workload for n sockets, times every command, and
// tears the workload down.
func benchSize(ctx context.Context, cfg config, self string, cmds []command, n int) (res *sizeResult, err error) {
	procs, listeners, note := holdersFor(cfg, n)
	conns := (n - listeners) / 2
	fmt.Fprintf(os.Stderr, "bench: %d sockets: %d listeners, %d connections over %d processes\n", n, listeners, conns, procs)
	w, err := startWorkload(ctx, self, procs, listeners, conns)
	if w != nil {
		defer func() {
			if cerr := w.close(); cerr != nil && err == nil {
				err = cerr
			}
		}()
	}
	if err != nil {
		return nil, err
	}
	res = &sizeResult{sockets: listeners + 2*conns, procs: procs, setup: w.setup, byName: map[string]*cmdResult{}}
	if note != "" {
		res.notes = append(res.notes, note)
	}
	fmt.Fprintf(os.Stderr, "bench: workload ready in %s\n", w.setup.Round(time.Millisecond))
	big := n > cfg.big
	for _, c := range cmds {
		if big && c.slow && c.name != "ss -tanp" {
			res.notes = append(res.notes, fmt.Sprintf("`%s` skipped above %d sockets (-big): its cost grows superlinearly or is minutes per run", c.name, cfg.big))
			continue
		}
		if big && c.slow {
			res.notes = append(res.notes, fmt.Sprintf("`%s` ran once, without a warm-up, above %d sockets (-big): its cost grows superlinearly", c.name, cfg.big))
		}
		r := &cmdResult{cmd: c}
		res.cmds = append(res.cmds, r)
		res.byName[c.name] = r
	}
	for i := 0; i < cfg.warmup; i++ {
		for _, r := range res.cmds {
			if big && r.cmd.slow {
				continue
			}
			m, err := measure(ctx, w.nsPath, r.cmd.argv)
			if err != nil && ctx.Err() != nil {
				res.notes = append(res.notes, fmt.Sprintf("stopped during the warm-up: %v", context.Cause(ctx)))
				return res, nil
			}
			if err != nil {
				return res, fmt.Errorf("warm-up of %s: %w", r.cmd.name, err)
			}
			r.rows = m.rows
		}
	}
	for run := 0; run < cfg.runs; run++ {
		// Alternate, starting each round at a different command.
		for k := range res.cmds {
			r := res.cmds[(k+run)%len(res.cmds)]
			if big && r.cmd.slow && run > 0 {
				continue
			}
			m, err := measure(ctx, w.nsPath, r.cmd.argv)
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
		fmt.Fprintf(os.Stderr, "bench: %d sockets: run %d/%d done\n", n, run+1, cfg.runs)
	}
	return res, nil
}

// sample is one timed run.
type sample struct {
	wall   time.Duration
	maxRSS int64 // KiB
	rows   int
}

// measure runs argv inside the namespace at nsPath ("" for the bench's
// own), its stdout drained from a pipe.
func measure(ctx context.Context, nsPath string, argv []string) (sample, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if nsPath != "" {
		full := append([]string{"--net=" + nsPath, "--"}, argv...)
		cmd = exec.CommandContext(ctx, "nsenter", full...)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return sample{}, err
	}
	var stderr strings.Builder
	cmd.Stderr = &limitWriter{w: &stderr, n: 4096}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	lc := &lineCounter{}
	_, cerr := io.Copy(lc, out)
	werr := cmd.Wait()
	wall := time.Since(start)
	if werr != nil {
		return sample{}, fmt.Errorf("%w: %s", werr, strings.TrimSpace(stderr.String()))
	}
	if cerr != nil {
		return sample{}, cerr
	}
	s := sample{wall: wall, rows: lc.n}
	s.maxRSS = peakRSS(cmd.ProcessState)
	return s, nil
}

// lineCounter counts newlines and discards the bytes.
type lineCounter struct{ n int }

func (l *lineCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			l.n++
		}
	}
	return len(p), nil
}

// limitWriter keeps at most n bytes.
type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.n -= k
		if _, err := l.w.Write(p[:k]); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

var errNoSamples = errors.New("no samples")
