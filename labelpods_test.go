package sockscope

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLabelPods(t *testing.T) {
	root := t.TempDir()
	uid := "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
	if err := os.MkdirAll(filepath.Join(root, "var/log/pods", "shop_web-7d9f_"+uid), 0o755); err != nil {
		t.Fatal(err)
	}
	pod := &NetNS{Name: "pod:" + uid, Pod: uid}
	named := &NetNS{Name: "shop/web-7d9f", Container: "shop/web-7d9f", Pod: uid}
	unknown := &NetNS{Name: "pod:11111111-2222-3333-4444-555555555555", Pod: "11111111-2222-3333-4444-555555555555"}
	plain := &NetNS{Name: "netns:4026532000"}
	labelPods([]*NetNS{pod, named, unknown, plain}, root)
	if pod.Name != "shop/web-7d9f" || pod.PodNamespace != "shop" || pod.PodName != "web-7d9f" {
		t.Errorf("pod namespace = %+v, want named shop/web-7d9f", pod)
	}
	if named.Name != "shop/web-7d9f" || named.PodName != "web-7d9f" {
		t.Errorf("container-named namespace = %+v", named)
	}
	if unknown.Name != "pod:11111111-2222-3333-4444-555555555555" || unknown.PodName != "" {
		t.Errorf("unresolvable pod = %+v, want its UID kept", unknown)
	}
	if plain.Name != "netns:4026532000" || plain.PodName != "" {
		t.Errorf("no pod = %+v", plain)
	}
}
