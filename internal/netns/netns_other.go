//go:build !linux

package netns

import (
	"context"
	"fmt"
	"runtime"
)

// errUnsupported names the platform, as the errors of this file promise.
var errUnsupported = fmt.Errorf("%w on %s", ErrNotSupported, runtime.GOOS)

// List is only implemented on Linux; elsewhere it returns no namespaces
// and one error wrapping ErrNotSupported.
func List(procRoot string) ([]NS, []error) {
	return nil, []error{fmt.Errorf("netns: list: %w", errUnsupported)}
}

// Resolve is only implemented on Linux; elsewhere it returns an error
// wrapping ErrNotSupported.
func Resolve(spec, procRoot string) (NS, error) {
	return NS{}, &ResolveError{Spec: spec, Err: errUnsupported}
}

// Do is only implemented on Linux; elsewhere it does not call fn and
// returns an error wrapping ErrNotSupported.
func Do(ns NS, fn func() error) error {
	return fmt.Errorf("netns: enter %s: %w", ns.Path, errUnsupported)
}

// Initial is only implemented on Linux; elsewhere it returns an error
// wrapping ErrNotSupported.
func Initial(procRoot string) (NS, error) {
	return NS{}, fmt.Errorf("netns: find the initial namespace: %w", errUnsupported)
}

// Process is only implemented on Linux; elsewhere it returns an error
// wrapping ErrNotSupported.
func Process(procRoot string, pid int) ([]NS, func(), error) {
	return nil, func() {}, fmt.Errorf("netns: namespaces of process %d: %w", pid, errUnsupported)
}

// Names is only implemented on Linux; elsewhere it returns nothing.
func Names() []string { return nil }

// DoEach is only implemented on Linux; elsewhere it calls nothing and
// returns, for every index, an error wrapping ErrNotSupported.
func DoEach(ctx context.Context, list []NS, workers int, fn func(worker, i int) error) []error {
	errs := make([]error, len(list))
	for i, ns := range list {
		errs[i] = fmt.Errorf("netns: enter %s: %w", ns.Path, errUnsupported)
	}
	return errs
}

// ListContext is only implemented on Linux; elsewhere it is List.
func ListContext(ctx context.Context, procRoot string) ([]NS, []error) {
	return List(procRoot)
}
