package cli

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// signalPending returns the first of sigs that was sent to this process
// and that the kernel has not yet delivered to a thread (the ShdPnd mask
// of /proc/self/status), or 0. Go's handler runs on whichever thread the kernel
// woke, which under load may get the CPU only after the command has
// finished; until then the signal is pending here.
func signalPending(sigs ...syscall.Signal) syscall.Signal {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return pendingIn(b, sigs...)
}

// pendingIn reads the ShdPnd mask from the text of /proc/PID/status and
// returns the first of sigs set in it, or 0 (docs/kernel.md P1).
func pendingIn(status []byte, sigs ...syscall.Signal) syscall.Signal {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		v, ok := bytes.CutPrefix(sc.Bytes(), []byte("ShdPnd:"))
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 16, 64)
		if err != nil {
			return 0
		}
		for _, s := range sigs {
			if s >= 1 && s <= 64 && mask&(1<<(uint(s)-1)) != 0 {
				return s
			}
		}
		return 0
	}
	return 0
}
