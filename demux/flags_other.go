//go:build !linux

package demux

import "github.com/sockscope/sockscope"

// ReadFlags reads the hidden options of a socket through one of its
// holders. Outside Linux nothing can be read: every field is Unknown.
func ReadFlags(s *sockscope.Socket) Flags { return Flags{} }

var _ FlagFunc = ReadFlags
