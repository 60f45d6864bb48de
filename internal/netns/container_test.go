package netns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFixture creates files (relative path -> content) under a new root.
func writeFixture(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, content := range files {
		path := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestContainerName(t *testing.T) {
	const (
		cid3 = "0e768f8db752fcd648adb264498daa1d8f31562320e881d6a9ec593d24b1f779"
		cid4 = "15b6e0c6490cad17fcf69eb837794349b4df96f84ba96c6be9828fe281c055a9"
		cid5 = "d2617be168c47e448bd733adcce18d2fd332c90ecfb5945a69b2b66df95e7bad"
	)
	root := writeFixture(t, map[string]string{
		// docker: config.v2.json has many fields; only Name is read.
		"var/lib/docker/containers/" + cid1 + "/config.v2.json": `{"StreamConfig":{},"State":{"Running":true,"Pid":4242},"ID":"` + cid1 + `","Name":"/web","Config":{"Hostname":"9ec39b91f3d7","Labels":{"a":"b"}}}`,
		"var/lib/docker/containers/" + cid2 + "/config.v2.json": `{"Name": 42}`,
		// podman: containers/storage's list of containers.
		"var/lib/containers/storage/overlay-containers/containers.json": `[{"id":"` + cid2 + `","names":["db"],"image":"x","layer":"y","metadata":"{}","created":"2024-01-01T00:00:00Z"},{"id":"` + cid3 + `","names":[]}]`,
		// kubernetes via containerd.
		"run/containerd/io.containerd.runtime.v2.task/k8s.io/" + cid1 + "/config.json": `{"ociVersion":"1.1.0","process":{"args":["nginx"]},"annotations":{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.sandbox-name":"nginx-7c5ddbdf54-x2x9q","io.kubernetes.cri.sandbox-namespace":"default","io.kubernetes.cri.container-name":"nginx"}}`,
		// kubernetes via CRI-O.
		"run/containers/storage/overlay-containers/" + cid4 + "/userdata/config.json": `{"ociVersion":"1.0.2","annotations":{"io.kubernetes.pod.name":"coredns-5d78c9869d-abcde","io.kubernetes.pod.namespace":"kube-system","io.kubernetes.container.name":"coredns"}}`,
		// nerdctl under containerd's "default" namespace.
		"run/containerd/io.containerd.runtime.v2.task/default/" + cid5 + "/config.json": `{"annotations":{"nerdctl/name":"cache","nerdctl/namespace":"default"}}`,
		// broken JSON.
		"run/containerd/io.containerd.runtime.v2.task/k8s.io/" + cid3 + "/config.json": `{"annotations":`,
	})

	tests := []struct {
		name string
		id   Identity
		want string
	}{
		{"docker", Identity{Runtime: RuntimeDocker, ContainerID: cid1}, "web"},
		{"docker wrong type", Identity{Runtime: RuntimeDocker, ContainerID: cid2}, ""},
		{"docker missing", Identity{Runtime: RuntimeDocker, ContainerID: cid3}, ""},
		{"podman", Identity{Runtime: RuntimePodman, ContainerID: cid2}, "db"},
		{"podman no names", Identity{Runtime: RuntimePodman, ContainerID: cid3}, ""},
		{"podman unknown", Identity{Runtime: RuntimePodman, ContainerID: cid1}, ""},
		{"kubernetes containerd", Identity{Runtime: RuntimeKubernetes, ContainerID: cid1, PodUID: podUID}, "default/nginx-7c5ddbdf54-x2x9q"},
		{"kubernetes cri-o", Identity{Runtime: RuntimeKubernetes, ContainerID: cid4, PodUID: podUID}, "kube-system/coredns-5d78c9869d-abcde"},
		{"kubernetes broken json", Identity{Runtime: RuntimeKubernetes, ContainerID: cid3}, ""},
		{"kubernetes pod only", Identity{Runtime: RuntimeKubernetes, PodUID: podUID}, ""},
		{"nerdctl", Identity{Runtime: RuntimeContainerd, ContainerID: cid5}, "cache"},
		{"lxc", Identity{Runtime: RuntimeLXC, ContainerID: "web01"}, "web01"},
		{"lxc traversal", Identity{Runtime: RuntimeLXC, ContainerID: "../x"}, ""},
		{"traversal id", Identity{Runtime: RuntimeDocker, ContainerID: "../../../../etc"}, ""},
		{"systemd", Identity{Runtime: RuntimeSystemd, Unit: "nginx.service"}, ""},
		{"zero", Identity{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ContainerName(root, tt.id); got != tt.want {
				t.Errorf("ContainerName(%+v) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}

	t.Run("missing root", func(t *testing.T) {
		if got := ContainerName(filepath.Join(root, "nope"), Identity{Runtime: RuntimeDocker, ContainerID: cid1}); got != "" {
			t.Errorf("ContainerName(missing root) = %q, want empty", got)
		}
	})
	t.Run("parsed identity end to end", func(t *testing.T) {
		id := ParseCgroup("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + podUS + ".slice/crio-" + cid4 + ".scope")
		if got, want := ContainerName(root, id), "kube-system/coredns-5d78c9869d-abcde"; got != want {
			t.Errorf("ContainerName(ParseCgroup(...)) = %q, want %q", got, want)
		}
	})
}

func TestContainerNameOversized(t *testing.T) {
	big := `{"Name":"/x","Pad":"` + strings.Repeat("a", maxStateFile) + `"}`
	root := writeFixture(t, map[string]string{
		"var/lib/docker/containers/" + cid1 + "/config.v2.json": big,
	})
	if got := ContainerName(root, Identity{Runtime: RuntimeDocker, ContainerID: cid1}); got != "" {
		t.Errorf("ContainerName(oversized file) = %q, want empty", got)
	}
}
