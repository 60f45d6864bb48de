//go:build !linux

package cli

import "syscall"

// signalPending returns 0: only Linux shows pending signals (in
// /proc/self/status).
func signalPending(sigs ...syscall.Signal) syscall.Signal { return 0 }
