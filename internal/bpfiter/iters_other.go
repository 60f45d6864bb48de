//go:build !linux

package bpfiter

import (
	"fmt"
	"runtime"
)

// Iters is not available off Linux.
type Iters struct{}

// Load fails off Linux.
func Load() (*Iters, error) { return nil, fmt.Errorf("%w on %s", ErrUnavailable, runtime.GOOS) }

// Close does nothing.
func (*Iters) Close() error { return nil }

// Proto numbers for Sockets.
const (
	TCP = 6
	UDP = 17
)

// Sockets fails off Linux.
func (*Iters) Sockets(int) ([]Sock, error) { return nil, ErrUnavailable }

// EachSock fails off Linux.
func (*Iters) EachSock(int, func(uint8) bool, func(Sock)) error { return ErrUnavailable }

// Holders fails off Linux.
func (*Iters) Holders() ([]Holder, []Sock, error) { return nil, nil, ErrUnavailable }

// EachHolder fails off Linux.
func (*Iters) EachHolder(func(Holder)) ([]Sock, error) { return nil, ErrUnavailable }
