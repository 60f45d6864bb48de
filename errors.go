package sockscope

import (
	"github.com/sockscope/sockscope/internal/oserr"
)

// ErrNotSupported is wrapped by errors reporting that this OS or this
// kernel lacks a feature: collection outside Linux, network namespaces, a
// protocol whose sock_diag handler is not built. It is the same value as
// the sentinels of the internal packages, so errors.Is finds it whichever
// layer failed.
var ErrNotSupported = oserr.ErrNotSupported

// OpError is the error Collect returns when a stage of the collection
// fails or the context ends. Test for causes with errors.Is (ctx.Err(),
// ErrNotSupported, fs.ErrPermission, ...) and for the type with errors.As.
type OpError struct {
	// Op is the stage that failed: "collect", "select namespaces",
	// "read", "scan holders".
	Op string
	// NetNS names the namespace being read, "" when the failure concerns
	// none in particular.
	NetNS string
	// Err is the cause.
	Err error
}

// Error returns "OP: CAUSE" or "OP netns NAME: CAUSE".
func (e *OpError) Error() string {
	if e.NetNS != "" {
		return e.Op + " netns " + e.NetNS + ": " + e.Err.Error()
	}
	return e.Op + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }
