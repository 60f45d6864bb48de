package lab

import (
	"context"
	"os"
	"strings"
	"testing"
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
	for _, e := range List() {
		t.Run(e.Name, func(t *testing.T) {
			before := openFDs(t)
			r := Run(context.Background(), e, Options{})
			checkReport(t, r, want)
			if after := openFDs(t); after > before {
				t.Errorf("%s left %d file descriptors open", e.Name, after-before)
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
