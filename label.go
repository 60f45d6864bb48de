package sockscope

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sockscope/sockscope/internal/netns"
)

// identify reads what a process's cgroup says about it: its systemd unit
// and container. The container's name comes from the runtime's metadata
// where readable, else the ID's first 12 digits.
func identify(cgroup string, names map[string]string) (unit, container, runtime, pod string) {
	id := netns.ParseCgroup(cgroup)
	unit = id.Unit
	if id.ContainerID == "" {
		return unit, "", id.Runtime, id.PodUID
	}
	name, ok := names[id.ContainerID]
	if !ok {
		name = netns.ContainerName("", id)
		if name == "" {
			name = id.ContainerID
			if len(name) > 12 {
				name = name[:12]
			}
		}
		names[id.ContainerID] = name
	}
	return unit, name, id.Runtime, id.PodUID
}

// readCgroup returns the cgroup v2 path of a process ("0::" line), or "".
func readCgroup(procRoot string, pid int) string {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			return rest
		}
	}
	return ""
}

// labelNetNS names a namespace after the container or unit its processes
// run in, when they all agree. pids are processes known to be in it.
func labelNetNS(ns *NetNS, procRoot string, pids []int, names map[string]string) {
	if ns.Name == "host" {
		return
	}
	var unit, container, runtime, pod string
	first := true
	for i, pid := range pids {
		if i == 8 {
			break // a few processes are enough to agree
		}
		u, c, r, p := identify(readCgroup(procRoot, pid), names)
		if first {
			unit, container, runtime, pod = u, c, r, p
			first = false
			continue
		}
		if u != unit {
			unit = ""
		}
		if c != container {
			// Several containers share a pod's namespace: keep the pod.
			container = ""
		}
		if p != pod {
			pod = ""
		}
	}
	ns.Unit, ns.Container, ns.Runtime, ns.Pod = unit, container, runtime, pod
	if strings.HasPrefix(ns.Name, "netns:") {
		switch {
		case container != "":
			ns.Name = container
		case pod != "":
			ns.Name = "pod:" + pod
		}
	}
}

// labelProcesses fills each process's unit and container from its cgroup,
// and labels namespaces that no process list named yet.
func labelProcesses(procs []Process, spaces []*NetNS, procRoot string, names map[string]string) {
	inNS := map[uint64][]int{}
	for i := range procs {
		p := &procs[i]
		p.Unit, p.Container, _, _ = identify(p.Cgroup, names)
		inNS[p.NetNS] = append(inNS[p.NetNS], p.PID)
	}
	for _, ns := range spaces {
		if ns.Container == "" && ns.Unit == "" {
			labelNetNS(ns, procRoot, inNS[ns.Inode], names)
		}
	}
}

// labelPods resolves the pod UIDs of namespaces to the pods' namespace
// and name from the kubelet's pod log directories under root ("" means
// "/"), read once and only if some namespace is a pod's. A namespace
// named "pod:UID" is renamed "NAMESPACE/NAME", as containers of a pod
// are (netns.ContainerName).
func labelPods(spaces []*NetNS, root string) {
	var pods map[string]netns.Pod
	for _, ns := range spaces {
		if ns.Pod == "" {
			continue
		}
		if pods == nil {
			pods = netns.PodNames(root)
		}
		p, ok := pods[ns.Pod]
		if !ok {
			continue
		}
		ns.PodNamespace, ns.PodName = p.Namespace, p.Name
		if ns.Name == "pod:"+ns.Pod {
			ns.Name = p.Namespace + "/" + p.Name
		}
	}
}
