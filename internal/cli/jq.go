package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/itchyny/gojq"
	"github.com/spf13/cobra"

	"github.com/sockscope/sockscope/query"
	"github.com/sockscope/sockscope/render"
)

// jqExample is the hint a bad --jq expression ends with.
const jqExample = `--jq takes a jq program, e.g. --jq '.sockets[] | .local' (gojq: https://github.com/itchyny/gojq)`

// compileJQ parses and compiles a --jq expression. A mistake is a usage
// error that quotes the expression and points at where it went wrong.
func compileJQ(expr string) (*gojq.Code, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, usagef("--jq needs an expression, e.g. --jq . (the whole document) or --jq '.sockets[] | .local'")
	}
	q, err := gojq.Parse(expr)
	if err != nil {
		pos := len(expr)
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			// Offset is where the lexer stopped: just past the token.
			pos = min(max(pe.Offset-len(pe.Token), 0), len(expr))
			if strings.Contains(err.Error(), "unterminated string") {
				// It ends at the end: point at where it began.
				if i := strings.LastIndexByte(expr[:pos], '"'); i >= 0 {
					pos = i
				}
			}
		}
		return nil, jqUsageError(expr, pos, err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		// "function not defined: foo/0": point at the name, if it is
		// in the expression.
		pos := -1
		msg := err.Error()
		if i := strings.LastIndexByte(msg, ':'); i >= 0 {
			name := strings.TrimSpace(msg[i+1:])
			if j := strings.LastIndexByte(name, '/'); j > 0 {
				name = name[:j]
			}
			pos = callPos(expr, name)
		}
		return nil, jqUsageError(expr, pos, err)
	}
	return code, nil
}

// callPos is the offset of the first word name in expr that is not a
// field (.name) or a variable ($name), or -1.
func callPos(expr, name string) int {
	ident := func(c byte) bool {
		return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	if name == "" {
		return -1
	}
	for from := 0; from < len(expr); {
		i := strings.Index(expr[from:], name)
		if i < 0 {
			return -1
		}
		i += from
		end := i + len(name)
		if (i == 0 || !ident(expr[i-1]) && expr[i-1] != '.' && expr[i-1] != '$') && (end == len(expr) || !ident(expr[end])) {
			return i
		}
		from = i + 1
	}
	return -1
}

// jqUsageError says what is wrong with expr, and where (pos < 0: nowhere
// in particular).
func jqUsageError(expr string, pos int, err error) error {
	msg := fmt.Sprintf("bad --jq expression %q: %v", expr, err)
	if pos >= 0 {
		msg += "\n" + (&query.SyntaxError{Input: expr, Pos: pos, Msg: jqExample}).Caret()
	} else {
		msg += "\n" + jqExample
	}
	return &usageError{msg}
}

// jqRunError is an error of the --jq program at run time (exit 1).
type jqRunError struct{ err error }

func (e *jqRunError) Error() string { return "--jq: " + e.err.Error() }
func (e *jqRunError) Unwrap() error { return e.err }

// jqFilter is the output of a command run with --jq: it reads the JSON
// values the command writes (one document, or one per line) and prints
// what the program makes of each as gh does: strings raw, other values as
// compact JSON, one a line.
type jqFilter struct {
	pw   *io.PipeWriter
	done chan error
}

// newJQFilter starts the filter; its results go to out. tty makes the
// raw strings safe for a terminal (render.Sanitize), as every name
// sockscope prints there is.
func newJQFilter(ctx context.Context, code *gojq.Code, out io.Writer, tty bool) *jqFilter {
	pr, pw := io.Pipe()
	f := &jqFilter{pw: pw, done: make(chan error, 1)}
	go func() {
		err := runJQ(ctx, code, pr, out, tty)
		// The command's next write fails with err, and stops.
		pr.CloseWithError(err)
		f.done <- err
	}()
	return f
}

func (f *jqFilter) Write(p []byte) (int, error) { return f.pw.Write(p) }

// close ends the input and waits for the program to finish with it. It
// returns the error the command line ends with, given the command's own.
func (f *jqFilter) close(cmdErr error) error {
	f.pw.Close()
	err := <-f.done
	var re *jqRunError
	switch {
	case err == nil:
		return cmdErr
	case errors.As(err, &re):
		return err // the command's error, if any, is this one
	case cmdErr != nil:
		return cmdErr // a document cut short by the command's failure
	}
	return err
}

// runJQ applies code to every JSON value read from r.
func runJQ(ctx context.Context, code *gojq.Code, r io.Reader, out io.Writer, tty bool) error {
	dec := json.NewDecoder(r)
	dec.UseNumber() // inodes and cookies are 64-bit: keep every digit
	w := bufio.NewWriter(out)
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("--jq: read the command's JSON: %w", err)
		}
		iter := code.RunWithContext(ctx, v)
		for {
			x, ok := iter.Next()
			if !ok {
				break
			}
			if err, ok := x.(error); ok {
				var he *gojq.HaltError
				if errors.As(err, &he) && he.Value() == nil {
					return w.Flush() // halt: stop, successfully
				}
				w.Flush()
				return &jqRunError{err}
			}
			if err := writeJQValue(w, x, tty); err != nil {
				return err
			}
		}
		// One value at a time: watch's events come out as they happen.
		if err := w.Flush(); err != nil {
			return err
		}
	}
}

// writeJQValue prints one result: a string raw, anything else as compact
// JSON, then a newline.
func writeJQValue(w *bufio.Writer, v any, tty bool) error {
	var line string
	if s, ok := v.(string); ok {
		line = s
		if tty {
			line = render.Sanitize(s)
		}
	} else {
		b, err := gojq.Marshal(v)
		if err != nil {
			return fmt.Errorf("--jq: encode a result: %w", err)
		}
		line = string(b)
		if tty {
			line = terminalSafe(line)
		}
	}
	w.WriteString(line)
	return w.WriteByte('\n')
}

// noJSONCommands print no JSON for --jq to read.
var noJSONCommands = map[string]bool{"serve": true, "completion": true, "help": true}

// startJQ sets --jq up for cmd: it implies -o json (ndjson for watch,
// whose events are a stream), and the command's output goes through the
// program.
func (g *globals) startJQ(cmd *cobra.Command) error {
	f := cmd.Flag("jq")
	if f == nil || !f.Changed {
		return nil
	}
	if noJSONCommands[cmd.Name()] {
		return usagef("%s prints no JSON for --jq to read: use --jq with ls, port, proc, summary, watch, kill, demux, bind-check, lab or version", cmd.Name())
	}
	if o := cmd.Flag("output"); o != nil && o.Changed && g.output == "table" {
		return usagef("--jq reads JSON: drop -o table (--jq implies -o json)")
	}
	code, err := compileJQ(g.jq)
	if err != nil {
		return err
	}
	if g.output == "table" {
		g.output = "json"
		if cmd.Name() == "watch" {
			g.output = "ndjson"
		}
	}
	jf := newJQFilter(g.ctx, code, g.io.Out, g.io.OutTTY)
	g.io.Out = jf
	g.endOutput = jf.close
	return nil
}
