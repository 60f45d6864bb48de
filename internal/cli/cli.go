// Package cli is the sockscope command line: one file per command, all
// built on an injected IOStreams so tests can run them in-process.
package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/internal/buildinfo"
	"github.com/sockscope/sockscope/internal/netns"
	"github.com/sockscope/sockscope/query"
	"github.com/sockscope/sockscope/render"
)

// Exit codes.
const (
	ExitOK      = 0 // success, including partial results with warnings
	ExitError   = 1 // a runtime error (or bind-check: would fail)
	ExitUsage   = 2 // bad flags, arguments or filter
	ExitDepends = 3 // bind-check: the answer depends on a hidden flag
	// ExitInterrupted follows SIGINT before the command ended: 128 +
	// SIGINT, as a shell reports a command killed by Ctrl-C. SIGTERM,
	// SIGHUP and SIGQUIT end a command the same way, with 128 + their
	// number (143, 129, 131): see exitSignal.
	ExitInterrupted = 130
)

// exitSignal is the status of a command that sig ended: 128 + the
// signal's number, as a shell reports a process the signal killed.
func exitSignal(sig syscall.Signal) int { return 128 + int(sig) }

// endSignals end a command: its context is cancelled, what it made is
// removed, and it exits with exitSignal. SIGHUP and SIGQUIT are among
// them, for their defaults (exit at once; a goroutine dump and exit 2)
// would skip the clean-up.
var endSignals = []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// signalCause is the cause of the context a signal cancelled.
type signalCause struct{ sig syscall.Signal }

func (c signalCause) Error() string { return "interrupted by " + c.sig.String() }

// IOStreams are the command's input and outputs.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutTTY reports whether Out is a terminal (aligned, coloured output).
	OutTTY bool
	// Getenv reads the environment (NO_COLOR); nil means os.Getenv.
	Getenv func(string) string
	// LookupEnv reads the environment where an empty variable differs
	// from an unset one (SOCKSCOPE_PAGER=); nil means Getenv, an empty
	// value counting as unset.
	LookupEnv func(string) (string, bool)
	// TermSize returns the size of the terminal Out is, in columns and
	// rows; nil or an error means unknown (every row is printed).
	TermSize func() (width, height int, err error)
}

// System returns the process's own streams.
func System() IOStreams {
	fd := int(os.Stdout.Fd())
	return IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		OutTTY:    term.IsTerminal(fd),
		Getenv:    os.Getenv,
		LookupEnv: os.LookupEnv,
		TermSize:  func() (int, int, error) { return term.GetSize(fd) },
	}
}

// termHeight returns the output terminal's height in rows, 0 if unknown.
func (g *globals) termHeight() int {
	if !g.io.OutTTY || g.io.TermSize == nil {
		return 0
	}
	_, h, err := g.io.TermSize()
	if err != nil || h <= 0 {
		return 0
	}
	return h
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// exitError carries a specific exit status with an optional message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

// globals are the options every command takes.
type globals struct {
	// ctx is the command line's context, cancelled by an interrupt.
	ctx context.Context
	// args are the command line's arguments, without the program name.
	args     []string
	io       IOStreams
	output   string
	noColor  bool
	numeric  bool
	source   string
	netns    []string
	allNetNS bool
	procRoot string
	// holdersTimeout bounds the holder scan (--holders-timeout).
	holdersTimeout time.Duration

	// jq is the --jq expression; "" for none.
	jq string
	// noPager is --no-pager.
	noPager bool
	// rawOut and rawErr are the streams as given, for a pager to write
	// to directly (a terminal must stay a terminal for it).
	rawOut, rawErr io.Writer
	// endOutput, when set, ends what stands between the command and its
	// output (a --jq program, a pager) once the command returns; it is
	// given the command's error and returns the command line's.
	endOutput func(error) error

	// endsOnInterrupt is set by a command whose normal end is an
	// interrupt (serve, an unbounded watch): it then exits 0, not 130.
	endsOnInterrupt bool
}

func (g *globals) style() render.Style {
	color := g.io.OutTTY && !g.noColor
	getenv := g.io.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" {
		color = false
	}
	st := render.Style{TTY: g.io.OutTTY, Color: color, Numeric: g.numeric, NetNS: g.allNetNS || len(g.netns) > 1}
	if !g.numeric {
		st.Services = func(port uint16, proto string) string {
			name, _ := query.ServiceName(port, proto)
			return name
		}
	}
	return st
}

func (g *globals) checkOutput() error {
	switch g.output {
	case "table", "json", "ndjson":
		return nil
	}
	return usagef("unknown output format %q for -o: use table, json or ndjson\n%s", g.output, outputHint)
}

func (g *globals) options() (sockscope.Options, error) {
	o := sockscope.Options{NetNS: g.netns, AllNetNS: g.allNetNS, ProcRoot: g.procRoot, HolderTimeout: g.holdersTimeout}
	if g.holdersTimeout <= 0 {
		return o, usagef("bad --holders-timeout %s: give a positive duration such as 5s or 1m", g.holdersTimeout)
	}
	switch g.source {
	case "auto", "":
		o.Source = sockscope.SourceAuto
	case "netlink":
		o.Source = sockscope.SourceNetlink
	case "proc":
		o.Source = sockscope.SourceProc
	case "bpf":
		o.Source = sockscope.SourceBPF
	default:
		return o, usagef("unknown source %q for --source: use auto, netlink, proc or bpf", g.source)
	}
	if g.allNetNS && len(g.netns) > 0 {
		return o, usagef("--netns and --all-netns exclude each other: use one")
	}
	// A namespace that does not exist is a usage error (exit 2); one that
	// cannot be opened is left to Collect (exit 1).
	for _, spec := range g.netns {
		var re *netns.ResolveError
		if _, err := netns.Resolve(spec, g.procRoot); errors.As(err, &re) && !errors.Is(err, netns.ErrPermission) {
			return o, usagef("bad --netns %q: %v", spec, re.Err)
		}
	}
	return o, nil
}

// collect runs sockscope.Collect and prints the warnings line(s) on stderr.
func (g *globals) collect(ctx context.Context, o sockscope.Options) (*sockscope.Snapshot, error) {
	snap, err := sockscope.Collect(ctx, o)
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// warn prints the snapshot's warnings on stderr, one line each, so that a
// partial answer is never silent. Namespace warnings share one line. A JSON
// document carries them itself (unless --jq reads it); NDJSON, being one
// socket per line, does not.
func (g *globals) warn(snap *sockscope.Snapshot) {
	// An interrupted run's notes on what it could not see are noise:
	// it did not finish, and its status says so.
	// With --jq the document's warnings may well be filtered away: they
	// go to stderr too.
	if (g.output == "json" && g.jq == "") || (g.ctx != nil && g.ctx.Err() != nil) {
		return
	}
	var nsMsgs []string
	for _, w := range snap.Warnings {
		msg := strings.ReplaceAll(w.Msg, "\n", "; ")
		if w.Kind == "netns" {
			nsMsgs = append(nsMsgs, msg)
			continue
		}
		g.note(msg)
	}
	if len(nsMsgs) > 0 {
		g.note(strings.Join(nsMsgs, "; "))
	}
}

// note prints "sockscope: note: msg" on stderr, msg made safe for a
// terminal (terminalSafe) and without a prefix of its own.
func (g *globals) note(msg string) {
	printLines(g.io.ErrOut, "sockscope: note: "+unprefixed(msg))
}

// filterOptions parses the filter words and the global options: the first
// step of every command that lists sockets.
func (g *globals) filterOptions(args []string) (*query.Filter, sockscope.Options, error) {
	flt, err := parseFilter(args)
	if err != nil {
		return nil, sockscope.Options{}, err
	}
	opts, err := g.options()
	return flt, opts, err
}

// parseFilter parses the ss-style filter words.
func parseFilter(args []string) (*query.Filter, error) {
	if len(args) == 0 {
		return nil, nil
	}
	return query.Parse(strings.Join(args, " "))
}

// Main runs the command line and returns the exit status. ctx is cancelled
// on an interrupt: a command that returns after ctx was cancelled exits
// 128 + the signal's number (the cause of ctx, if it is one, else SIGINT:
// 130), whether or not it noticed, so that an interrupted listing never
// reports success. Only serve and an unbounded watch, which run until
// interrupted, end with 0 then.
func Main(ctx context.Context, args []string, streams IOStreams) int {
	return execute(ctx, args, streams, func() syscall.Signal {
		if !errors.Is(ctx.Err(), context.Canceled) {
			return 0
		}
		var sc signalCause
		if errors.As(context.Cause(ctx), &sc) {
			return sc.sig
		}
		return syscall.SIGINT
	})
}

// Run is the command sockscope: it runs the command line with the
// process's arguments and streams, SIGINT, SIGTERM, SIGHUP and SIGQUIT
// cancelling it, and returns the exit status. A signal that arrived
// before the command ended makes the status 128 + its number even when
// the command finished before the signal reached its context (signal
// delivery lags under load).
func Run() int {
	return runSignals(os.Args[1:], System())
}

// runSignals is Run with the arguments and streams given.
func runSignals(args []string, streams IOStreams) int {
	sigc := make(chan os.Signal, 1)
	notify := make([]os.Signal, len(endSignals))
	for i, s := range endSignals {
		notify[i] = s
	}
	signal.Notify(sigc, notify...)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var caught atomic.Int32 // the first signal's number
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case s := <-sigc:
			sig, _ := s.(syscall.Signal)
			caught.Store(int32(sig))
			cancel(signalCause{sig})
		case <-done:
		}
	}()
	return execute(ctx, args, streams, func() syscall.Signal {
		// A signal sent but not yet handled by any thread is pending
		// in the kernel.
		pending := signalPending(endSignals...)
		// Stop returns once signal delivery is idle: every signal the
		// runtime caught is in sigc, taken by the goroutine or still
		// there. (It waits only when sigc is the last channel for the
		// signal, so no other channel may be registered here.)
		signal.Stop(sigc)
		// Later ones are discarded rather than acted on while the
		// status is reported. (Ignore before Stop would drop caught
		// signals not yet delivered.) One arriving between Stop and
		// Ignore gets the default action: the process dies of it,
		// which a shell reports as 128+n, the same status.
		signal.Ignore(notify...)
		close(done)
		wg.Wait()
		if sig := caught.Load(); sig != 0 {
			return syscall.Signal(sig)
		}
		select {
		case s := <-sigc:
			if sig, ok := s.(syscall.Signal); ok {
				return sig
			}
		default:
		}
		return pending
	})
}

// execute runs the command line; interrupted, called once after the
// command returns, names the signal that interrupted it, or 0.
func execute(ctx context.Context, args []string, streams IOStreams, interrupted func() syscall.Signal) int {
	// A failed write is an error whoever wrote (cobra's help and usage
	// text ignore theirs): outErr and errErr keep the first.
	rawOut, rawErr := streams.Out, streams.ErrOut
	outErr := &errWriter{w: streams.Out}
	errErr := &errWriter{w: streams.ErrOut}
	streams.ErrOut = errErr
	// Output stops once ctx is done: renderers write whole lines, and
	// ctxWriter splits large writes at line ends, so NDJSON is never left
	// with a torn line.
	streams.Out = ctxWriter{ctx: ctx, w: outErr}
	g := &globals{ctx: ctx, io: streams, rawOut: rawOut, rawErr: rawErr, args: args}
	root := newRoot(ctx, g)
	root.SetArgs(args)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetIn(streams.In)
	err := root.ExecuteContext(ctx)
	if g.endOutput != nil {
		err = g.endOutput(err)
	}
	if sig := interrupted(); sig != 0 {
		if g.endsOnInterrupt && (err == nil || errors.Is(err, context.Canceled)) {
			return ExitOK
		}
		return exitSignal(sig)
	}
	code := report(err, streams.ErrOut)
	if code != ExitOK {
		return code
	}
	// The command succeeded but some output was lost (--help >
	// /dev/full): that is a failure. A reader that went away (| head)
	// is not.
	if e := outErr.err; e != nil && !errors.Is(e, syscall.EPIPE) {
		printLines(streams.ErrOut, prefixed("write standard output: "+e.Error()))
		return ExitError
	}
	if e := errErr.err; e != nil && !errors.Is(e, syscall.EPIPE) {
		return ExitError // nowhere left to say so
	}
	return code
}

// errWriter passes writes through and keeps the first error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// ctxWriter refuses writes once ctx is done. A large write is split at
// line ends into pieces of about ctxChunk bytes, ctx checked before each,
// so that an interrupt during a long blocked write of many lines stops it
// at a line boundary.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

// ctxChunk is the size of the pieces ctxWriter writes: a quarter of a
// pipe's default 64 KiB buffer.
const ctxChunk = 16 << 10

func (c ctxWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if err := c.ctx.Err(); err != nil {
			return written, err
		}
		n := len(p)
		if n > ctxChunk {
			// Cut after the first newline at or past ctxChunk, or
			// write the rest whole if there is none.
			if i := bytes.IndexByte(p[ctxChunk-1:], '\n'); i >= 0 {
				n = ctxChunk + i
			}
		}
		m, err := c.w.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

func report(err error, w io.Writer) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, syscall.EPIPE) {
		return ExitOK // the reader went away (| head): end quietly
	}
	if errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.Error() != "" {
			printLines(w, prefixed(ee.Error()))
		}
		return ee.code
	}
	var se *query.SyntaxError
	if errors.As(err, &se) {
		printLines(w, "sockscope: bad filter: "+se.Msg+"\n"+se.Caret())
		return ExitUsage
	}
	var ue *usageError
	if errors.As(err, &ue) {
		printLines(w, prefixed(err.Error())+"\nRun 'sockscope --help' for usage.")
		return ExitUsage
	}
	printLines(w, prefixed(err.Error()))
	return ExitError
}

// prefixed puts the program's name before msg once: an error may already
// start with "sockscope: " (as a Go error names its package), and the user
// must not read it twice.
func prefixed(msg string) string {
	return "sockscope: " + unprefixed(msg)
}

// unprefixed is msg without its leading "sockscope: " prefixes.
func unprefixed(msg string) string {
	for strings.HasPrefix(msg, "sockscope: ") {
		msg = msg[len("sockscope: "):]
	}
	return msg
}

// printLines writes msg line by line, each made safe for a terminal:
// error messages quote what the user typed and name what the system
// holds, which may carry escape sequences.
func printLines(w io.Writer, msg string) {
	for _, line := range strings.Split(msg, "\n") {
		fmt.Fprintf(w, "%s\n", terminalSafe(line))
	}
}

// terminalSafe escapes (render.AppendSanitized) each character of a
// message that could act on a terminal: control and format characters
// and invalid UTF-8. Everything else is kept as it is, backslashes
// included, so that the parts a message already quoted (%q,
// render.Sanitize) are not escaped a second time.
func terminalSafe(line string) string {
	var b []byte
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRuneInString(line[i:])
		if (r == utf8.RuneError && size == 1) || (r != ' ' && !unicode.IsPrint(r)) {
			if b == nil {
				b = append(make([]byte, 0, len(line)+16), line[:i]...)
			}
			b = render.AppendSanitized(b, line[i:i+size])
		} else if b != nil {
			b = append(b, line[i:i+size]...)
		}
		i += size
	}
	if b == nil {
		return line
	}
	return string(b)
}

// flagError turns an error of pflag's parser into a usage error that lists
// the valid flags, and for -o without a format, says what -o means here.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	// "sockscope lss -t": the root command took "lss" as a filter word,
	// and -t is not one of its flags.
	if !cmd.HasParent() {
		if a := cmd.Flags().Args(); len(a) > 0 {
			if dm := didYouMean(cmd, "command or filter word", a[0]); dm != "" {
				msg = dm + "\n" + msg
			}
		}
	}
	var vr *pflag.ValueRequiredError
	if errors.As(err, &vr) && vr.GetFlag() != nil && vr.GetFlag().Name == "output" {
		msg += "\n" + outputHint
	}
	return &usageError{fmt.Sprintf("%s\nvalid flags for '%s': %s", msg, cmd.CommandPath(), flagList(cmd))}
}

// outputHint explains -o to ss users, for whom -o shows timers.
const outputHint = "-o is the output format here (-o table, -o json or -o ndjson); for ss's -o (timers) use --timers, e.g. ls -tan --timers"

// usageArgs makes every error of a command's argument check a usage error
// (cobra's own checks return plain errors), with the command's usage line.
func usageArgs(cmd *cobra.Command) {
	check := cmd.Args
	if check == nil {
		return
	}
	cmd.Args = func(c *cobra.Command, args []string) error {
		err := check(c, args)
		if err == nil {
			return nil
		}
		var ue *usageError
		if errors.As(err, &ue) {
			return err
		}
		msg := fmt.Sprintf("%s: %s\nusage: %s", c.Name(), err, c.UseLine())
		if c.HasAvailableSubCommands() {
			msg += "\ncommands: " + strings.Join(commandNames(c), ", ")
		}
		return &usageError{msg}
	}
}

// needArgs is an argument check: at least n arguments, or msg.
func needArgs(n int, msg string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return &usageError{msg}
		}
		return nil
	}
}

// didYouMean says which commands a mistyped word may have meant, or ""
// when none is near; what names the word's role ("help topic").
func didYouMean(root *cobra.Command, what, word string) string {
	sug := suggestCommand(root, word)
	if len(sug) == 0 {
		return ""
	}
	return fmt.Sprintf("unknown %s %q: did you mean sockscope %s?", what, word, strings.Join(sug, " or sockscope "))
}

// newHelpCmd is cobra's help command, but an unknown topic is a usage
// error with a suggestion, not the root's help with status 0.
func newHelpCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND]",
		Short: "Help about any command",
		Args:  cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			if err == nil && cmd == root && len(rest) > 0 {
				if msg := didYouMean(root, "help topic", rest[0]); msg != "" {
					return &usageError{msg}
				}
				return usagef("unknown help topic %q: the commands are %s", rest[0], strings.Join(commandNames(root), ", "))
			}
			if err != nil {
				return &usageError{err.Error()}
			}
			return cmd.Help()
		},
	}
}

// commandNames lists the root's commands, help aside.
func commandNames(root *cobra.Command) []string {
	var names []string
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() && c.Name() != "help" {
			names = append(names, c.Name())
		}
	}
	return names
}

// suggestCommand returns the commands a mistyped word may have meant: those
// whose name or alias is nearest to it (at most 2 edits, a swap of two
// letters counting as one), or begins with it. cobra's SuggestionsFor looks
// at names and SuggestFor only, not at aliases, and the root command here
// takes filter words, so cobra never reports an unknown command itself.
func suggestCommand(root *cobra.Command, word string) []string {
	if word == "" || strings.HasPrefix(word, "-") || strings.HasPrefix(word, ":") {
		return nil
	}
	lw := strings.ToLower(word)
	best := 3
	var out []string
	for _, c := range root.Commands() {
		if !c.IsAvailableCommand() {
			continue
		}
		d := 3
		for _, name := range append([]string{c.Name()}, c.Aliases...) {
			nd := editDistance(lw, name)
			if nd >= len(name) {
				continue // "x" is 2 edits from "ls", and means nothing
			}
			if len(lw) >= 2 && strings.HasPrefix(name, lw) {
				nd = min(nd, 1)
			}
			d = min(d, nd)
		}
		switch {
		case d < best:
			best, out = d, []string{c.Name()}
		case d == best && d <= 2:
			out = append(out, c.Name())
		}
	}
	return out
}

// editDistance is the optimal string alignment distance between a and b,
// in bytes: insertions, deletions, substitutions and swaps of two
// neighbours each count 1.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func newRoot(ctx context.Context, g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "sockscope [FILTER...] | sockscope :PORT",
		Short: "Show this machine's ports, sockets, connections and who holds them",
		Long: `sockscope shows a Linux machine's real sockets the way the textbooks explain them.

With no command it prints the ports view: every port in use, its listener(s)
with the processes that hold them, then the sockets that share the port,
counted by state, with their peers. Ports used only by the client side of
connections are summarised apart, and Unix sockets are listed by path.

  a port       is a number (tcp/443): a service identifier, not an object
  an endpoint  is address + port; many sockets share one
  a socket     is a kernel object (cookie, inode): a listener, or one end of
               one connection
  a connection is the 5-tuple (proto, local, remote)
  a holder     is a (process, fd) that refers to a socket; TIME-WAIT and
               orphaned sockets have none, and still hold their port

FILTER is the ss filter language (state established, sport = :443,
dst 10.0.0.0/8, and/or/not, parentheses) plus proc NAME, pid N, user NAME,
netns NAME, container ID|NAME and unit NAME.`,
		Example: `  sockscope                      # the ports view
  sockscope :8080                # everything about port 8080
  sockscope ls -tlnp             # listening TCP sockets with their processes, like ss -tlnp
  sockscope ls state established '( dport = :443 or sport = :443 )'
  sockscope proc nginx           # every socket nginx holds
  sockscope -o json | jq .       # the ports view as JSON
  sockscope ls -tln --jq '.sockets[].local'   # a jq expression over the JSON, as gh --jq`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.ArbitraryArgs,
	}
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 && strings.HasPrefix(args[0], ":") {
			return runPort(cmd.Context(), g, args[0], args[1:])
		}
		err := runPorts(cmd.Context(), g, args)
		// A filter that fails on its first word may be a mistyped
		// command: "sockscope lss".
		var se *query.SyntaxError
		if errors.As(err, &se) && se.Pos == 0 {
			if msg := didYouMean(root, "command or filter word", args[0]); msg != "" {
				return &usageError{msg}
			}
			// "sockscope 80", "sockscope http": a port without its colon.
			if _, _, perr := parsePort(args[0]); perr == nil {
				return usagef("%q is not a filter: for everything about port %s, write sockscope :%s or sockscope port %s", args[0], args[0], args[0], args[0])
			}
		}
		return err
	}
	root.SetHelpCommand(newHelpCmd(root))
	root.SetFlagErrorFunc(flagError)
	pf := root.PersistentFlags()
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table, json or ndjson")
	pf.StringVar(&g.jq, "jq", "", "print the JSON output through this jq expression (implies -o json): strings raw, other values as compact JSON, one a line")
	pf.BoolVar(&g.noPager, "no-pager", false, "do not page long tables on a terminal (also SOCKSCOPE_PAGER= or PAGER=cat)")
	pf.BoolVar(&g.noColor, "no-color", false, "do not colour the output (also NO_COLOR, or when not a terminal)")
	pf.BoolVarP(&g.numeric, "numeric", "n", false, "print port numbers, not service names")
	pf.StringVar(&g.source, "source", "auto", "where to read sockets: auto, netlink, proc, or bpf (netlink plus reuse flags, bind buckets and a fast holder scan through BPF iterators; root)")
	pf.StringSliceVar(&g.netns, "netns", nil, "read this network namespace instead: an ip netns name, a path or a PID (repeatable)")
	pf.BoolVarP(&g.allNetNS, "all-netns", "A", false, "read every network namespace that can be found")
	pf.DurationVar(&g.holdersTimeout, "holders-timeout", 5*time.Second, "stop the holder scan (-p, proc, the ports view) after this long")
	pf.StringVar(&g.procRoot, "proc-root", "/proc", "procfs mount point")
	_ = pf.MarkHidden("proc-root")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if err := g.checkOutput(); err != nil {
			return err
		}
		if err := g.startJQ(cmd); err != nil {
			return err
		}
		g.startPager(cmd.Name())
		return nil
	}

	root.AddCommand(
		newLsCmd(g),
		newPortCmd(g),
		newProcCmd(g),
		newWatchCmd(g),
		newBindCheckCmd(g),
		newDemuxCmd(g),
		newLabCmd(g),
		newServeCmd(g),
		newSummaryCmd(g),
		newKillCmd(g),
		newVersionCmd(g),
	)
	// --version: one line, as 'sockscope version' says in full.
	root.Version = buildinfo.Get().String()
	root.SetVersionTemplate("sockscope {{.Version}}\n")
	addCompletions(root, g)
	// cobra adds help and completion when it executes; add them now so
	// that their argument checks are usage errors too, with the streams
	// set first (the completion scripts are written to the stream the
	// command had when it was made).
	root.SetOut(g.io.Out)
	root.SetErr(g.io.ErrOut)
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" && !c.Runnable() {
			// Not runnable, cobra would print its help with status 0
			// for "completion bogus".
			c.RunE = func(c *cobra.Command, args []string) error { return c.Help() }
		}
	}
	var wrap func(*cobra.Command)
	wrap = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			usageArgs(sub)
			wrap(sub)
		}
	}
	wrap(root)
	return root
}

// parsePort parses a port argument: "8080", ":8080", "tcp/8080", ":http".
func parsePort(arg string) (proto sockscope.Proto, num uint16, err error) {
	s := arg
	if i := strings.IndexByte(s, '/'); i >= 0 {
		p, ok := sockscope.ParseProto(s[:i])
		if !ok || !p.HasPorts() {
			return 0, 0, usagef("bad port %q: %q is not a protocol with ports (use tcp, udp or udplite)", arg, s[:i])
		}
		proto = p
		s = s[i+1:]
	}
	s = strings.TrimPrefix(s, ":")
	if s == "" {
		return 0, 0, usagef("bad port %q: give a number from 1 to 65535 or a service name, e.g. 8080 or :http", arg)
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		if n < 1 || n > 65535 {
			return 0, 0, usagef("bad port %q: a port is a number from 1 to 65535", arg)
		}
		return proto, uint16(n), nil
	}
	if s[0] >= '0' && s[0] <= '9' || s[0] == '-' {
		return 0, 0, usagef("bad port %q: a port is a number from 1 to 65535 or a service name", arg)
	}
	pname := "tcp"
	if proto != 0 {
		pname = proto.String()
	}
	if n, ok := query.LookupService(s, pname); ok {
		return proto, n, nil
	}
	if proto == 0 {
		if n, ok := query.LookupService(s, "udp"); ok {
			return proto, n, nil
		}
	}
	return 0, 0, usagef("bad port %q: %q is neither a number from 1 to 65535 nor a service name in /etc/services", arg, s)
}

// flagList lists the flags cmd accepts, "-t/--tcp, --no-color, ...", hidden
// ones left out.
func flagList(cmd *cobra.Command) string {
	var names []string
	add := func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" {
			return
		}
		if f.Shorthand != "" {
			names = append(names, "-"+f.Shorthand+"/--"+f.Name)
			return
		}
		names = append(names, "--"+f.Name)
	}
	cmd.LocalFlags().VisitAll(add)
	cmd.InheritedFlags().VisitAll(add)
	names = append(names, "-h/--help")
	return strings.Join(names, ", ")
}

// Command returns sockscope's command tree, for tools that document it
// (internal/tools/gendocs writes the man pages from it); running it is
// Main's job.
func Command() *cobra.Command {
	g := &globals{io: IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}}
	return newRoot(context.Background(), g)
}
