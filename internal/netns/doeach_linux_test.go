//go:build linux

package netns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// threadNamespaces makes n namespaces, each held by a thread of this
// process (unshareThread), and returns them as List would.
func threadNamespaces(t *testing.T, n int) []NS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating network namespaces needs root")
	}
	var list []NS
	for range n {
		k, tid, release := unshareThread(t)
		t.Cleanup(release)
		list = append(list, NS{Inode: k.ino, Dev: k.dev, Path: fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), tid)})
	}
	return list
}

func TestDoEach(t *testing.T) {
	list := threadNamespaces(t, 7)
	own := mustStatNS(t, "/proc/self/ns/net")
	// A stale entry: the identity of list[0], the path of list[1].
	stale := list[0]
	stale.Path = list[1].Path
	list = append(list, stale)

	const workers = 3
	var busy [workers]atomic.Bool
	var mu sync.Mutex
	ranIn := map[int]key{}
	errs := DoEach(context.Background(), list, workers, func(w, i int) error {
		if w < 0 || w >= workers {
			return fmt.Errorf("worker %d out of range", w)
		}
		if !busy[w].CompareAndSwap(false, true) {
			return fmt.Errorf("worker %d ran two calls at once", w)
		}
		defer busy[w].Store(false)
		k, err := statNS(threadSelfNS())
		if err != nil {
			return err
		}
		mu.Lock()
		ranIn[i] = k
		mu.Unlock()
		if i == 2 {
			return errSentinel
		}
		return nil
	})
	if len(errs) != len(list) {
		t.Fatalf("%d errors for %d namespaces", len(errs), len(list))
	}
	for i, ns := range list[:7] {
		switch {
		case i == 2 && !errors.Is(errs[i], errSentinel):
			t.Errorf("index 2: error %v, want fn's", errs[i])
		case i != 2 && errs[i] != nil:
			t.Errorf("index %d: %v", i, errs[i])
		}
		if got := ranIn[i]; got != (key{ns.Dev, ns.Inode}) {
			t.Errorf("index %d: fn ran in net:[%d], want net:[%d]", i, got.ino, ns.Inode)
		}
	}
	if errs[7] == nil {
		t.Error("the stale entry (a path now leading elsewhere) was entered")
	}
	if _, ran := ranIn[7]; ran {
		t.Error("fn ran for the stale entry")
	}

	// The workers' threads went back: goroutines that are not locked run
	// in the process's namespace.
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if k, err := statNS(threadSelfNS()); err != nil || k != own {
				t.Errorf("an unlocked goroutine runs in net:[%d] (%v), want the process's net:[%d]", k.ino, err, own.ino)
			}
		})
	}
	wg.Wait()
}

var errSentinel = errors.New("from fn")

func TestDoEachCancelled(t *testing.T) {
	list := threadNamespaces(t, 4)
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	// One worker: cancelled during the second call, the last two are not
	// started.
	errs := DoEach(ctx, list, 1, func(w, i int) error {
		if calls.Add(1) == 2 {
			cancel()
		}
		return nil
	})
	if n := calls.Load(); n != 2 {
		t.Errorf("fn called %d times, want 2", n)
	}
	for i, err := range errs {
		if want := i >= 2; errors.Is(err, context.Canceled) != want {
			t.Errorf("index %d: error %v, want context.Canceled: %v", i, err, want)
		}
	}
}

func TestDoEachPanic(t *testing.T) {
	list := threadNamespaces(t, 2)
	defer func() {
		if v := recover(); v != "boom" {
			t.Errorf("recovered %v, want boom", v)
		}
	}()
	DoEach(context.Background(), list, 2, func(w, i int) error {
		if i == 1 {
			panic("boom")
		}
		return nil
	})
	t.Error("DoEach did not re-raise the panic")
}

func TestDoEachEmpty(t *testing.T) {
	if errs := DoEach(context.Background(), nil, 4, func(w, i int) error { return unix.EINVAL }); len(errs) != 0 {
		t.Errorf("DoEach(nil) = %v, want no errors", errs)
	}
}

// TestListContext: with a live context ListContext finds what List finds;
// with a cancelled one it returns no namespaces and the context's error
// last.
func TestListContext(t *testing.T) {
	list, _ := ListContext(context.Background(), "")
	own := mustStatNS(t, threadSelfNS())
	if _, ok := find(list, own); !ok {
		t.Errorf("ListContext does not list the caller's namespace net:[%d]", own.ino)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	list, errs := ListContext(ctx, "")
	if list != nil {
		t.Errorf("cancelled: %d namespaces, want none", len(list))
	}
	if len(errs) == 0 || !errors.Is(errs[len(errs)-1], context.Canceled) {
		t.Errorf("cancelled: errors %v, want context.Canceled last", errs)
	}
}

// TestStatNSNotNSFS: once a namespace file has been seen (and nsfs's
// device number noted), a file elsewhere is still refused as not a
// namespace.
func TestStatNSNotNSFS(t *testing.T) {
	if _, err := statNS(threadSelfNS()); err != nil {
		t.Fatal(err)
	}
	if nsfsDev.Load() == 0 {
		t.Fatal("nsfs's device number was not noted")
	}
	f := filepath.Join(t.TempDir(), "stale")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := statNS(f); !errors.Is(err, errNotNSFS) {
		t.Errorf("statNS(regular file) = %v, want errNotNSFS", err)
	}
}

// TestNameDirsOnce: a names directory that is a link to an earlier one is
// read once; one that does not exist is skipped.
func TestNameDirsOnce(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "run-netns")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "var-run-netns")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	saved := netnsDirs
	t.Cleanup(func() { netnsDirs = saved })
	netnsDirs = []string{filepath.Join(dir, "missing"), real, link}
	if got := nameDirs(); len(got) != 1 || got[0] != real {
		t.Errorf("nameDirs() = %v, want [%s]", got, real)
	}
}
