//go:build !linux

package holders

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// Scan needs Linux's /proc; elsewhere it returns an error wrapping
// errors.ErrUnsupported.
func Scan(ctx context.Context, opts Options) (*Result, error) {
	return nil, fmt.Errorf("holders: scan on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
