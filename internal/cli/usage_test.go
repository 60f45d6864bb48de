package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// writerFunc is an io.Writer made of a function.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// runArgs calls Main in-process with piped output.
func runArgs(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(ctx, args, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, Getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

// TestUsageHelp: each mistake a user trips on exits 2 and says what would
// work: a mistyped command gets the command it resembles (aliases too),
// port without a number says what it needs, ss's -o habit is explained,
// and cobra's argument checks are usage errors with the usage line.
func TestUsageHelp(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string // every one must be on stderr
		not  []string // none may be
	}{
		{[]string{"lss"}, []string{`"lss"`, "did you mean sockscope ls?"}, nil},
		{[]string{"sokets"}, []string{"did you mean sockscope ls?"}, nil},
		{[]string{"prot", "80"}, []string{"did you mean sockscope port"}, nil},
		{[]string{"lss", "-tlnp"}, []string{`"lss"`, "did you mean sockscope ls?", "-t"}, nil}, // a flag error of the root
		{[]string{"help", "lss"}, []string{`unknown help topic "lss"`, "did you mean sockscope ls?"}, nil},
		{[]string{"help", "zzzzzz"}, []string{`unknown help topic "zzzzzz"`, "ls, port, proc"}, nil},
		{[]string{"stat", "established"}, []string{"bad filter", `"state"`}, []string{"did you mean sockscope"}},
		{[]string{"8080"}, []string{`"8080" is not a filter`, "sockscope :8080", "sockscope port 8080"}, nil},
		{[]string{"port"}, []string{"port needs a port number", "sockscope port 443", "sockscope :443"}, nil},
		{[]string{"ls", "-tano"}, []string{"-o is the output format here", "table", "ndjson", "ss's -o (timers) use --timers"}, nil},
		{[]string{"ls", "-tano", "state", "established"}, []string{`unknown output format "state"`, "-o is the output format here", "timers"}, nil},
		{[]string{"proc"}, []string{"proc:", "usage: sockscope proc PID|NAME"}, nil},
		{[]string{"serve", "now"}, []string{"serve:", "usage: sockscope serve"}, nil},
		{[]string{"bind-check"}, []string{"bind-check:", "usage: sockscope bind-check"}, nil},
		{[]string{"demux", "tcp"}, []string{"demux:", "usage: sockscope demux"}, nil},
		{[]string{"completion", "tcsh"}, []string{`"tcsh"`, "bash, fish, powershell, zsh"}, nil},
		{[]string{"completion", "bash", "extra"}, []string{`"extra"`, "usage: sockscope completion bash"}, nil},
		{[]string{"watch", "--count", "many"}, []string{`"many"`, "--count"}, nil},
		{[]string{"lab", "--timeout", "soon"}, []string{`"soon"`, "--timeout"}, nil},
	} {
		code, out, stderr := runArgs(context.Background(), tt.args...)
		if code != ExitUsage {
			t.Errorf("%q: exit %d, want %d; stderr:\n%s", tt.args, code, ExitUsage, stderr)
		}
		if out != "" {
			t.Errorf("%q: stdout %q, want nothing", tt.args, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%q: stderr lacks %q:\n%s", tt.args, w, stderr)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(stderr, w) {
				t.Errorf("%q: stderr has %q:\n%s", tt.args, w, stderr)
			}
		}
		if strings.Count(stderr, "sockscope: sockscope:") > 0 {
			t.Errorf("%q: doubled prefix:\n%s", tt.args, stderr)
		}
	}
}

func TestSuggestCommand(t *testing.T) {
	root := newRoot(context.Background(), &globals{})
	for word, want := range map[string]string{
		"lss": "ls", "sl": "ls", "socket": "ls", "prot": "port", "prco": "proc", "wach": "watch",
		"bindcheck": "bind-check", "demx": "demux", "serv": "serve", "labb": "lab",
		"established": "", "x": "", ":80": "", "-t": "", "": "",
	} {
		got := strings.Join(suggestCommand(root, word), ",")
		if want == "" && got != "" || want != "" && !strings.Contains(","+got+",", ","+want+",") {
			t.Errorf("suggestCommand(%q) = %q, want %q", word, got, want)
		}
	}
}

// TestReportPrefix: an error that already names the program, as the
// library's do, is printed with the prefix once.
func TestReportPrefix(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("sockscope: read netns blue: %w", errors.New("permission denied")),
		errors.New("read netns blue: permission denied"),
		&exitError{code: ExitError, err: errors.New("sockscope: read netns blue: permission denied")},
	} {
		var b bytes.Buffer
		if code := report(err, &b); code != ExitError {
			t.Errorf("%v: exit %d", err, code)
		}
		if want := "sockscope: read netns blue: permission denied\n"; b.String() != want {
			t.Errorf("report(%v) printed %q, want %q", err, b.String(), want)
		}
	}
}

// TestInterruptedExit: a command that finishes its output after the
// interrupt (the signal landed while it was blocked in its last write)
// still exits 130, never 0: an interrupted listing is not a success.
func TestInterruptedExit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) {
		cancel() // the interrupt arrives during this write, which completes
		return out.Write(p)
	})
	var errb bytes.Buffer
	code := Main(ctx, []string{"lab", "--list"}, IOStreams{In: strings.NewReader(""), Out: w, ErrOut: &errb, Getenv: func(string) string { return "" }})
	if code != ExitInterrupted || out.Len() == 0 || errb.Len() != 0 {
		t.Errorf("exit %d with %d bytes out, stderr %q; want %d, output, quiet", code, out.Len(), errb.String(), ExitInterrupted)
	}
	// Already interrupted before it starts: 130, nothing written.
	code, stdout, stderr := runArgs(ctx, "lab", "--list")
	if code != ExitInterrupted || stdout != "" || stderr != "" {
		t.Errorf("cancelled before: exit %d, out %q, err %q", code, stdout, stderr)
	}
}

// TestCtxWriterLines: a large write is cut at line ends, and stops at one
// once ctx is done.
func TestCtxWriterLines(t *testing.T) {
	line := strings.Repeat("x", 99) + "\n"
	p := []byte(strings.Repeat(line, 1000)) // 100 kB, 6 pieces
	ctx, cancel := context.WithCancel(context.Background())
	var pieces []int
	var got bytes.Buffer
	cw := ctxWriter{ctx: ctx, w: writerFunc(func(b []byte) (int, error) {
		pieces = append(pieces, len(b))
		if len(pieces) == 2 {
			cancel()
		}
		return got.Write(b)
	})}
	n, err := cw.Write(p)
	if !errors.Is(err, context.Canceled) || len(pieces) != 2 || n != got.Len() {
		t.Fatalf("Write = %d, %v after %v pieces (%d bytes out); want 2 pieces then context.Canceled", n, err, pieces, got.Len())
	}
	if !bytes.HasSuffix(got.Bytes(), []byte("\n")) || got.Len()%len(line) != 0 || pieces[0] < ctxChunk || pieces[0] > ctxChunk+len(line) {
		t.Errorf("pieces %v do not end at line ends near %d bytes", pieces, ctxChunk)
	}
	// Without cancellation everything is written, in order.
	got.Reset()
	n, err = ctxWriter{ctx: context.Background(), w: &got}.Write(p)
	if err != nil || n != len(p) || !bytes.Equal(got.Bytes(), p) {
		t.Errorf("uncancelled Write = %d, %v", n, err)
	}
	// A long piece without a newline is written whole.
	got.Reset()
	long := bytes.Repeat([]byte("y"), 3*ctxChunk)
	if n, err := (ctxWriter{ctx: context.Background(), w: &got}).Write(long); err != nil || n != len(long) {
		t.Errorf("Write of one long line = %d, %v", n, err)
	}
}

// TestCompletionWritesToStreams: the completion script goes to the
// command's output stream, not to the process's stdout.
func TestCompletionWritesToStreams(t *testing.T) {
	code, out, stderr := runArgs(context.Background(), "completion", "bash")
	if code != ExitOK || !strings.Contains(out, "bash completion") || stderr != "" {
		t.Errorf("completion bash: exit %d, %d bytes out, stderr %q", code, len(out), stderr)
	}
}
