// Command gendocs writes sockscope's man pages (section 1, one per
// command) and its bash, zsh and fish completion scripts, generated from
// the cobra commands, so that they are never out of step with --help. It
// is a separate program so that the man page generator stays out of the
// sockscope binary. The release build runs it (see docs/release.md):
//
//	go run ./internal/tools/gendocs -out build/docs -gzip
//
// writes build/docs/man/sockscope*.1.gz and build/docs/completions/sockscope.{bash,zsh,fish}.
package main

import (
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/sockscope/sockscope/internal/cli"
)

func main() {
	out := flag.String("out", "build/docs", "directory to write man/ and completions/ into")
	gz := flag.Bool("gzip", false, "compress the man pages (sockscope.1.gz), as distributions install them")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "gendocs: unexpected argument %q: the only option is -out DIR\n", flag.Arg(0))
		os.Exit(2)
	}
	if err := generate(*out, sourceDate(), *gz); err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
}

// sourceDate is the date printed in the man pages: SOURCE_DATE_EPOCH when
// set (reproducible builds), else now.
func sourceDate() time.Time {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		var sec int64
		if _, err := fmt.Sscan(s, &sec); err == nil {
			return time.Unix(sec, 0).UTC()
		}
	}
	return time.Now().UTC()
}

// generate writes the man pages, compressed if gz, and the completion
// scripts under dir.
func generate(dir string, date time.Time, gz bool) error {
	root := cli.Command()
	root.DisableAutoGenTag = true
	preformat(root)
	manDir := filepath.Join(dir, "man")
	compDir := filepath.Join(dir, "completions")
	for _, d := range []string{manDir, compDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	hdr := &doc.GenManHeader{Title: "SOCKSCOPE", Section: "1", Source: "sockscope", Manual: "sockscope manual", Date: &date}
	if err := doc.GenManTree(root, hdr, manDir); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	if gz {
		if err := gzipAll(manDir, "*.1"); err != nil {
			return fmt.Errorf("man pages: %w", err)
		}
	}
	for _, sh := range []struct {
		file string
		gen  func(*cobra.Command, string) error
	}{
		{"sockscope.bash", func(c *cobra.Command, p string) error { return c.GenBashCompletionFileV2(p, true) }},
		{"sockscope.zsh", (*cobra.Command).GenZshCompletionFile},
		{"sockscope.fish", func(c *cobra.Command, p string) error { return c.GenFishCompletionFile(p, true) }},
	} {
		if err := sh.gen(root, filepath.Join(compDir, sh.file)); err != nil {
			return fmt.Errorf("completion %s: %w", sh.file, err)
		}
	}
	return nil
}

// preformat marks the indented blocks of each command's long help (lists
// of terms, aligned columns) as preformatted for the man page: the help is
// read as Markdown there, where an indent of less than four spaces is no
// code block and the block would be reflowed into one paragraph.
func preformat(c *cobra.Command) {
	c.Long = preformatText(c.Long)
	for _, sub := range c.Commands() {
		preformat(sub)
	}
}

// preformatText indents by four more spaces every paragraph (lines between
// blank lines) whose lines all begin with a space.
func preformatText(text string) string {
	paras := strings.Split(text, "\n\n")
	for i, p := range paras {
		lines := strings.Split(p, "\n")
		indented := p != ""
		for _, l := range lines {
			if !strings.HasPrefix(l, " ") {
				indented = false
			}
		}
		if indented {
			paras[i] = "    " + strings.Join(lines, "\n    ")
		}
	}
	return strings.Join(paras, "\n\n")
}

// gzipAll replaces each file in dir matching pattern by FILE.gz, with no
// name or time in the gzip header so that the output is reproducible.
func gzipAll(dir, pattern string) error {
	files, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		return err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		out, err := os.Create(f + ".gz")
		if err != nil {
			return err
		}
		zw, _ := gzip.NewWriterLevel(out, gzip.BestCompression)
		_, werr := zw.Write(b)
		cerr := zw.Close()
		if err := errors.Join(werr, cerr, out.Close()); err != nil {
			return fmt.Errorf("compress %s: %w", f, err)
		}
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	return nil
}
