//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sockscope/sockscope/internal/nstest"
)

// binary is the sockscope executable built by TestMain, in a directory any
// user can read so that it can be run unprivileged.
var binary string

// binaryEnv passes the built binary to the test binary re-run by
// nstest.IsolateMain or nstest.Isolate, so that it is not built again.
const binaryEnv = "SOCKSCOPE_E2E_BINARY"

// TestMain builds the binary, then runs the tests; as root they run in
// namespaces of their own (nstest.IsolateMain): the machine's other
// processes, namespaces and sockets are not part of any test.
func TestMain(m *testing.M) {
	if b := os.Getenv(binaryEnv); b != "" {
		binary = b
		os.Exit(nstest.IsolateMain(m))
	}
	dir, err := os.MkdirTemp("", "sockscope-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if err := os.Chmod(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		binary = filepath.Join(dir, "sockscope")
		gobin, err := exec.LookPath("go")
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: the go command builds the binary under test: %v\n", err)
			return 1
		}
		// sockscope-serve beside it, as packages install them: sockscope
		// serve runs it.
		for _, name := range []string{"sockscope", "sockscope-serve"} {
			cmd := exec.Command(gobin, "build", "-o", filepath.Join(dir, name), "github.com/sockscope/sockscope/cmd/"+name)
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "e2e: build %s: %v\n", name, err)
				return 1
			}
		}
		return nstest.IsolateMain(m, binaryEnv+"="+binary)
	}()
	os.Exit(code)
}

// result is one run of the binary.
type result struct {
	code     int
	out, err []byte
	took     time.Duration
}

// runAs runs the binary with args, as cred when not nil, bounded by limit.
func runAs(t *testing.T, cred *syscall.Credential, limit time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	start := time.Now()
	err := cmd.Run()
	r := result{out: out.Bytes(), err: errb.Bytes(), took: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("sockscope %q did not end within %v", args, limit)
	}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run sockscope %q: %v", args, err)
		}
		r.code = ee.ExitCode()
	}
	return r
}

func run(t *testing.T, args ...string) result {
	t.Helper()
	return runAs(t, nil, 30*time.Second, args...)
}

// jsonHolder and jsonSocket are the parts of the -o json document
// (docs/json.md) the tests look at.
type jsonHolder struct {
	PID     int      `json:"pid"`
	FD      int      `json:"fd"`
	Comm    string   `json:"comm"`
	Cmdline string   `json:"cmdline"`
	Argv    []string `json:"argv"`
}

type jsonSocket struct {
	Proto     string `json:"proto"`
	State     string `json:"state"`
	Path      string `json:"path"`
	Local     string `json:"local"`
	LocalPort int    `json:"local_port"`
	Inode     uint64 `json:"inode"`
	Cookie    uint64 `json:"cookie"`
	NetNS     *struct {
		Inode uint64 `json:"inode"`
	} `json:"netns"`
	Holders       []jsonHolder `json:"holders"`
	HoldersHidden bool         `json:"holders_hidden"`
}

type jsonDoc struct {
	Version  int          `json:"version"`
	Sockets  []jsonSocket `json:"sockets"`
	Warnings []struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"warnings"`
}

func decodeDoc(t *testing.T, b []byte) jsonDoc {
	t.Helper()
	if !json.Valid(b) {
		t.Fatalf("output is not valid JSON:\n%.2000s", b)
	}
	var d jsonDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("decode output: %v", err)
	}
	return d
}
