package sockscope

import "errors"

// ErrNotSupported is returned where the platform or kernel lacks a feature.
var ErrNotSupported = errors.New("not supported")
