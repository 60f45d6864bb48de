package cli

import (
	"github.com/spf13/pflag"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/render"
)

// detailFlags are ss's per-socket detail switches, on every command that
// prints a socket list: -i (TCP internals), -m (socket memory), --timers
// (ss's -o) and -e's cgroup.
type detailFlags struct {
	info, memory, timers, extended bool
}

// add registers -i, -m and --timers (-e is the command's own flag).
func (d *detailFlags) add(f *pflag.FlagSet) {
	f.BoolVarP(&d.info, "info", "i", false, "show TCP internals under each socket, as ss -i (tcp_info, congestion control); implies --timers")
	f.BoolVarP(&d.memory, "memory", "m", false, "show socket memory under each socket, as ss -m: skmem:(r,rb,t,tb,f,w,o,bl,d)")
	f.BoolVar(&d.timers, "timers", false, "show each socket's timer, as ss -o: on, keepalive, timewait or persist, time left, retransmits")
}

// options asks the collection for what the flags show.
func (d *detailFlags) options(opts *sockscope.Options) {
	opts.TCPInfo = opts.TCPInfo || d.info
	opts.Memory = opts.Memory || d.memory
	opts.Cgroups = opts.Cgroups || d.extended
}

// style sets the table's columns for the flags.
func (d *detailFlags) style(st *render.Style) {
	st.TCPInfo = d.info
	st.Memory = d.memory
	st.Timers = d.timers || d.info
	st.Cgroup = d.extended
}
