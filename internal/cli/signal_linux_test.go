package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
)

// TestRunSignalLate sends SIGINT to a process from inside the command's
// last write, which then completes: the runtime has caught the signal, but
// the command ends before the signal can reach its context, the race
// behind exit 0 under load. The status must still be 130.
//
// Each run is a child process (this test binary again): runSignals has a
// window, between signal.Stop and signal.Ignore, in which a signal gets
// the default action and the process dies of SIGINT.
// A shell sees that as status 130 too, so the child may end either way;
// it must never exit 0. Run in this process, that window would kill the
// whole test binary.
func TestRunSignalLate(t *testing.T) {
	if os.Getenv("SOCKSCOPE_TEST_SIGNAL_LATE") == "1" {
		os.Exit(runSignalLateOnce())
	}
	// A child inherits an ignored SIGINT (this process ignores it after
	// any runSignals call): give it the default disposition.
	signal.Reset(os.Interrupt)
	for i := range 20 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRunSignalLate$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SOCKSCOPE_TEST_SIGNAL_LATE=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("run %d: %v (want exit %d), stderr %q", i, err, ExitInterrupted, stderr.String())
		}
		ws, _ := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() && ws.Signal() == syscall.SIGINT {
			continue
		}
		if ws.ExitStatus() != ExitInterrupted || stderr.Len() != 0 {
			t.Fatalf("run %d: %v, stderr %q; want exit %d, quiet", i, err, stderr.String(), ExitInterrupted)
		}
	}
	// Without a signal the same command succeeds.
	var out, errb bytes.Buffer
	if code := runSignals([]string{"lab", "--list"}, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, Getenv: func(string) string { return "" }}); code != ExitOK || out.Len() == 0 {
		t.Errorf("no signal: exit %d, %d bytes, stderr %q", code, out.Len(), errb.String())
	}
}

// runSignalLateOnce is the child of TestRunSignalLate: it sends itself
// SIGINT from the command's first write and returns the exit status.
func runSignalLateOnce() int {
	var out, errb bytes.Buffer
	sent := false
	w := writerFunc(func(p []byte) (int, error) {
		if !sent {
			sent = true
			if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
				return 0, err
			}
		}
		return out.Write(p)
	})
	code := runSignals([]string{"lab", "--list"}, IOStreams{In: strings.NewReader(""), Out: w, ErrOut: &errb, Getenv: func(string) string { return "" }})
	os.Stderr.Write(errb.Bytes())
	if !sent {
		return 99
	}
	return code
}

// TestSignalPending reads the ShdPnd mask as the kernel prints it, and
// finds no SIGINT or SIGTERM pending in a process nobody signalled.
func TestSignalPending(t *testing.T) {
	status := []byte("Name:\tx\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000004002\nSigBlk:\t0\n")
	if pendingIn(status, syscall.SIGINT) != syscall.SIGINT || pendingIn(status, syscall.SIGHUP, syscall.SIGTERM) != syscall.SIGTERM || pendingIn(status, syscall.SIGHUP) != 0 {
		t.Errorf("pendingIn misreads ShdPnd 0x4002 (SIGINT and SIGTERM)")
	}
	if pendingIn([]byte("ShdPnd:\tzz\n"), syscall.SIGINT) != 0 || pendingIn(nil, syscall.SIGINT) != 0 {
		t.Error("pendingIn accepts a malformed or missing mask")
	}
	if signalPending(endSignals...) != 0 {
		t.Error("a signal pending in a test nobody signalled")
	}
}
