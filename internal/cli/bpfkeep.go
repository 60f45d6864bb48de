package cli

import (
	"os"

	"github.com/sockscope/sockscope"
)

// keepBPF loads the BPF programs once for a command that collects again
// and again (watch, serve), so that every refresh reuses them instead of
// loading its own: with --source bpf, and with --source auto as root
// (Collect then scans holders through them in the initial PID namespace,
// whatever the number of open files: the load is paid). It returns the function that
// unloads them. Where they cannot load, opts is left as it is and each
// collection falls back as it would alone (with its warning for bpf).
func keepBPF(opts *sockscope.Options) (release func()) {
	if opts.BPF != nil || !(opts.Source == sockscope.SourceBPF || (opts.Source == sockscope.SourceAuto && os.Geteuid() == 0)) {
		return func() {}
	}
	bp, err := sockscope.LoadBPF()
	if err != nil {
		return func() {}
	}
	opts.BPF = bp
	return func() { bp.Close() }
}
