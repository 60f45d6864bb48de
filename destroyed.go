package sockscope

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/sockscope/sockscope/internal/sockdiag"
)

// DestroyEvent says that the kernel freed a socket: its last reference was
// dropped. It is not sent at close(2) while the socket lingers, and a TCP
// socket that enters TIME-WAIT is freed too, living on as a TIME-WAIT
// minisocket with the same cookie.
type DestroyEvent struct {
	// Cookie is the socket's cookie, as in Socket.Cookie.
	Cookie uint64
	// Proto is the socket's protocol as the event names it: TCP, UDP or
	// UDPLite.
	Proto Proto
	// Time is when sockscope received the event; the kernel sends it from
	// a work queue, a little after the free.
	Time time.Time
	// Family, Local, Remote, Interface and UID are the socket's as the
	// event reports them: what ss -E prints.
	Family        Family
	Local, Remote netip.AddrPort
	Interface     uint32
	UID           uint32
}

// WatchDestroyed subscribes to the kernel's socket destroy events for TCP
// and UDP over IPv4 and IPv6 in the caller's network namespace (no
// privilege needed) and sends them on the returned channel until ctx is
// done. The channel is closed once the subscription is closed, so a caller
// that drains it after cancelling ctx knows the kernel socket is gone.
//
// Events the kernel dropped because the receiver lagged (its queue
// overran) are not reported: a caller that must not miss a removal
// compares snapshots as well. Without destroy events (another OS, an old
// kernel) it returns an *OpError wrapping ErrNotSupported or the
// kernel's error.
func WatchDestroyed(ctx context.Context) (<-chan DestroyEvent, error) {
	ev, err := sockdiag.SubscribeDestroy()
	if err != nil {
		return nil, &OpError{Op: "watch destroy events", Err: err}
	}
	ch := make(chan DestroyEvent, 1024)
	// Close wakes a blocked Read once ctx is done.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = ev.Close()
		close(closed)
	})
	go func() {
		defer close(ch)
		defer func() {
			if stop() { // ctx not done: the reader ended on its own
				_ = ev.Close()
			} else {
				<-closed
			}
		}()
		for ctx.Err() == nil {
			err := ev.Read(func(r *sockdiag.InetRecord) error {
				e := DestroyEvent{Cookie: r.Cookie, Proto: protoOfIPProto(r.Protocol), Time: time.Now(), Family: Family(r.Family),
					Local: netip.AddrPortFrom(r.Src, r.SrcPort), Remote: netip.AddrPortFrom(r.Dst, r.DstPort), Interface: r.If, UID: r.UID}
				select {
				case ch <- e:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			if err != nil && !errors.Is(err, sockdiag.ErrEventsLost) {
				return
			}
		}
	}()
	return ch, nil
}

// protoOfIPProto maps an IP protocol number to a Proto.
func protoOfIPProto(p uint8) Proto {
	switch p {
	case 6:
		return TCP
	case 17:
		return UDP
	case 136:
		return UDPLite
	case 255:
		return Raw
	}
	return ProtoUnknown
}
