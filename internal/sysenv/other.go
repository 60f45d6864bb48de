//go:build !linux

package sysenv

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
)

var errNotSupported = errors.New("not supported")

func unsupported(op string) error {
	return fmt.Errorf("sysenv: %s on %s/%s: %w", op, runtime.GOOS, runtime.GOARCH, errNotSupported)
}

// Load reads the bind environment of the calling thread's network
// namespace. Outside Linux it returns demux.DefaultEnv and an error.
func Load() (demux.Env, error) {
	return demux.DefaultEnv(), unsupported("load the bind environment")
}

// ReadFlags reads the hidden options of a socket through one of its
// holders. Outside Linux nothing can be read: every field is Unknown.
func ReadFlags(*sockscope.Socket) demux.Flags { return demux.Flags{} }

var _ demux.FlagFunc = ReadFlags
