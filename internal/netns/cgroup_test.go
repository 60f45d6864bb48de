package netns

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Container IDs and pod UIDs in the shapes the engines produce.
const (
	cid1   = "9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d"
	cid2   = "c9221977805f3c2cc36a769e949df63a2b66dc3ebfc160fed46e1955e6275f4a"
	podUID = "c8bad552-5c99-4d4f-b71c-c426c0cde014"
	podUS  = "c8bad552_5c99_4d4f_b71c_c426c0cde014" // as written in systemd slice names
)

func TestParseCgroup(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Identity
	}{
		{"root", "/", Identity{}},
		{"empty", "", Identity{}},
		{"init", "/init.scope", Identity{Runtime: RuntimeSystemd, Unit: "init.scope"}},
		{"systemd service", "/system.slice/nginx.service",
			Identity{Runtime: RuntimeSystemd, Unit: "nginx.service", Slice: "system.slice"}},
		{"with 0:: prefix", "0::/system.slice/nginx.service\n",
			Identity{Runtime: RuntimeSystemd, Unit: "nginx.service", Slice: "system.slice"}},
		{"templated service", "/system.slice/system-getty.slice/getty@tty1.service",
			Identity{Runtime: RuntimeSystemd, Unit: "getty@tty1.service", Slice: "system-getty.slice"}},
		{"user session", "/user.slice/user-1000.slice/session-3.scope",
			Identity{Runtime: RuntimeSystemd, Unit: "session-3.scope", Slice: "user-1000.slice"}},
		{"user manager", "/user.slice/user-1000.slice/user@1000.service/init.scope",
			Identity{Runtime: RuntimeSystemd, Unit: "init.scope", Slice: "user-1000.slice"}},
		{"user service", "/user.slice/user-1000.slice/user@1000.service/app.slice/pipewire.service",
			Identity{Runtime: RuntimeSystemd, Unit: "pipewire.service", Slice: "app.slice"}},
		{"docker systemd driver", "/system.slice/docker-" + cid1 + ".scope",
			Identity{Runtime: RuntimeDocker, ContainerID: cid1, Unit: "docker-" + cid1 + ".scope", Slice: "system.slice"}},
		{"docker cgroupfs driver", "/docker/" + cid1,
			Identity{Runtime: RuntimeDocker, ContainerID: cid1}},
		{"docker buildkit is not a container id", "/docker/buildkit", Identity{}},
		{"dockerd itself", "/system.slice/docker.service",
			Identity{Runtime: RuntimeSystemd, Unit: "docker.service", Slice: "system.slice"}},
		{"containerd daemon", "/system.slice/containerd.service",
			Identity{Runtime: RuntimeSystemd, Unit: "containerd.service", Slice: "system.slice"}},
		{"containerd cri scope", "/system.slice/cri-containerd-" + cid1 + ".scope",
			Identity{Runtime: RuntimeContainerd, ContainerID: cid1, Unit: "cri-containerd-" + cid1 + ".scope", Slice: "system.slice"}},
		{"nerdctl", "/system.slice/nerdctl-" + cid1 + ".scope",
			Identity{Runtime: RuntimeContainerd, ContainerID: cid1, Unit: "nerdctl-" + cid1 + ".scope", Slice: "system.slice"}},
		{"containerd mixed drivers, pod", "/system.slice/containerd.service/kubepods-burstable-pod" + podUS + ".slice:cri-containerd:" + cid2,
			Identity{Runtime: RuntimeKubernetes, ContainerID: cid2, PodUID: podUID, Unit: "containerd.service", Slice: "kubepods-burstable-pod" + podUS + ".slice"}},
		{"containerd mixed drivers, plain slice", "/system.slice/containerd.service/system.slice:cri-containerd:" + cid2,
			Identity{Runtime: RuntimeContainerd, ContainerID: cid2, Unit: "containerd.service", Slice: "system.slice"}},
		{"cri-o", "/system.slice/crio-" + cid1 + ".scope",
			Identity{Runtime: RuntimeCRIO, ContainerID: cid1, Unit: "crio-" + cid1 + ".scope", Slice: "system.slice"}},
		{"cri-o conmon", "/system.slice/crio-conmon-" + cid1 + ".scope",
			Identity{Runtime: RuntimeCRIO, ContainerID: cid1, Unit: "crio-conmon-" + cid1 + ".scope", Slice: "system.slice"}},
		{"podman rootful", "/machine.slice/libpod-" + cid1 + ".scope/container",
			Identity{Runtime: RuntimePodman, ContainerID: cid1, Unit: "libpod-" + cid1 + ".scope", Slice: "machine.slice"}},
		{"podman conmon", "/machine.slice/libpod-conmon-" + cid1 + ".scope",
			Identity{Runtime: RuntimePodman, ContainerID: cid1, Unit: "libpod-conmon-" + cid1 + ".scope", Slice: "machine.slice"}},
		{"podman rootless", "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + cid1 + ".scope",
			Identity{Runtime: RuntimePodman, ContainerID: cid1, Unit: "libpod-" + cid1 + ".scope", Slice: "user.slice"}},
		{"podman pod", "/user.slice/user-1000.slice/user@1000.service/user.slice/user-libpod_pod_" + cid2 + ".slice/libpod-" + cid1 + ".scope/container",
			Identity{Runtime: RuntimePodman, ContainerID: cid1, Unit: "libpod-" + cid1 + ".scope", Slice: "user-libpod_pod_" + cid2 + ".slice"}},
		{"kubernetes systemd burstable containerd", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUS + ".slice/cri-containerd-" + cid1 + ".scope",
			Identity{Runtime: RuntimeKubernetes, ContainerID: cid1, PodUID: podUID, Unit: "cri-containerd-" + cid1 + ".scope", Slice: "kubepods-burstable-pod" + podUS + ".slice"}},
		{"kubernetes systemd besteffort cri-o", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + podUS + ".slice/crio-" + cid1 + ".scope",
			Identity{Runtime: RuntimeKubernetes, ContainerID: cid1, PodUID: podUID, Unit: "crio-" + cid1 + ".scope", Slice: "kubepods-besteffort-pod" + podUS + ".slice"}},
		{"kubernetes systemd guaranteed docker", "/kubepods.slice/kubepods-pod" + podUS + ".slice/docker-" + cid1 + ".scope",
			Identity{Runtime: RuntimeKubernetes, ContainerID: cid1, PodUID: podUID, Unit: "docker-" + cid1 + ".scope", Slice: "kubepods-pod" + podUS + ".slice"}},
		{"kubernetes pod slice only", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUS + ".slice",
			Identity{Runtime: RuntimeKubernetes, PodUID: podUID, Slice: "kubepods-burstable-pod" + podUS + ".slice"}},
		{"kubernetes qos slice only", "/kubepods.slice/kubepods-burstable.slice",
			Identity{Runtime: RuntimeSystemd, Slice: "kubepods-burstable.slice"}},
		{"kubernetes cgroupfs burstable", "/kubepods/burstable/pod" + podUID + "/" + cid1,
			Identity{Runtime: RuntimeKubernetes, ContainerID: cid1, PodUID: podUID}},
		{"kubernetes cgroupfs guaranteed", "/kubepods/pod" + podUID + "/" + cid1,
			Identity{Runtime: RuntimeKubernetes, ContainerID: cid1, PodUID: podUID}},
		{"kubernetes static pod hash uid", "/kubepods/burstable/pod1864dd0546310be9937c37cf88024cb8/" + cid1,
			Identity{Runtime: RuntimeKubernetes, ContainerID: cid1, PodUID: "1864dd0546310be9937c37cf88024cb8"}},
		{"kind node: pod inside docker", "/docker/" + cid2 + "/kubepods/besteffort/pod" + podUID + "/" + cid1,
			Identity{Runtime: RuntimeKubernetes, ContainerID: cid1, PodUID: podUID}},
		{"kind node: pod level only", "/docker/" + cid2 + "/kubepods/besteffort/pod" + podUID,
			Identity{Runtime: RuntimeKubernetes, PodUID: podUID}},
		{"lxc classic", "/lxc/web01", Identity{Runtime: RuntimeLXC, ContainerID: "web01"}},
		{"lxc payload v2", "/lxc.payload.web01/system.slice/nginx.service",
			Identity{Runtime: RuntimeLXC, ContainerID: "web01", Unit: "nginx.service", Slice: "system.slice"}},
		{"lxc payload dir", "/lxc.payload/web01", Identity{Runtime: RuntimeLXC, ContainerID: "web01"}},
		{"lxc monitor", "/lxc.monitor.web01", Identity{Runtime: RuntimeLXC, ContainerID: "web01"}},
		{"cgroup namespace relative", "/../../system.slice/nginx.service",
			Identity{Runtime: RuntimeSystemd, Unit: "nginx.service", Slice: "system.slice"}},
		{"short hex scope is not an id", "/system.slice/docker-abc.scope",
			Identity{Runtime: RuntimeSystemd, Unit: "docker-abc.scope", Slice: "system.slice"}},
		{"upper-case hex is not an id", "/system.slice/docker-" + strings.ToUpper(cid1) + ".scope",
			Identity{Runtime: RuntimeSystemd, Unit: "docker-" + strings.ToUpper(cid1) + ".scope", Slice: "system.slice"}},
		{"bad pod uid", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podXYZ.slice",
			Identity{Runtime: RuntimeSystemd, Slice: "kubepods-burstable-podXYZ.slice"}},
		{"plain cgroupfs path", "/mygroup/sub", Identity{}},
		{"colon garbage", "/a:b", Identity{}},
		{"lxc with nothing after", "/lxc", Identity{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseCgroup(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseCgroup(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			// Purity: the same input gives the same answer.
			if again := ParseCgroup(tt.in); again != got {
				t.Errorf("ParseCgroup(%q) not deterministic: %+v then %+v", tt.in, got, again)
			}
		})
	}
}

func TestParseCgroupBounded(t *testing.T) {
	// A very deep path is cut at maxCgroupComponents; what lies beyond it
	// is not looked at.
	deep := strings.Repeat("/x", maxCgroupComponents) + "/docker-" + cid1 + ".scope"
	if got := ParseCgroup(deep); got != (Identity{}) {
		t.Errorf("ParseCgroup(deep) = %+v, want zero", got)
	}
}

func FuzzParseCgroup(f *testing.F) {
	seeds := []string{
		"/", "0::/", "/system.slice/nginx.service",
		"/system.slice/docker-" + cid1 + ".scope",
		"/docker/" + cid1,
		"/system.slice/containerd.service/kubepods-burstable-pod" + podUS + ".slice:cri-containerd:" + cid2,
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUS + ".slice/crio-" + cid1 + ".scope",
		"/kubepods/burstable/pod" + podUID + "/" + cid1,
		"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + cid1 + ".scope/container",
		"/lxc.payload.c1", "/lxc/", "::::", "/a.slice:b:c", "/kubepods-pod.slice",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		id := ParseCgroup(in)
		if id.ContainerID != "" && id.Runtime == "" {
			t.Errorf("ParseCgroup(%q) = %+v: container without runtime", in, id)
		}
		if id.PodUID != "" && id.Runtime != RuntimeKubernetes {
			t.Errorf("ParseCgroup(%q) = %+v: pod without kubernetes runtime", in, id)
		}
		for _, s := range []string{id.ContainerID, id.PodUID, id.Unit, id.Slice} {
			if s != "" && !strings.Contains(in, s) && !strings.Contains(in, strings.ReplaceAll(s, "-", "_")) {
				t.Errorf("ParseCgroup(%q) = %+v: field %q not taken from the input", in, id, s)
			}
		}
	})
}

func BenchmarkParseCgroup(b *testing.B) {
	in := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUS + ".slice/cri-containerd-" + cid1 + ".scope"
	b.ReportAllocs()
	for b.Loop() {
		_ = ParseCgroup(in)
	}
}
