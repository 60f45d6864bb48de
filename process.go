package sockscope

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Process is a process seen during the holder scan. Comm and Cmdline are
// untrusted text: render them escaped.
type Process struct {
	PID     int
	PPID    int
	Comm    string
	Cmdline []string
	UID     uint32
	User    string
	// Cgroup is the process's cgroup v2 path ("0::" line of /proc/PID/cgroup).
	Cgroup string
	// NetNS is the inode of the process's network namespace.
	NetNS uint64
	// Unit is the systemd unit the process runs in ("nginx.service"),
	// from its cgroup; "" if none.
	Unit string
	// Container names the container the process runs in (its name where
	// the runtime's metadata is readable, else a 12-digit ID); "" if none.
	Container string
}

// Holder is one (process, file descriptor) that refers to a socket.
type Holder struct {
	Proc *Process
	FD   int
}

// PID returns the holding process's id.
func (h Holder) PID() int {
	if h.Proc == nil {
		return 0
	}
	return h.Proc.PID
}

// NetNS is a network namespace: an independent socket table.
type NetNS struct {
	// Inode is the namespace's inode (readlink /proc/PID/ns/net).
	Inode uint64
	// Name is a label for people: "host" for the initial namespace, the
	// `ip netns` name, or a container name where one is known.
	Name string
	// Container, Pod and Unit identify what runs in it, where known.
	Container string
	Pod       string
	Unit      string
	// PodNamespace and PodName are the Kubernetes namespace and name of
	// the pod whose UID is Pod, where the kubelet's pod log directories
	// (/var/log/pods/NAMESPACE_NAME_UID) are readable; "" otherwise.
	PodNamespace, PodName string
	// Runtime is the container runtime ("docker", "containerd", "cri-o",
	// "podman", "kubernetes", "lxc"), where known.
	Runtime string
	// Interfaces names, by ifindex, the devices this namespace's sockets
	// are bound to (Socket.Interface), read with the sockets; nil when
	// none is. Names are untrusted text. See [NetNS.InterfaceName].
	Interfaces map[uint32]string
	// Counters are its TCP listen counters, read when
	// [Options.NetCounters] asks for them; nil otherwise, or if they
	// could not be read (a warning says why).
	Counters *NetCounters
}

// ProcessesNamed returns the PIDs, ascending, of the processes whose comm
// (the name ps -o comm prints, at most 15 bytes) is name. procRoot ""
// means /proc. Processes that exit meanwhile are skipped.
func ProcessesNamed(procRoot, name string) ([]int, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "comm"))
		if err == nil && string(bytes.TrimSuffix(b, []byte("\n"))) == name {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids) // ReadDir sorts by name, not by number
	return pids, nil
}
