package lab

import (
	"errors"
	"syscall"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/demux"
)

// errnoName names the error a system call returned: "ok" for nil,
// "EADDRINUSE" for an errno, the text otherwise.
func errnoName(err error) string {
	if err == nil {
		return "ok"
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		if n := errnoNames[en]; n != "" {
			return n
		}
	}
	return err.Error()
}

// errnoNames names the errors the experiments meet and demux predicts.
var errnoNames = map[syscall.Errno]string{
	syscall.EADDRINUSE:    "EADDRINUSE",
	syscall.EADDRNOTAVAIL: "EADDRNOTAVAIL",
	syscall.EACCES:        "EACCES",
	syscall.EINVAL:        "EINVAL",
	syscall.ENODEV:        "ENODEV",
	syscall.ECONNREFUSED:  "ECONNREFUSED",
	syscall.EPERM:         "EPERM",
	syscall.EAFNOSUPPORT:  "EAFNOSUPPORT",
	syscall.ETIMEDOUT:     "ETIMEDOUT",
}

// Agreement is how an oracle prediction compares with what the kernel did.
type Agreement int

// Agreements.
const (
	Agree     Agreement = iota // a definite prediction the kernel confirmed
	Disagree                   // a prediction the kernel contradicted
	Undecided                  // a "depends" answer: nothing definite to compare
)

// String returns "agrees", "DISAGREES" or "not definite".
func (a Agreement) String() string {
	switch a {
	case Agree:
		return "agrees"
	case Disagree:
		return "DISAGREES"
	}
	return "not definite"
}

// compareBind compares a CheckBind answer with the error the kernel
// returned for the same bind (and listen).
func compareBind(r demux.BindResult, kernel error) Agreement {
	switch r.Verdict {
	case demux.OK:
		if kernel == nil {
			return Agree
		}
		return Disagree
	case demux.Fail:
		if kernel != nil && errnoName(kernel) == r.Errno {
			return Agree
		}
		return Disagree
	}
	// Depends: the failure it names must at least be the one possible.
	if kernel != nil && r.Errno != "" && errnoName(kernel) != r.Errno {
		return Disagree
	}
	return Undecided
}

// compareLookup compares a Lookup answer with the socket that really got
// the segment (nil: none did). Sockets are matched by inode, or, for those
// without one, by tuple and state.
func compareLookup(r demux.LookupResult, got *sockscope.Socket) Agreement {
	switch r.Verdict {
	case demux.One:
		if got != nil && r.Socket != nil && same(r.Socket, got) {
			return Agree
		}
		return Disagree
	case demux.None:
		if got == nil {
			return Agree
		}
		return Disagree
	case demux.OneOf:
		if got == nil {
			return Disagree
		}
		for _, c := range r.Candidates {
			if same(c, got) {
				return Undecided
			}
		}
		return Disagree
	}
	// All (broadcast): every candidate gets a copy; got must be one.
	for _, c := range r.Candidates {
		if got != nil && same(c, got) {
			return Agree
		}
	}
	return Disagree
}

func same(a, b *sockscope.Socket) bool {
	if a.Inode != 0 || b.Inode != 0 {
		return a.Inode == b.Inode
	}
	return a.Local == b.Local && a.Remote == b.Remote && a.State == b.State && a.Proto == b.Proto
}
