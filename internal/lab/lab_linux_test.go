package lab

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("read /proc/self/fd: %v", err)
	}
	return len(ents)
}

// checkReport checks one report as the kernel decided it: PASS, or SKIP
// with a reason, never FAIL.
func checkReport(t *testing.T, r Report, wantNS string) {
	t.Helper()
	if r.Result == Skip {
		last := r.Details[len(r.Details)-1]
		if !strings.HasPrefix(last, "SKIP: ") || len(last) < 12 {
			t.Fatalf("%s skipped without a reason: %q", r.Name, r.Details)
		}
		t.Logf("%s: %s", r.Name, last)
		return
	}
	if r.Result != Pass {
		t.Fatalf("%s: %s\n%s", r.Name, r.Result, strings.Join(r.Details, "\n"))
	}
	if r.Namespace != wantNS {
		t.Errorf("%s ran in the %q namespace, want %q", r.Name, r.Namespace, wantNS)
	}
	if len(r.Sockets) == 0 {
		t.Errorf("%s passed but shows no socket", r.Name)
	}
	for _, d := range r.Details {
		if strings.HasPrefix(d, "FAIL") || strings.Contains(d, "DISAGREES") {
			t.Errorf("%s passed with a failure line: %q", r.Name, d)
		}
	}
	t.Logf("%s: %s\n%s", r.Name, r.Result, strings.Join(r.Details, "\n"))
}

// TestExperiments runs every experiment where the test runs: in private
// namespaces as root, on the shared loopback otherwise. Each must pass.
func TestExperiments(t *testing.T) {
	want := Shared
	if os.Geteuid() == 0 {
		want = Private
	}
	// The runtime opens its poller's descriptors once, on first use: let
	// that happen before counting.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	w.Close()
	for _, e := range List() {
		t.Run(e.Name, func(t *testing.T) {
			before := openFDs(t)
			r := Run(context.Background(), e, Options{})
			checkReport(t, r, want)
			// The holder scan leaves a read that outlived its time to finish
			// on its own (internal/holders, "Races and hangs"); on a loaded
			// machine it may still hold a descriptor or two for a moment.
			// A leak is what stays open after such reads end.
			after := openFDs(t)
			for deadline := time.Now().Add(15 * time.Second); after > before && time.Now().Before(deadline); after = openFDs(t) {
				time.Sleep(20 * time.Millisecond)
			}
			if after > before {
				ents, _ := os.ReadDir("/proc/self/fd")
				var links []string
				for _, e := range ents {
					l, _ := os.Readlink("/proc/self/fd/" + e.Name())
					links = append(links, e.Name()+"->"+l)
				}
				t.Errorf("%s left %d file descriptors open: %v", e.Name, after-before, links)
			}
		})
	}
}

// TestExperimentsShared runs every experiment on the shared loopback, the
// path a normal user takes, also when the test runs as root.
func TestExperimentsShared(t *testing.T) {
	for _, e := range List() {
		t.Run(e.Name, func(t *testing.T) {
			checkReport(t, Run(context.Background(), e, Options{Shared: true}), Shared)
		})
	}
}

// TestCleanup checks that the Unix experiment's directory is gone after
// Run, and that a run out of time fails rather than hangs.
func TestCleanup(t *testing.T) {
	e, _ := Find("unix-no-port")
	r := Run(context.Background(), e, Options{})
	checkReport(t, r, r.Namespace)
	var path string
	for _, s := range r.Sockets {
		if strings.HasPrefix(s.Path, "/") {
			path = s.Path
		}
	}
	if path == "" {
		t.Fatalf("no path socket in the report: %v", r.Sockets)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s still exists after the experiment: %v", filepath.Dir(path), err)
	}
}

func TestTimeout(t *testing.T) {
	e, _ := Find("reuseport")
	start := time.Now()
	r := Run(context.Background(), e, Options{Timeout: time.Millisecond})
	if r.Result != Fail {
		t.Errorf("reuseport in 1ms: %s, want FAIL\n%s", r.Result, strings.Join(r.Details, "\n"))
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("reuseport in 1ms took %s", d)
	}
}
