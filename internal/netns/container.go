package netns

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxStateFile bounds how much of an engine's state file ContainerName
// reads. Files larger than that are treated as unreadable.
const maxStateFile = 16 << 20

// Where container engines keep their state, relative to the root.
const (
	dockerContainers     = "var/lib/docker/containers"
	containersStorage    = "var/lib/containers/storage/overlay-containers"
	containersRunStorage = "run/containers/storage/overlay-containers"
	containerdTasks      = "run/containerd/io.containerd.runtime.v2.task"
)

// OCI annotations that carry names, by the engine that sets them.
var (
	podNamespaceKeys = []string{"io.kubernetes.pod.namespace", "io.kubernetes.cri.sandbox-namespace"}
	podNameKeys      = []string{"io.kubernetes.pod.name", "io.kubernetes.cri.sandbox-name"}
	containerKeys    = []string{"nerdctl/name"}
)

// ContainerName returns, best effort, a name people know a container by:
//
//   - docker: the container name, from
//     var/lib/docker/containers/<id>/config.v2.json;
//   - podman: the first name in containers/storage's
//     var/lib/containers/storage/overlay-containers/containers.json;
//   - kubernetes: "NAMESPACE/POD", from the OCI annotations
//     (io.kubernetes.pod.* from CRI-O, io.kubernetes.cri.sandbox-* from
//     containerd) of the container's config.json under
//     run/containerd/io.containerd.runtime.v2.task/k8s.io/<id>/ or
//     run/containers/storage/overlay-containers/<id>/userdata/;
//   - containerd: the nerdctl/name annotation;
//   - lxc: the container name, which is already its ID.
//
// Paths are relative to root ("" means "/"), so tests and tools looking at
// a mounted host can point it elsewhere. Missing, unreadable or malformed
// files give "" without an error: the name is decoration, never needed.
// Only the named fields are decoded.
func ContainerName(root string, id Identity) string {
	if root == "" {
		root = "/"
	}
	if id.Runtime == RuntimeLXC {
		if strings.ContainsRune(id.ContainerID, '/') || id.ContainerID == "." || id.ContainerID == ".." {
			return ""
		}
		return id.ContainerID
	}
	cid := id.ContainerID
	if !isHexID(cid) { // also keeps the ID from escaping the directories below
		return ""
	}
	switch id.Runtime {
	case RuntimeDocker:
		var cfg struct{ Name string }
		if readJSON(filepath.Join(root, dockerContainers, cid, "config.v2.json"), &cfg) {
			return strings.TrimPrefix(cfg.Name, "/")
		}
	case RuntimePodman:
		var list []struct {
			ID    string   `json:"id"`
			Names []string `json:"names"`
		}
		if readJSON(filepath.Join(root, containersStorage, "containers.json"), &list) {
			for _, c := range list {
				if c.ID == cid && len(c.Names) > 0 {
					return c.Names[0]
				}
			}
		}
	case RuntimeKubernetes, RuntimeCRIO, RuntimeContainerd:
		for _, path := range ociConfigPaths(root, cid) {
			var cfg struct{ Annotations map[string]string }
			if !readJSON(path, &cfg) {
				continue
			}
			ns, pod := firstOf(cfg.Annotations, podNamespaceKeys), firstOf(cfg.Annotations, podNameKeys)
			if ns != "" && pod != "" {
				return ns + "/" + pod
			}
			if pod != "" {
				return pod
			}
			if name := firstOf(cfg.Annotations, containerKeys); name != "" {
				return name
			}
		}
	}
	return ""
}

// ociConfigPaths lists where the OCI config.json of container cid may be:
// containerd keeps one directory per containerd namespace ("k8s.io" for
// Kubernetes, "default" for nerdctl), CRI-O one userdata directory.
func ociConfigPaths(root, cid string) []string {
	paths := []string{filepath.Join(root, containerdTasks, "k8s.io", cid, "config.json")}
	if ents, err := os.ReadDir(filepath.Join(root, containerdTasks)); err == nil {
		for i, de := range ents {
			if i == 64 {
				break
			}
			if de.Name() != "k8s.io" {
				paths = append(paths, filepath.Join(root, containerdTasks, de.Name(), cid, "config.json"))
			}
		}
	}
	return append(paths,
		filepath.Join(root, containersRunStorage, cid, "userdata", "config.json"),
		filepath.Join(root, containersStorage, cid, "userdata", "config.json"))
}

func firstOf(m map[string]string, keys []string) string {
	for _, k := range keys {
		if v := m[k]; v != "" {
			return v
		}
	}
	return ""
}

// readJSON decodes the file at path into v, reporting success. Files over
// maxStateFile fail.
func readJSON(path string, v any) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateFile+1))
	if err != nil || len(data) > maxStateFile {
		return false
	}
	return json.Unmarshal(data, v) == nil
}
