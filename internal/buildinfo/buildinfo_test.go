package buildinfo

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// TestGetMerges: the linker's values win over the toolchain's build
// information, which fills what they leave empty; "devel" only when
// neither names a version.
func TestGetMerges(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.99.1",
		Main:      debug.Module{Path: "github.com/sockscope/sockscope", Version: "v0.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "feedfacefeedfacefeedfacefeedfacefeedface"},
			{Key: "vcs.time", Value: "2026-01-02T15:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	got := get(bi, "", "", "", "")
	want := Info{Version: "v0.4.0", Commit: "feedfacefeedfacefeedfacefeedfacefeedface", Date: "2026-01-02T15:04:05Z",
		GoVersion: "go1.99.1", Dirty: true, Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if got != want {
		t.Errorf("build info only:\n got %+v\nwant %+v", got, want)
	}
	got = get(bi, "v1.2.3", "0123abc", "2027-03-04T05:06:07Z", "false")
	want.Version, want.Commit, want.Date, want.Dirty = "v1.2.3", "0123abc", "2027-03-04T05:06:07Z", false
	if got != want {
		t.Errorf("ldflags win:\n got %+v\nwant %+v", got, want)
	}
	bi.Main.Version = "(devel)"
	if got := get(bi, "", "", "", ""); got.Version != "devel" {
		t.Errorf("(devel) build: version %q, want devel", got.Version)
	}
	if got := get(nil, "", "", "", ""); got.Version != "devel" || got.GoVersion != runtime.Version() || got.Commit != "" {
		t.Errorf("no build info: %+v", got)
	}
}

// TestString: the --version line names what is known and marks a dirty tree.
func TestString(t *testing.T) {
	i := Info{Version: "v1.2.3", Commit: "0123456789abcdef", Date: "2026-01-02T15:04:05Z", GoVersion: "go1.26.0", Dirty: true, Platform: "linux/arm64"}
	if got, want := i.String(), "v1.2.3 (commit 0123456789ab, dirty, built 2026-01-02T15:04:05Z, go1.26.0, linux/arm64)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	i = Info{Version: "devel", GoVersion: "go1.26.0", Platform: "linux/amd64"}
	if got, want := i.String(), "devel (go1.26.0, linux/amd64)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestReleaseBinary builds the command with the linker flags a release
// sets (.goreleaser.yaml's ldflags) and checks that --version and
// 'version -o json' report them.
func TestReleaseBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the sockscope binary")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command on PATH: %v", err)
	}
	// The build needs the module and build caches; a user who cannot
	// use them (a test run as nobody) would build from nothing.
	for _, v := range []string{"GOMODCACHE", "GOCACHE"} {
		out, err := exec.Command(gobin, "env", v).Output()
		dir := strings.TrimSpace(string(out))
		if err != nil || dir == "" {
			t.Skipf("go env %s: %v", v, err)
		}
		if v == "GOMODCACHE" {
			if _, err := os.ReadDir(dir); err != nil {
				t.Skipf("the Go module cache is not readable by this user: %v", err)
			}
			continue
		}
		f, err := os.CreateTemp(dir, ".buildinfo-test-*")
		if err != nil {
			t.Skipf("the Go build cache is not writable by this user: %v", err)
		}
		f.Close()
		os.Remove(f.Name())
	}
	bin := filepath.Join(t.TempDir(), "sockscope")
	const pkg = "github.com/sockscope/sockscope/internal/buildinfo."
	ldflags := "-s -w -X " + pkg + "version=v7.8.9-test -X " + pkg + "commit=abcdef0123456789abcdef0123456789abcdef01 -X " +
		pkg + "date=2026-05-06T07:08:09Z -X " + pkg + "dirty=true"
	build := exec.Command(gobin, "build", "-trimpath", "-ldflags", ldflags, "-o", bin, "github.com/sockscope/sockscope/cmd/sockscope")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.WaitDelay = 10 * time.Second
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("sockscope %s: %v", strings.Join(args, " "), err)
		}
		return string(out)
	}
	want := "sockscope v7.8.9-test (commit abcdef012345, dirty, built 2026-05-06T07:08:09Z, " + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	if got := run("--version"); got != want {
		t.Errorf("--version = %q, want %q", got, want)
	}
	var doc struct {
		Version int `json:"version"`
		Info
	}
	out := run("version", "-o", "json")
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, out)
	}
	wantInfo := Info{Version: "v7.8.9-test", Commit: "abcdef0123456789abcdef0123456789abcdef01", Date: "2026-05-06T07:08:09Z",
		GoVersion: runtime.Version(), Dirty: true, Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if doc.Version != 1 || doc.Info != wantInfo {
		t.Errorf("version -o json = %s\nwant schema 1 and %+v", out, wantInfo)
	}
}
