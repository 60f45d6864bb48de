//go:build !linux

package cli

import "syscall"

// signalPending reports false: only Linux shows pending signals (in
// /proc/self/status).
func signalPending(sigs ...syscall.Signal) bool { return false }
