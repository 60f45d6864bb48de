package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockscope/sockscope/internal/lab"
)

// complete runs cobra's hidden __complete command, as the shell scripts
// of 'sockscope completion' do on Tab, and returns the offered values
// (descriptions cut) and the directive line.
func complete(t *testing.T, args ...string) (values []string, directive string) {
	t.Helper()
	code, out, stderr := runArgs(context.Background(), append([]string{"__complete"}, args...)...)
	if code != ExitOK {
		t.Fatalf("__complete %q: exit %d, stderr %q", args, code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
		t.Fatalf("__complete %q: no directive line in %q", args, out)
	}
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		values = append(values, v)
	}
	return values, lines[len(lines)-1]
}

// Directives (cobra.ShellCompDirective) as __complete prints them.
const (
	dirDefault   = ":0"
	dirNoFileCmp = ":4"
)

// TestCompleteValues: -o, --source and lab offer exactly their valid
// values, filtered by what was typed, and never file names.
func TestCompleteValues(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"-o", ""}, []string{"table", "json", "ndjson"}},
		{[]string{"ls", "-o", "nd"}, []string{"ndjson"}},
		{[]string{"ls", "--output", ""}, []string{"table", "json", "ndjson"}},
		{[]string{"proc", "1", "--source", ""}, []string{"auto", "netlink", "proc"}},
		{[]string{"lab", ""}, lab.Names()},
		{[]string{"lab", "time"}, []string{"time-wait"}},
		{[]string{"lab", "zzz-none"}, nil},
	} {
		got, dir := complete(t, tt.args...)
		if !slices.Equal(got, tt.want) || dir != dirNoFileCmp {
			t.Errorf("__complete %q = %q %s, want %q %s", tt.args, got, dir, tt.want, dirNoFileCmp)
		}
	}
	// Each experiment's claim comes with its name, and names already
	// given are not offered again.
	_, out, _ := runArgs(context.Background(), "__complete", "lab", "shared-port", "")
	if strings.Contains(out, "shared-port\t") || !strings.Contains(out, "time-wait\tTIME-WAIT blocks a rebind") {
		t.Errorf("__complete lab shared-port '': %q", out)
	}
	// The command names are still completed.
	if got, _ := complete(t, "vers"); !slices.Equal(got, []string{"version"}) {
		t.Errorf("__complete vers = %q, want [version]", got)
	}
}

// TestCompleteProc: proc offers the names of running processes, this
// test's own among them, and only for the first argument.
func TestCompleteProc(t *testing.T) {
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	comm := strings.TrimSuffix(string(b), "\n")
	prefix := comm[:min(3, len(comm))]
	got, dir := complete(t, "proc", prefix)
	if !slices.Contains(got, comm) || dir != dirNoFileCmp {
		t.Errorf("__complete proc %q = %q %s, want %q among them", prefix, got, dir, comm)
	}
	for _, v := range got {
		if !strings.HasPrefix(v, prefix) {
			t.Errorf("__complete proc %q offers %q", prefix, v)
		}
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("__complete proc %q: not sorted and unique: %q", prefix, got)
	}
	if got, _ := complete(t, "proc", comm, ""); len(got) != 0 {
		t.Errorf("__complete proc NAME '' = %q, want nothing (proc takes one argument)", got)
	}
}

// TestCompleteProcHostileName: a process whose name (comm, taken from its
// executable's file name) holds an escape sequence is not offered, while
// its well-named sibling is.
func TestCompleteProcHostileName(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command")
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Skipf("read %s: %v", sleep, err)
	}
	prefix := fmt.Sprintf("q%05d", os.Getpid()%100000)
	good, bad := prefix+"ok", prefix+"\x1b[7m"
	dir := t.TempDir()
	for _, name := range []string{good, bad} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(path, "60")
		if err := cmd.Start(); err != nil {
			t.Skipf("run a copy of sleep from %s: %v", dir, err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		// comm is set by execve; wait until the child has run it.
		comm := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "comm")
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if c, _ := os.ReadFile(comm); strings.TrimSuffix(string(c), "\n") == name {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: comm never became %q", comm, name)
			}
		}
	}
	if got, _ := complete(t, "proc", prefix); !slices.Equal(got, []string{good}) {
		t.Errorf("__complete proc %q = %q, want only %q", prefix, got, good)
	}
}

// TestCompletePort: port offers the ports that have a listener, here a
// TCP listener and a bound UDP socket this test opens, described by their
// protocol, and not a port that only a connection uses.
func TestCompletePort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tcpPort := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	udpPort := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
	clientPort := strconv.Itoa(conn.LocalAddr().(*net.TCPAddr).Port)

	_, out, _ := runArgs(context.Background(), "__complete", "port", "")
	lines := strings.Split(out, "\n")
	for _, want := range []string{tcpPort + "\ttcp", udpPort + "\tudp"} {
		if !slices.ContainsFunc(lines, func(l string) bool { return l == want || strings.HasPrefix(l, want+",") }) {
			t.Errorf("__complete port '': no line %q in\n%s", want, out)
		}
	}
	// (Another process may have bound UDP on the same number; a TCP
	// listener cannot share it with the connection.)
	if slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, clientPort+"\t") && strings.Contains(l, "tcp") }) {
		t.Errorf("__complete port '' offers %s as tcp, a connection's local port", clientPort)
	}
	got, dir := complete(t, "port", tcpPort[:2])
	if !slices.Contains(got, tcpPort) || dir != dirNoFileCmp {
		t.Errorf("__complete port %q = %q %s, want %s among them", tcpPort[:2], got, dir, tcpPort)
	}
	for _, v := range got {
		if !strings.HasPrefix(v, tcpPort[:2]) {
			t.Errorf("__complete port %q offers %q", tcpPort[:2], v)
		}
	}
	if got, _ := complete(t, "port", tcpPort, ""); len(got) != 0 {
		t.Errorf("__complete port N '' = %q, want nothing", got)
	}
}

// TestCompleteNetNS: --netns offers the `ip netns` names, here one this
// test creates; with no name matching, the shell falls back to file names
// (a namespace may be a path).
func TestCompleteNetNS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating a named network namespace needs root")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("no ip command")
	}
	name := fmt.Sprintf("sockscope-compl-%d", os.Getpid())
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(ip, "netns", "del", name).Run() })
	got, dir := complete(t, "ls", "--netns", name[:len(name)-1])
	if !slices.Contains(got, name) || dir != dirDefault {
		t.Errorf("__complete ls --netns %q = %q %s, want %q and file fallback %s", name[:len(name)-1], got, dir, name, dirDefault)
	}
	if got, dir := complete(t, "--netns", name+"-none"); len(got) != 0 || dir != dirDefault {
		t.Errorf("__complete --netns (no match) = %q %s, want none and %s", got, dir, dirDefault)
	}
}

// TestCompletable: values the completion protocol cannot carry, or that
// would reach the terminal raw (a control or bidirectional character,
// invalid UTF-8, which a process may put in its own name), are left out.
func TestCompletable(t *testing.T) {
	got := completable([]string{"nginx", "ng\tx", "ng\nevil", "ng\x1b[31m", "ng\u202eevil", "ng\xff", "", "sshd", "ng inx"}, "ng")
	if want := []string{"nginx", "ng inx"}; !slices.Equal(got, want) {
		t.Errorf("completable = %q, want %q", got, want)
	}
}

// TestVersionCommand: version prints the build's fields; -o json is the
// schema-1 document with the release beside; --version is one line.
func TestVersionCommand(t *testing.T) {
	code, out, stderr := runArgs(context.Background(), "version")
	if code != ExitOK || !strings.Contains(out, "version:") || !strings.Contains(out, "go:         go1.") || stderr != "" {
		t.Errorf("version: exit %d, out %q, stderr %q", code, out, stderr)
	}
	code, out, _ = runArgs(context.Background(), "version", "-o", "json")
	if code != ExitOK || !strings.HasPrefix(out, `{"version":1,"release":"`) || !strings.Contains(out, `"go_version":"go1.`) {
		t.Errorf("version -o json: exit %d, out %q", code, out)
	}
	code, out, _ = runArgs(context.Background(), "--version")
	if code != ExitOK || !strings.HasPrefix(out, "sockscope ") || strings.Count(out, "\n") != 1 {
		t.Errorf("--version: exit %d, out %q", code, out)
	}
	if code, _, stderr := runArgs(context.Background(), "version", "extra"); code != ExitUsage || !strings.Contains(stderr, "usage: sockscope version") {
		t.Errorf("version extra: exit %d, stderr %q", code, stderr)
	}
}
