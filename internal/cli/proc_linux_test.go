package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockscope/sockscope/internal/nstest"
)

// procHelperEnv makes the test binary, re-executed, run procHelper instead
// of the tests.
const procHelperEnv = "SOCKSCOPE_PROC_HELPER"

// TestProcHelper is not a test: re-executed with procHelperEnv set to
// "thread" or "process", the test binary becomes a process holding a TCP
// listener in a private namespace (see startProcHelper).
func TestProcHelper(t *testing.T) {
	mode := os.Getenv(procHelperEnv)
	if mode == "" {
		t.Skip("helper process for TestProcFollowsNetNS")
	}
	if err := procHelper(mode); err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// procHelper listens on 127.0.0.1 in a private namespace and prints
// "ready INODE NETNS": the socket's inode and its namespace's inode; then
// waits for stdin to close. Mode "process": the whole process was started
// in a new namespace. Mode "thread": the socket is created by a thread that
// unshared its namespace and then returned to the host's, so that no
// thread of the process is in the socket's namespace any more.
func procHelper(mode string) error {
	runtime.LockOSThread()
	var orig int
	if mode == "thread" {
		var err error
		if orig, err = unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
			return err
		}
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return err
		}
	}
	if err := nstest.LoUp(); err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return err
	}
	if err := unix.Listen(fd, 1); err != nil {
		return err
	}
	if mode == "thread" {
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			return err
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	nsfd, err := unix.IoctlRetInt(fd, unix.SIOCGSKNS)
	if err != nil {
		return err
	}
	var nst unix.Stat_t
	if err := unix.Fstat(nsfd, &nst); err != nil {
		return err
	}
	unix.Close(nsfd)
	fmt.Printf("ready %d %d\n", st.Ino, nst.Ino)
	bufio.NewReader(os.Stdin).ReadString('\n') // until the test closes stdin
	return nil
}

// startProcHelper starts the helper in its own process group (in a new
// namespace for mode "process") and returns its PID, its socket's inode
// and that socket's namespace inode. The group is killed at cleanup.
func startProcHelper(t *testing.T, mode string) (pid int, sockIno, nsIno uint64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestProcHelper$")
	cmd.Env = append(os.Environ(), procHelperEnv+"="+mode)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if mode == "process" {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		var a, b uint64
		if _, err := fmt.Sscanf(s, "ready %d %d", &a, &b); err != nil {
			t.Fatalf("helper said %q", s)
		}
		return cmd.Process.Pid, a, b
	case <-time.After(20 * time.Second):
		t.Fatal("the helper did not start within 20s")
	}
	return 0, 0, 0
}

// TestProcFollowsNetNS (issue 9.3): `proc PID` run from the host follows
// the process into the namespaces its sockets live in and labels them:
// a process started in a private namespace, and a process whose only
// socket was made in a namespace that none of its threads is in any more
// (found through the socket itself).
func TestProcFollowsNetNS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating network namespaces and reading another namespace's sockets needs root")
	}
	for _, mode := range []string{"process", "thread"} {
		t.Run(mode, func(t *testing.T) {
			pid, sockIno, nsIno := startProcHelper(t, mode)
			code, out, errOut := runMain(t, "-o", "ndjson", "proc", strconv.Itoa(pid))
			if code != ExitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, errOut)
			}
			type rec struct {
				Inode uint64 `json:"inode"`
				State string `json:"state"`
				NetNS struct {
					Inode uint64 `json:"inode"`
					Name  string `json:"name"`
				} `json:"netns"`
				Holders []struct {
					PID int `json:"pid"`
				} `json:"holders"`
			}
			found := false
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				if l == "" {
					continue
				}
				var r rec
				if err := json.Unmarshal([]byte(l), &r); err != nil {
					t.Fatalf("bad NDJSON line %q: %v", l, err)
				}
				if r.Inode != sockIno {
					continue
				}
				found = true
				if want := "netns:" + strconv.FormatUint(nsIno, 10); r.NetNS.Inode != nsIno || r.NetNS.Name != want {
					t.Errorf("the helper's listener is in %+v, want net:[%d] labelled %s", r.NetNS, nsIno, want)
				}
				if len(r.Holders) != 1 || r.Holders[0].PID != pid {
					t.Errorf("holders %+v, want pid %d", r.Holders, pid)
				}
			}
			if !found {
				t.Errorf("proc %d does not show its listener (inode %d); stdout:\n%s\nstderr:\n%s", pid, sockIno, out, errOut)
			}
		})
	}
}
