package netns

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPodNames(t *testing.T) {
	root := t.TempDir()
	logs := filepath.Join(root, kubeletPodLogs)
	for _, d := range []string{
		"kube-system_coredns-5d78c9869d-abcde_0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
		"default_web-0_11111111-2222-3333-4444-555555555555",
		"kube-system_etcd-node1_6c9f5e1d3a1b2c4d5e6f708192a3b4c5", // a static pod: a hash as UID
		"bad_name_with_parts_11111111-2222-3333-4444-555555555556",
		"Upper_case_11111111-2222-3333-4444-555555555557",
		"default_web-1_not-a-uid!",
		"plainfile",
	} {
		if err := os.MkdirAll(filepath.Join(logs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got := PodNames(root)
	want := map[string]Pod{
		"0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b": {"kube-system", "coredns-5d78c9869d-abcde"},
		"11111111-2222-3333-4444-555555555555": {"default", "web-0"},
		"6c9f5e1d3a1b2c4d5e6f708192a3b4c5":     {"kube-system", "etcd-node1"},
	}
	if len(got) != len(want) {
		t.Errorf("PodNames = %v, want %v", got, want)
	}
	for uid, p := range want {
		if got[uid] != p {
			t.Errorf("pod %s = %+v, want %+v", uid, got[uid], p)
		}
	}
	if m := PodNames(filepath.Join(root, "missing")); len(m) != 0 {
		t.Errorf("PodNames of a missing root = %v, want empty", m)
	}
}
