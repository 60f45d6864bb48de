package procnet

import (
	"errors"
	"fmt"
)

// ParseError reports a malformed line of a /proc/net table.
type ParseError struct {
	// Line is the 1-based line number in the input (the header is line 1).
	Line int
	// Field names the column that could not be parsed, as the kernel's header
	// calls it ("local_address", "st", "Inode", ...), or "line" when the
	// line as a whole is wrong (too few columns, too long).
	Field string
	// Value is the offending text, truncated to 64 bytes.
	Value string
	// Err is the cause.
	Err error
}

// Error returns "line N: bad FIELD "VALUE": cause".
func (e *ParseError) Error() string {
	return fmt.Sprintf("line %d: bad %s %q: %v", e.Line, e.Field, e.Value, e.Err)
}

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

var (
	errSyntax     = errors.New("invalid syntax")
	errRange      = errors.New("value out of range")
	errColumns    = errors.New("too few columns")
	errHeader     = errors.New("missing or unexpected header")
	errFamily     = errors.New("address length does not match the address family")
	errBadFamily  = errors.New("family must be AF_INET (2) or AF_INET6 (10)")
	errTrailing   = errors.New("unexpected text after the inode")
	errNameLength = errors.New("name longer than sun_path")
)

const maxValue = 64

func parseErr(line int, field string, value []byte, err error) *ParseError {
	if len(value) > maxValue {
		value = value[:maxValue]
	}
	return &ParseError{Line: line, Field: field, Value: string(value), Err: err}
}
