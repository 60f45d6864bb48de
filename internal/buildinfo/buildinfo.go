// Package buildinfo says which sockscope this is: the release version,
// commit, build date and Go version, from the linker flags a release build
// sets and, failing those, from the build information the Go toolchain
// embeds in every binary.
//
// A release build sets the variables with -ldflags, as .goreleaser.yaml does:
//
//	go build -ldflags "-X github.com/sockscope/sockscope/internal/buildinfo.version=v1.2.3
//	  -X github.com/sockscope/sockscope/internal/buildinfo.commit=0123abc...
//	  -X github.com/sockscope/sockscope/internal/buildinfo.date=2026-01-02T15:04:05Z
//	  -X github.com/sockscope/sockscope/internal/buildinfo.dirty=false" ./cmd/sockscope
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Set by the linker (-X); empty when not given.
var (
	version string
	commit  string
	date    string
	dirty   string
)

// Info describes the running binary. Unknown fields are empty.
type Info struct {
	// Version is the release, such as "v1.2.3"; "devel" for a build from
	// a source tree that set none.
	Version string `json:"release"`
	// Commit is the full git commit hash the binary was built from.
	Commit string `json:"commit"`
	// Date is the commit's or the build's time, RFC 3339 in UTC.
	Date string `json:"build_date"`
	// GoVersion is the toolchain that built the binary ("go1.26.0").
	GoVersion string `json:"go_version"`
	// Dirty reports that the source tree had uncommitted changes.
	Dirty bool `json:"dirty"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// Get returns the running binary's build information.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return get(bi, version, commit, date, dirty)
}

// get merges the linker's values (which win) with the toolchain's build
// information bi, which may be nil.
func get(bi *debug.BuildInfo, ver, com, dat, dty string) Info {
	info := Info{Version: ver, Commit: com, Date: dat, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if d, err := strconv.ParseBool(dty); err == nil {
		info.Dirty = d
	}
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		// "go install module@v1.2.3" records the module's version;
		// a build in a source tree records "(devel)" or a pseudo-version.
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.time":
				if info.Date == "" {
					info.Date = s.Value
				}
			case "vcs.modified":
				if dty == "" {
					info.Dirty = s.Value == "true"
				}
			}
		}
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	return info
}

// String is the one line 'sockscope --version' prints after the name:
// "v1.2.3 (commit 0123abcdef01, built 2026-01-02T15:04:05Z, go1.26.0, linux/amd64)",
// with "dirty" among the details for a tree with uncommitted changes.
func (i Info) String() string {
	var details []string
	if i.Commit != "" {
		c := i.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		details = append(details, "commit "+c)
	}
	if i.Dirty {
		details = append(details, "dirty")
	}
	if i.Date != "" {
		details = append(details, "built "+i.Date)
	}
	details = append(details, i.GoVersion, i.Platform)
	return fmt.Sprintf("%s (%s)", i.Version, strings.Join(details, ", "))
}
