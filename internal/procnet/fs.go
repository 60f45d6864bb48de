package procnet

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sockscope/sockscope/internal/sockdiag"
)

// FS reads /proc/net tables under a proc root. The zero value reads /proc.
// An FS is a plain value and safe for concurrent use.
type FS struct {
	// Root is the procfs mount point; "" means "/proc". Tests point it at a
	// fixture tree. To read another namespace's view without setns, use
	// "/proc/PID"; after setns on a locked thread, "/proc/thread-self"
	// (or pass "thread-self/net/tcp" to Inet).
	Root string
}

// path joins file to the root, refusing paths that leave it.
func (fs FS) path(file string) (string, error) {
	if !filepath.IsLocal(file) {
		return "", fmt.Errorf("procnet: path %q is not inside the proc root", file)
	}
	root := fs.Root
	if root == "" {
		root = "/proc"
	}
	return filepath.Join(root, file), nil
}

// Inet reads the inet table file, a path relative to the root such as
// "net/tcp", "net/udp6", "net/udplite", "net/raw6", "self/net/tcp" or
// "thread-self/net/tcp", and calls fn for each socket as ParseInet does.
// family and protocol describe the file; they are not guessed from its name.
//
// Use "thread-self/net/..." from a goroutine that has setns'd its locked OS
// thread into another network namespace: "net/..." and "self/net/..." show
// the thread-group leader's namespace (docs/kernel.md N3).
//
// A missing file (IPv6 or the protocol not built in) gives an error for which
// errors.Is(err, fs.ErrNotExist) holds. Errors from fn are returned wrapped
// with the file path.
func (fs FS) Inet(file string, family, protocol uint8, fn func(*sockdiag.InetRecord) error) error {
	p, err := fs.path(file)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("procnet: %w", err)
	}
	defer f.Close()
	if err := ParseInet(f, family, protocol, fn); err != nil {
		return fmt.Errorf("procnet: %s: %w", p, err)
	}
	return nil
}

// Unix reads net/unix under the root and calls fn for each socket as
// ParseUnix does. With Root "/proc/thread-self" it reads the calling
// thread's namespace. Errors from fn are returned wrapped with the file path.
func (fs FS) Unix(fn func(*sockdiag.UnixRecord) error) error {
	p, err := fs.path("net/unix")
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("procnet: %w", err)
	}
	defer f.Close()
	if err := ParseUnix(f, fn); err != nil {
		return fmt.Errorf("procnet: %s: %w", p, err)
	}
	return nil
}
