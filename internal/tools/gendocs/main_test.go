package main

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockscope/sockscope/internal/cli"
)

// TestGenerate: every visible command gets a man page with its own
// synopsis, and each shell's completion script is written and registers
// the sockscope command.
func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	date := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	if err := generate(dir, date, false); err != nil {
		t.Fatal(err)
	}
	root := cli.Command()
	pages := 0
	for _, c := range append(root.Commands(), root) {
		if !c.IsAvailableCommand() && c != root {
			continue
		}
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
		b, err := os.ReadFile(filepath.Join(dir, "man", name))
		if err != nil {
			t.Errorf("no man page for %q: %v", c.CommandPath(), err)
			continue
		}
		pages++
		page := string(b)
		if !strings.HasPrefix(page, ".nh\n.TH \"SOCKSCOPE\" \"1\" \"Jan 2026\"") || !strings.Contains(page, ".SH SYNOPSIS") {
			t.Errorf("%s: no man header or synopsis:\n%.300s", name, page)
		}
	}
	if pages < 10 {
		t.Errorf("only %d man pages", pages)
	}
	for file, want := range map[string]string{
		"sockscope.bash": "__start_sockscope",
		"sockscope.zsh":  "#compdef sockscope",
		"sockscope.fish": "complete -c sockscope",
	} {
		b, err := os.ReadFile(filepath.Join(dir, "completions", file))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v, want it to contain %q", file, err, want)
		}
	}
}

// TestGenerateGzip: -gzip leaves only .1.gz pages, which decompress to the
// page.
func TestGenerateGzip(t *testing.T) {
	dir := t.TempDir()
	if err := generate(dir, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), true); err != nil {
		t.Fatal(err)
	}
	if plain, _ := filepath.Glob(filepath.Join(dir, "man", "*.1")); len(plain) != 0 {
		t.Errorf("uncompressed pages left: %q", plain)
	}
	f, err := os.Open(filepath.Join(dir, "man", "sockscope.1.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil || !strings.Contains(string(b), ".SH NAME\nsockscope - Show") {
		t.Errorf("sockscope.1.gz: %v\n%.200s", err, b)
	}
}

// TestPreformat: indented paragraphs of the help become Markdown code
// blocks, so that the man page keeps their columns; others are left as
// they are.
func TestPreformat(t *testing.T) {
	in := "Intro line.\n\n  a   one\n  bb  two\n\nText\n  with a trailing indent.\n\n"
	want := "Intro line.\n\n      a   one\n      bb  two\n\nText\n  with a trailing indent.\n\n"
	if got := preformatText(in); got != want {
		t.Errorf("preformatText:\n got %q\nwant %q", got, want)
	}
	dir := t.TempDir()
	if err := generate(dir, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "man", "sockscope-serve.1"))
	if err != nil {
		t.Fatal(err)
	}
	// The endpoint list is one preformatted block, its columns intact.
	page := string(b)
	i := strings.Index(page, "\n.EX\n")
	if i < 0 || !strings.Contains(page[i:], "/api/ports     the ports view") {
		t.Errorf("sockscope-serve.1: the endpoint list is not preformatted:\n%s", page)
	}
}
