package cli

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// signalPending reports whether one of sigs was sent to this process and
// the kernel has not yet delivered it to a thread: the ShdPnd mask of
// /proc/self/status. Go's handler runs on whichever thread the kernel
// woke, which under load may get the CPU only after the command has
// finished; until then the signal is pending here.
func signalPending(sigs ...syscall.Signal) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	return pendingIn(b, sigs...)
}

// pendingIn reads the ShdPnd mask from the text of /proc/PID/status.
func pendingIn(status []byte, sigs ...syscall.Signal) bool {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		v, ok := bytes.CutPrefix(sc.Bytes(), []byte("ShdPnd:"))
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 16, 64)
		if err != nil {
			return false
		}
		for _, s := range sigs {
			if s >= 1 && s <= 64 && mask&(1<<(uint(s)-1)) != 0 {
				return true
			}
		}
		return false
	}
	return false
}
