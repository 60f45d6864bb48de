//go:build !linux

package demux

import (
	"errors"
	"fmt"
	"runtime"
)

var errNotSupported = errors.New("not supported")

// LoadEnv reads the bind environment of the calling thread's network
// namespace. Outside Linux it returns DefaultEnv and an error.
func LoadEnv() (Env, error) {
	return DefaultEnv(), fmt.Errorf("demux: load env on %s/%s: %w", runtime.GOOS, runtime.GOARCH, errNotSupported)
}
