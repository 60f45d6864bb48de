package netns_test

import (
	"fmt"

	"github.com/sockscope/sockscope/internal/netns"
)

func ExampleParseCgroup() {
	id := netns.ParseCgroup("0::/kubepods.slice/kubepods-burstable.slice/" +
		"kubepods-burstable-pod0c3a4b5e_1f2d_4c6b_9a8e_7d6c5b4a3f21.slice/" +
		"cri-containerd-2b9f0a8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a.scope")
	fmt.Println(id.Runtime)
	fmt.Println(id.PodUID)
	fmt.Println(id.ContainerID[:12])

	svc := netns.ParseCgroup("/system.slice/nginx.service")
	fmt.Println(svc.Runtime, svc.Unit, svc.Slice)
	// Output:
	// kubernetes
	// 0c3a4b5e-1f2d-4c6b-9a8e-7d6c5b4a3f21
	// 2b9f0a8c7d6e
	// systemd nginx.service system.slice
}
