//go:build !linux

package sockdiag

import (
	"errors"
	"time"
)

// ErrEventsLost is wrapped by the error DestroyEvents.Read returns when the
// kernel dropped events. Outside Linux there are none.
var ErrEventsLost = errors.New("destroy events lost (receive queue overrun)")

// DestroyEvents is a subscription to socket destroy events. Outside Linux
// it cannot be created.
type DestroyEvents struct{}

// SubscribeDestroy returns an error wrapping ErrNotSupported: sock_diag
// exists only on Linux.
func SubscribeDestroy() (*DestroyEvents, error) { return nil, errNotSupportedOnOS }

// NetNS returns 0.
func (e *DestroyEvents) NetNS() uint64 { return 0 }

// SetReadDeadline returns an error wrapping ErrNotSupported.
func (e *DestroyEvents) SetReadDeadline(t time.Time) error { return errNotSupportedOnOS }

// Read returns an error wrapping ErrNotSupported.
func (e *DestroyEvents) Read(fn func(*InetRecord) error) error { return errNotSupportedOnOS }

// Close returns an error wrapping ErrNotSupported.
func (e *DestroyEvents) Close() error { return errNotSupportedOnOS }
