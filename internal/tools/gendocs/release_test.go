package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v2"
)

// goreleaser is the part of .goreleaser.yaml the release test reads.
type goreleaser struct {
	Before struct {
		Hooks []string `yaml:"hooks"`
	} `yaml:"before"`
	Builds []struct {
		Main    string   `yaml:"main"`
		Env     []string `yaml:"env"`
		Goos    []string `yaml:"goos"`
		Goarch  []string `yaml:"goarch"`
		Ldflags []string `yaml:"ldflags"`
	} `yaml:"builds"`
	Nfpms []struct {
		Formats  []string `yaml:"formats"`
		Contents []struct {
			Src      string `yaml:"src"`
			Dst      string `yaml:"dst"`
			Packager string `yaml:"packager"`
		} `yaml:"contents"`
	} `yaml:"nfpms"`
}

// TestReleaseConfig: .goreleaser.yaml runs this program as its before hook,
// and the packages' files are ones it writes, installed where each shell
// and man look; the builds (sockscope and sockscope-serve) are static
// linux/amd64 and arm64; every -X flag
// there and in the Dockerfile names a variable internal/buildinfo has (a
// misspelt -X is silently ignored by the linker).
func TestReleaseConfig(t *testing.T) {
	b, err := os.ReadFile("../../../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg goreleaser
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	const hook = "go run ./internal/tools/gendocs -out build/docs -gzip"
	if !slices.Contains(cfg.Before.Hooks, hook) {
		t.Errorf("before hooks %q, want %q", cfg.Before.Hooks, hook)
	}
	// sockscope, and sockscope-serve (which serve runs from beside it),
	// built alike (the second through a YAML merge of the first).
	if len(cfg.Builds) != 2 {
		t.Fatalf("%d builds, want 2", len(cfg.Builds))
	}
	for i, main := range []string{"./cmd/sockscope", "./cmd/sockscope-serve"} {
		bd := cfg.Builds[i]
		if bd.Main != main || !slices.Contains(bd.Env, "CGO_ENABLED=0") ||
			!slices.Equal(bd.Goos, []string{"linux"}) || !slices.Equal(bd.Goarch, []string{"amd64", "arm64"}) ||
			!slices.Equal(bd.Ldflags, cfg.Builds[0].Ldflags) {
			t.Errorf("build %+v: want %s, CGO_ENABLED=0, linux amd64 and arm64, the first build's ldflags", bd, main)
		}
	}
	bd := cfg.Builds[0]

	// -X flags name buildinfo's variables.
	src, err := os.ReadFile("../../buildinfo/buildinfo.go")
	if err != nil {
		t.Fatal(err)
	}
	docker, err := os.ReadFile("../../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	xflag := regexp.MustCompile(`-X github\.com/sockscope/sockscope/internal/buildinfo\.([a-zA-Z]+)=`)
	for name, text := range map[string]string{".goreleaser.yaml": strings.Join(bd.Ldflags, " "), "Dockerfile": string(docker)} {
		vars := xflag.FindAllStringSubmatch(text, -1)
		if len(vars) == 0 {
			t.Errorf("%s sets no buildinfo variable", name)
		}
		for _, v := range vars {
			if !regexp.MustCompile(`(?m)^\s+` + v[1] + `\s+string$`).Match(src) {
				t.Errorf("%s: -X ...buildinfo.%s: internal/buildinfo has no string variable %s", name, v[1], v[1])
			}
		}
	}

	// The packages' sources are what this program writes.
	dir := t.TempDir()
	if err := generate(filepath.Join(dir, "build/docs"), time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), true); err != nil {
		t.Fatal(err)
	}
	wantDst := map[string]bool{
		"/usr/share/man/man1/":                                false,
		"/usr/share/bash-completion/completions/sockscope":    false,
		"/usr/share/zsh/vendor-completions/_sockscope":        false,
		"/usr/share/zsh/site-functions/_sockscope":            false,
		"/usr/share/fish/vendor_completions.d/sockscope.fish": false,
	}
	if len(cfg.Nfpms) != 1 || !slices.Equal(cfg.Nfpms[0].Formats, []string{"deb", "rpm"}) {
		t.Fatalf("nfpms %+v: want one, building deb and rpm", cfg.Nfpms)
	}
	for _, c := range cfg.Nfpms[0].Contents {
		if _, ok := wantDst[c.Dst]; ok {
			wantDst[c.Dst] = true
		}
		if !strings.HasPrefix(c.Src, "build/docs/") {
			continue
		}
		m, err := filepath.Glob(filepath.Join(dir, c.Src))
		if err != nil || len(m) == 0 {
			t.Errorf("package file %s -> %s: gendocs writes no such file", c.Src, c.Dst)
		}
	}
	for dst, ok := range wantDst {
		if !ok {
			t.Errorf("the packages install nothing at %s", dst)
		}
	}
}
