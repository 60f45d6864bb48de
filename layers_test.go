package sockscope_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// layers lists, for every package of the module (by directory), the
// packages of the module its non-test files may import. It is the package
// graph of docs/architecture.md; keep the two together. A new package
// must be added here, in its layer.
var layers = map[string][]string{
	// Model and collection: the only packages that read the kernel.
	".":                 {"internal/sockdiag", "internal/procnet", "internal/holders", "internal/netns", "internal/bpfiter", "internal/oserr"},
	"internal/bpfiter":  nil,
	"internal/oserr":    nil,
	"internal/sockdiag": {"internal/oserr"},
	"internal/procnet":  {"internal/sockdiag", "internal/oserr"},
	"internal/holders":  {"internal/oserr"},
	"internal/netns":    {"internal/oserr"},
	"internal/loopback": nil,
	// sysenv reads what demux takes as input (sysctls, interfaces, the
	// hidden options of sockets) and fills demux's types.
	"internal/sysenv": {".", "demux", "internal/netns", "internal/oserr"},

	// Pure analysis: functions of a Snapshot.
	"query": {"."},
	"demux": {"."},
	"views": {"."},

	// Renderers.
	"render": {".", "demux", "views", "query", "internal/lab", "internal/buildinfo"},

	// Commands and their helpers.
	"internal/lab": {".", "demux", "internal/sysenv", "internal/loopback"},
	// servecfg describes the server to the command line without linking
	// it: only cmd/sockscope-serve links internal/server.
	"internal/servecfg":   {"."},
	"internal/server":     {".", "render", "views", "query", "demux", "internal/sysenv", "internal/buildinfo", "internal/servecfg"},
	"internal/cli":        {".", "query", "demux", "views", "render", "internal/servecfg", "internal/lab", "internal/sysenv", "internal/netns", "internal/buildinfo"},
	"cmd/sockscope":       {"internal/cli"},
	"cmd/sockscope-serve": {"internal/cli", "internal/server"},

	// Around the layers: build metadata, tools and test support.
	"internal/buildinfo":     nil,
	"internal/tools/gendocs": {"internal/cli"},
	"bench":                  {"internal/loopback"},
	"deploy":                 nil,
	"internal/nstest":        {"internal/loopback"},
	"internal/e2e":           nil,
}

// pure are the packages that must not make system calls themselves.
var pure = []string{"query", "demux", "views", "render"}

// TestLayers checks every package's imports against layers, and that the
// pure packages import neither syscall nor golang.org/x/sys/unix. It reads
// the source with go/parser, all build tags included.
func TestLayers(t *testing.T) {
	const module = "github.com/sockscope/sockscope"
	imports := map[string]map[string]bool{} // dir -> imported paths
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != "." {
				return filepath.SkipDir // a module of its own
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if imports[dir] == nil {
			imports[dir] = map[string]bool{}
		}
		for _, is := range f.Imports {
			p, err := strconv.Unquote(is.Path.Value)
			if err != nil {
				return err
			}
			imports[dir][p] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(imports) < 10 {
		t.Fatalf("found only %d packages: not run from the module root?", len(imports))
	}
	for dir, imps := range imports {
		allowed, ok := layers[dir]
		if !ok {
			t.Errorf("package %s is in no layer: add it to layers (layers_test.go) and to docs/architecture.md", dir)
			continue
		}
		for p := range imps {
			rel, ok := strings.CutPrefix(p, module)
			if !ok {
				if slices.Contains(pure, dir) && (p == "syscall" || p == "golang.org/x/sys/unix") {
					t.Errorf("%s imports %s: kernel access belongs in a collection package", dir, p)
				}
				continue
			}
			rel = strings.TrimPrefix(rel, "/")
			if rel == "" {
				rel = "."
			}
			if !slices.Contains(allowed, rel) {
				t.Errorf("%s imports %s, outside its layer (allowed: %v; see docs/architecture.md)", dir, p, allowed)
			}
		}
	}
}
