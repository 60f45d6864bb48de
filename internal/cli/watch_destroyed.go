package cli

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/sockscope/sockscope"
	"github.com/sockscope/sockscope/render"
)

// runWatchDestroyed prints a line per socket the kernel frees, as ss -E
// does: from the kernel's destroy events (TCP and UDP in the namespace
// sockscope runs in), filtered by ls's selection flags and the filter.
// --count bounds the number of lines.
func runWatchDestroyed(ctx context.Context, g *globals, o *watchOptions, args []string) error {
	if g.output == "json" {
		return usagef("watch --destroyed streams events: use -o ndjson (one JSON object per line) or -o table")
	}
	if o.count < 0 {
		return usagef("bad --count %d: use 0 (no limit) or more", o.count)
	}
	if len(g.netns) > 0 || g.allNetNS {
		return usagef("watch --destroyed hears the namespace it runs in only: run it there instead, e.g. ip netns exec NAME sockscope watch --destroyed")
	}
	if g.source == "proc" {
		return usagef("watch --destroyed needs the kernel's destroy events, which --source proc excludes")
	}
	flt, opts, err := g.filterOptions(args)
	if err != nil {
		return err
	}
	if flt != nil && flt.NeedsHolders() {
		return usagef("watch --destroyed cannot filter by process: a freed socket has no holder left")
	}
	o.ls.apply(&opts, flt)
	ctx, cancel := context.WithCancel(ctx)
	evc, err := sockscope.WatchDestroyed(ctx)
	if err != nil {
		cancel()
		return err
	}
	defer func() {
		cancel()
		for range evc { // closed once the subscription is gone
		}
	}()
	g.endsOnInterrupt = o.count == 0
	st := g.style()
	if g.output == "table" && g.io.OutTTY {
		if _, err := io.WriteString(g.io.Out, render.DestroyedHeader); err != nil {
			return err
		}
	}
	n := 0
	var buf []byte
	for ev := range evc {
		s := &sockscope.Socket{Cookie: ev.Cookie, Family: ev.Family, Proto: ev.Proto, State: sockscope.Close,
			Local: ev.Local, Remote: ev.Remote, Interface: ev.Interface, UID: ev.UID}
		if !wanted(s, opts) || (flt != nil && !flt.Match(s)) {
			continue
		}
		buf = buf[:0]
		if g.output == "table" {
			buf = render.AppendDestroyedLine(buf, ev.Time, s, st)
		} else if buf, err = render.AppendWatchEventJSON(buf, render.WatchEvent{Time: ev.Time, Kind: render.EventRemoved, Source: render.SourceDestroy, Socket: s}); err != nil {
			return err
		}
		if _, err := g.io.Out.Write(buf); err != nil {
			return err
		}
		if n++; o.count > 0 && n >= o.count {
			return nil
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return fmt.Errorf("the kernel's destroy events stopped")
}

// wanted applies the protocol and family selection of opts.
func wanted(s *sockscope.Socket, opts sockscope.Options) bool {
	if len(opts.Protos) > 0 && !slices.Contains(opts.Protos, s.Proto) {
		return false
	}
	return len(opts.Families) == 0 || slices.Contains(opts.Families, s.Family)
}
