package cli

import (
	"bytes"
	"strings"
	"syscall"
	"testing"
)

// TestRunSignalLate sends SIGINT to this process from inside the
// command's last write, which then completes: the runtime has caught the
// signal, but the command ends before the signal can reach its context,
// the race behind exit 0 under load. The status must still be 130.
func TestRunSignalLate(t *testing.T) {
	for i := range 20 {
		var out, errb bytes.Buffer
		sent := false
		w := writerFunc(func(p []byte) (int, error) {
			if !sent {
				sent = true
				if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
					t.Fatal(err)
				}
			}
			return out.Write(p)
		})
		code := runSignals([]string{"lab", "--list"}, IOStreams{In: strings.NewReader(""), Out: w, ErrOut: &errb, Getenv: func(string) string { return "" }})
		if code != ExitInterrupted || !sent || errb.Len() != 0 {
			t.Fatalf("run %d: exit %d (signal sent: %v), stderr %q; want %d, quiet", i, code, sent, errb.String(), ExitInterrupted)
		}
	}
	// Without a signal the same command succeeds.
	var out, errb bytes.Buffer
	if code := runSignals([]string{"lab", "--list"}, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, Getenv: func(string) string { return "" }}); code != ExitOK || out.Len() == 0 {
		t.Errorf("no signal: exit %d, %d bytes, stderr %q", code, out.Len(), errb.String())
	}
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
