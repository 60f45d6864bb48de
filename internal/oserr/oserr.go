// Package oserr holds the error sentinels that sockscope and its internal
// packages share, so that one meaning has one value: a caller tests
// errors.Is(err, sockscope.ErrNotSupported) whichever layer failed.
package oserr

import "errors"

// ErrNotSupported is wrapped by errors reporting that this OS, or this
// kernel, lacks a feature: sock_diag or network namespaces outside Linux,
// a protocol whose sock_diag handler is not built.
var ErrNotSupported = errors.New("not supported")
