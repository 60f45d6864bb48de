package netns

import (
	"os"
	"path/filepath"
	"strings"
)

// kubeletPodLogs is where the kubelet makes one directory per pod,
// relative to the root: NAMESPACE_NAME_UID (the kubelet's
// BuildPodLogsDirectory). Namespace and pod names are DNS labels and
// subdomains, which cannot hold '_', so the name splits unambiguously.
const kubeletPodLogs = "var/log/pods"

// maxPodDirs bounds how many entries of the pod log directory PodNames
// reads: a node runs at most a few hundred pods.
const maxPodDirs = 1 << 14

// Pod is a Kubernetes pod's namespace and name.
type Pod struct {
	Namespace, Name string
}

// PodNames returns the pods the kubelet keeps logs for on this node, by
// UID, from the directory names under var/log/pods of root ("" means
// "/"). The directory is readable by root on a node (the DaemonSet mounts
// it read-only); an unreadable or missing directory gives an empty map,
// not an error: the names are decoration, never needed. Entries that are
// not NAMESPACE_NAME_UID with a UID as [ParseCgroup] reports one are
// skipped.
func PodNames(root string) map[string]Pod {
	if root == "" {
		root = "/"
	}
	out := map[string]Pod{}
	d, err := os.Open(filepath.Join(root, kubeletPodLogs))
	if err != nil {
		return out
	}
	defer d.Close()
	names, _ := d.Readdirnames(maxPodDirs)
	for _, n := range names {
		parts := strings.Split(n, "_")
		if len(parts) != 3 || !isDNSName(parts[0]) || !isDNSName(parts[1]) || !isUID(parts[2]) {
			continue
		}
		out[parts[2]] = Pod{Namespace: parts[0], Name: parts[1]}
	}
	return out
}

// isDNSName reports whether s is a DNS subdomain as Kubernetes names
// objects: 1 to 253 of [a-z0-9.-].
func isDNSName(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '.' {
			return false
		}
	}
	return true
}
