package sockscope

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sockscope/sockscope/internal/procnet"
	"github.com/sockscope/sockscope/internal/sockdiag"
)

// unixShow asks unix_diag for the name, peer, pending connections, queue
// lengths and owner.
const unixShow = 0x01 | 0x04 | 0x08 | 0x10 | 0x40

// readUnix reads the Unix sockets of the calling thread's namespace from
// conn, or from /proc/thread-self/net/unix when conn is nil or unix_diag
// is not built.
func (b *builder) readUnix(ctx context.Context, conn *sockdiag.Conn) error {
	emit := b.unixEmitter(ctx)
	if conn != nil {
		show := uint32(unixShow)
		if b.opts.Memory {
			show |= sockdiag.ShowMemInfo
		}
		err := conn.DumpUnix(sockdiag.UnixRequest{States: ^uint32(0), Show: show}, emit)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrNotSupported) {
			return fmt.Errorf("dump unix: %w", err)
		}
	}
	fs := procnet.FS{Root: filepath.Join(b.procRoot, "thread-self")}
	if err := fs.Unix(emit); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // no Unix sockets built in
		}
		return fmt.Errorf("read unix sockets: %w", err)
	}
	return nil
}

// unixEmitter returns the callback that adds each Unix record to b,
// checking ctx every ctxCheckEvery records.
func (b *builder) unixEmitter(ctx context.Context) func(*sockdiag.UnixRecord) error {
	n := 0
	return func(r *sockdiag.UnixRecord) error {
		if n++; n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b.addUnix(r)
		return nil
	}
}
