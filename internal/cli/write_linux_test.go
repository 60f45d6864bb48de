package cli

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestWriteFailure (issue 15 item 6): output that cannot be written is an
// error whoever wrote it (cobra's help ignores its write errors): exit 1
// and one line on stderr. A reader that went away (EPIPE) is not.
func TestWriteFailure(t *testing.T) {
	// "ls" lists connected sockets: make one, so that it has a row to write
	// whatever else the machine (or the test's namespace) has.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	full := writerFunc(func([]byte) (int, error) { return 0, syscall.ENOSPC })
	for _, args := range [][]string{{"--help"}, {"ls", "--help"}, {"lab", "--list"}, {"ls"}, {"-o", "json"}} {
		var errb bytes.Buffer
		code := Main(context.Background(), args, IOStreams{In: strings.NewReader(""), Out: full, ErrOut: &errb, Getenv: func(string) string { return "" }})
		lines := strings.Split(strings.TrimSuffix(errb.String(), "\n"), "\n")
		if code != ExitError || len(lines) != 1 || !strings.HasPrefix(lines[0], "sockscope: ") || !strings.Contains(lines[0], "no space left on device") {
			t.Errorf("%q to a full device: exit %d, stderr %q; want %d and one line", args, code, errb.String(), ExitError)
		}
	}
	// A failed stderr: nowhere to say so, but the status tells.
	if code := Main(context.Background(), []string{"ls", "--bogus"}, IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: full}); code != ExitUsage {
		t.Errorf("usage error with a full stderr: exit %d, want %d", code, ExitUsage)
	}
	// Gone reader: quiet success, as with | head.
	gone := writerFunc(func([]byte) (int, error) { return 0, syscall.EPIPE })
	var errb bytes.Buffer
	if code := Main(context.Background(), []string{"--help"}, IOStreams{In: strings.NewReader(""), Out: gone, ErrOut: &errb}); code != ExitOK || errb.Len() != 0 {
		t.Errorf("--help to a closed pipe: exit %d, stderr %q; want 0, quiet", code, errb.String())
	}
}

// TestWriteFailureDevFull runs the command as sockscope does with its
// standard output on /dev/full.
func TestWriteFailureDevFull(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	var errb bytes.Buffer
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=--help")
	cmd.Stdout, cmd.Stderr = full, &errb
	err = cmd.Run()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != ExitError {
		t.Fatalf("--help > /dev/full: %v, want exit %d", err, ExitError)
	}
	if got := errb.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "no space left on device") {
		t.Errorf("--help > /dev/full: stderr %q, want one line naming the failure", got)
	}
}
