package netns

import "strings"

// Runtime names reported in Identity.Runtime.
const (
	RuntimeDocker     = "docker"
	RuntimeContainerd = "containerd"
	RuntimeCRIO       = "cri-o"
	RuntimePodman     = "podman"
	RuntimeKubernetes = "kubernetes"
	RuntimeSystemd    = "systemd"
	RuntimeLXC        = "lxc"
)

// Identity is what a cgroup v2 path says about the workload a process
// belongs to. The zero Identity means "nothing recognisable" (for example
// the root cgroup "/", or a hand-made cgroupfs path).
type Identity struct {
	// Runtime is one of the Runtime* constants, or "" when unknown.
	// Kubernetes pods report RuntimeKubernetes whatever engine runs them.
	Runtime string
	// ContainerID is the engine's container ID (64 hex digits for docker,
	// containerd, CRI-O and podman) or the container name for LXC.
	ContainerID string
	// PodUID is the Kubernetes pod UID in its canonical dashed form.
	PodUID string
	// Unit is the innermost systemd unit (.service or .scope) on the path,
	// such as "nginx.service", "session-3.scope" or "docker-<id>.scope".
	Unit string
	// Slice is the innermost systemd slice on the path, such as
	// "system.slice" or "kubepods-burstable-pod<uid>.slice".
	Slice string
}

// maxCgroupComponents bounds the work ParseCgroup does on hostile input.
const maxCgroupComponents = 64

// scopePrefixes maps the prefix of a "<prefix>-<id>.scope" unit (or the
// middle field of a runc "slice:prefix:id" path) to a runtime. Longer
// prefixes come first so that "libpod-conmon" wins over "libpod".
var scopePrefixes = []struct {
	prefix  string
	runtime string
}{
	{"cri-containerd", RuntimeContainerd},
	{"libpod-conmon", RuntimePodman},
	{"crio-conmon", RuntimeCRIO},
	{"containerd", RuntimeContainerd},
	{"nerdctl", RuntimeContainerd},
	{"docker", RuntimeDocker},
	{"libpod", RuntimePodman},
	{"crio", RuntimeCRIO},
}

// ParseCgroup interprets a cgroup v2 path, the content of the "0::" line of
// /proc/PID/cgroup (a leading "0::" is accepted and dropped). It recognises:
//
//   - docker: /system.slice/docker-<id>.scope (systemd driver) and
//     /docker/<id> (cgroupfs driver);
//   - containerd: cri-containerd-<id>.scope, nerdctl-<id>.scope and the
//     mixed-driver form /system.slice/containerd.service/<slice>:cri-containerd:<id>;
//   - CRI-O: crio-<id>.scope;
//   - podman: libpod-<id>.scope under system or user slices (including the
//     "/container" sub-cgroup crun adds);
//   - Kubernetes pods: kubepods-<qos>-pod<uid>.slice (systemd driver, the
//     UID written with underscores) and /kubepods/<qos>/pod<uid>/<id>
//     (cgroupfs driver);
//   - LXC: /lxc/<name>, /lxc.payload.<name> and /lxc.payload/<name>;
//   - systemd services, scopes and user sessions.
//
// The innermost container on the path wins, so a pod inside a kind or
// minikube node container (/docker/<id>/kubepods/...) reports the pod.
// A container's monitor process (libpod-conmon-<id>.scope,
// crio-conmon-<id>.scope) reports the container's ID with the conmon unit
// in Unit; it runs outside the container's namespaces.
//
// ParseCgroup is pure and never fails: unknown input yields a zero or
// partial Identity.
func ParseCgroup(path string) Identity {
	path = strings.TrimSpace(path)
	path = strings.TrimPrefix(path, "0::")

	var (
		id       Identity
		comps    [maxCgroupComponents]string
		n        int
		inKube   bool // a kubepods component was seen (cgroupfs driver)
		inDocker bool // previous component was "docker"
		inLXC    bool // previous component was "lxc" or "lxc.payload"
	)
	for c := range strings.SplitSeq(path, "/") {
		if c == "" || c == "." || c == ".." {
			continue
		}
		if n == len(comps) {
			break
		}
		comps[n] = c
		n++
	}

	for _, c := range comps[:n] {
		prevDocker, prevLXC := inDocker, inLXC
		inDocker, inLXC = false, false

		switch {
		case strings.Contains(c, ":"):
			// runc's systemd path syntax leaking into a cgroupfs tree:
			// "kubepods-besteffort-pod<uid>.slice:cri-containerd:<id>".
			parts := strings.SplitN(c, ":", 3)
			if len(parts) == 3 {
				if strings.HasSuffix(parts[0], ".slice") {
					id.Slice = parts[0]
					if uid, ok := podUIDFromSlice(parts[0]); ok {
						id.enterPod(uid)
					}
				}
				if rt, ok := runtimeForPrefix(parts[1]); ok && isHexID(parts[2]) {
					id.Runtime, id.ContainerID = rt, parts[2]
				}
			}
		case strings.HasSuffix(c, ".slice"):
			id.Slice = c
			if uid, ok := podUIDFromSlice(c); ok {
				id.enterPod(uid)
			}
		case strings.HasSuffix(c, ".scope"):
			id.Unit = c
			name := strings.TrimSuffix(c, ".scope")
			if rt, cid, ok := containerFromScope(name); ok {
				id.Runtime, id.ContainerID = rt, cid
			}
		case strings.HasSuffix(c, ".service"):
			id.Unit = c
		case c == "kubepods":
			inKube = true
		case c == "docker":
			inDocker = true
		case c == "lxc" || c == "lxc.payload":
			inLXC = true
		case strings.HasPrefix(c, "lxc.payload.") && len(c) > len("lxc.payload."):
			id.Runtime, id.ContainerID = RuntimeLXC, strings.TrimPrefix(c, "lxc.payload.")
		case strings.HasPrefix(c, "lxc.monitor.") && len(c) > len("lxc.monitor."):
			id.Runtime, id.ContainerID = RuntimeLXC, strings.TrimPrefix(c, "lxc.monitor.")
		case prevLXC:
			id.Runtime, id.ContainerID = RuntimeLXC, c
		case prevDocker && isHexID(c) && len(c) == 64:
			id.Runtime, id.ContainerID = RuntimeDocker, c
		case inKube && strings.HasPrefix(c, "pod") && isUID(c[len("pod"):]):
			id.enterPod(c[len("pod"):])
		case inKube && id.PodUID != "" && isHexID(c) && len(c) == 64:
			id.ContainerID = c
		}
	}

	if id.PodUID != "" {
		id.Runtime = RuntimeKubernetes
	}
	if id.Runtime == "" && (id.Unit != "" || id.Slice != "") {
		id.Runtime = RuntimeSystemd
	}
	return id
}

// enterPod records a pod found on the path. A container seen further out
// (the node container of kind or minikube) does not belong to the pod.
func (id *Identity) enterPod(uid string) {
	id.PodUID = uid
	id.ContainerID = ""
	id.Runtime = ""
}

// containerFromScope recognises "<prefix>-<id>" scope names.
func containerFromScope(name string) (runtime, id string, ok bool) {
	for _, p := range scopePrefixes {
		rest, found := strings.CutPrefix(name, p.prefix+"-")
		if found && isHexID(rest) {
			return p.runtime, rest, true
		}
	}
	return "", "", false
}

func runtimeForPrefix(prefix string) (string, bool) {
	for _, p := range scopePrefixes {
		if p.prefix == prefix {
			return p.runtime, true
		}
	}
	return "", false
}

// podUIDFromSlice extracts the pod UID from a kubelet systemd slice name:
// kubepods-pod<uid>.slice or kubepods-<qos>-pod<uid>.slice, where the UID's
// dashes are written as underscores (systemd reserves '-' for hierarchy).
func podUIDFromSlice(slice string) (string, bool) {
	name, ok := strings.CutSuffix(slice, ".slice")
	if !ok || !strings.HasPrefix(name, "kubepods-") {
		return "", false
	}
	i := strings.LastIndex(name, "-pod")
	if i < 0 {
		return "", false
	}
	raw := name[i+len("-pod"):]
	if strings.Contains(raw, "-") {
		return "", false // the slice name escapes every dash as '_'
	}
	uid := strings.ReplaceAll(raw, "_", "-")
	if !isUID(uid) {
		return "", false
	}
	return uid, true
}

// isHexID reports whether s looks like a container ID: 12 to 64 lower-case
// hex digits.
func isHexID(s string) bool {
	if len(s) < 12 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isUID reports whether s looks like a pod UID: hex digits and dashes,
// 8 to 64 long. Static pods use a 32-digit hash without dashes.
func isUID(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && c != '-' {
			return false
		}
	}
	return true
}
