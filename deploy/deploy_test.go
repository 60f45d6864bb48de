package deploy

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v2"

	"github.com/sockscope/sockscope/internal/cli"
)

// The parts of the manifests the tests look at.
type (
	meta struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	}
	probe struct {
		HTTPGet *struct {
			Path string `yaml:"path"`
			Port string `yaml:"port"`
		} `yaml:"httpGet"`
	}
	container struct {
		Name  string   `yaml:"name"`
		Image string   `yaml:"image"`
		Args  []string `yaml:"args"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		ReadinessProbe *probe `yaml:"readinessProbe"`
		LivenessProbe  *probe `yaml:"livenessProbe"`
		Resources      struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		SecurityContext struct {
			RunAsUser                *int  `yaml:"runAsUser"`
			Privileged               *bool `yaml:"privileged"`
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
			Capabilities             struct {
				Drop []string `yaml:"drop"`
				Add  []string `yaml:"add"`
			} `yaml:"capabilities"`
		} `yaml:"securityContext"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
			ReadOnly  bool   `yaml:"readOnly"`
		} `yaml:"volumeMounts"`
	}
	daemonSet struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   meta   `yaml:"metadata"`
		Spec       struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Template struct {
				Metadata meta `yaml:"metadata"`
				Spec     struct {
					ServiceAccountName           string      `yaml:"serviceAccountName"`
					AutomountServiceAccountToken *bool       `yaml:"automountServiceAccountToken"`
					HostPID                      bool        `yaml:"hostPID"`
					HostNetwork                  bool        `yaml:"hostNetwork"`
					Containers                   []container `yaml:"containers"`
					Volumes                      []struct {
						Name     string `yaml:"name"`
						HostPath *struct {
							Path string `yaml:"path"`
						} `yaml:"hostPath"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	service struct {
		Kind     string `yaml:"kind"`
		Metadata meta   `yaml:"metadata"`
		Spec     struct {
			Selector map[string]string `yaml:"selector"`
			Ports    []struct {
				Name       string `yaml:"name"`
				Port       int    `yaml:"port"`
				TargetPort string `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	serviceMonitor struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   meta   `yaml:"metadata"`
		Spec       struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Endpoints []struct {
				Port string `yaml:"port"`
				Path string `yaml:"path"`
			} `yaml:"endpoints"`
		} `yaml:"spec"`
	}
	kustomization struct {
		Resources          []string `yaml:"resources"`
		ConfigMapGenerator []struct {
			Files []string `yaml:"files"`
		} `yaml:"configMapGenerator"`
	}
)

const dir = "kubernetes"

// load decodes one manifest; a file must hold one YAML document.
func load(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// theDaemonSet returns the DaemonSet and its one container.
func theDaemonSet(t *testing.T) (*daemonSet, *container) {
	t.Helper()
	var ds daemonSet
	load(t, "daemonset.yaml", &ds)
	if ds.Kind != "DaemonSet" || ds.APIVersion != "apps/v1" || len(ds.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("daemonset.yaml: %s %s with %d containers, want one apps/v1 DaemonSet container", ds.APIVersion, ds.Kind, len(ds.Spec.Template.Spec.Containers))
	}
	return &ds, &ds.Spec.Template.Spec.Containers[0]
}

// TestManifestsParse: every YAML file parses into objects with a kind and
// a name, the kustomization lists every manifest (and only existing
// files), and the dashboard is JSON.
func TestManifestsParse(t *testing.T) {
	var k kustomization
	load(t, "kustomization.yaml", &k)
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var manifests []string
	for _, f := range files {
		name := filepath.Base(f)
		if name == "kustomization.yaml" {
			continue
		}
		manifests = append(manifests, name)
		b, _ := os.ReadFile(f)
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		var obj struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Metadata   meta   `yaml:"metadata"`
		}
		if err := dec.Decode(&obj); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if obj.APIVersion == "" || obj.Kind == "" || obj.Metadata.Name == "" {
			t.Errorf("%s: apiVersion %q kind %q name %q: all are needed", name, obj.APIVersion, obj.Kind, obj.Metadata.Name)
		}
		if obj.Kind != "Namespace" && obj.Metadata.Namespace != "sockscope" {
			t.Errorf("%s: namespace %q, want sockscope", name, obj.Metadata.Namespace)
		}
		if err := dec.Decode(&obj); err == nil {
			t.Errorf("%s: more than one document", name)
		}
	}
	slices.Sort(manifests)
	res := slices.Sorted(slices.Values(k.Resources))
	if !slices.Equal(manifests, res) {
		t.Errorf("kustomization resources %q, want every manifest %q", res, manifests)
	}
	for _, g := range k.ConfigMapGenerator {
		for _, f := range g.Files {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Errorf("configMapGenerator: %v", err)
			} else if !json.Valid(b) {
				t.Errorf("%s: not valid JSON", f)
			}
		}
	}
}

// TestManifestsAgree: the Service selects the DaemonSet's pods and targets
// its named port; the ServiceMonitor selects the Service and scrapes that
// port's /metrics; the pods use the ServiceAccount, without a token.
func TestManifestsAgree(t *testing.T) {
	ds, c := theDaemonSet(t)
	podLabels := ds.Spec.Template.Metadata.Labels
	subset := func(sel, labels map[string]string) bool {
		for k, v := range sel {
			if labels[k] != v {
				return false
			}
		}
		return len(sel) > 0
	}
	if !subset(ds.Spec.Selector.MatchLabels, podLabels) {
		t.Errorf("DaemonSet selector %v does not select its pods %v", ds.Spec.Selector.MatchLabels, podLabels)
	}
	var svc service
	load(t, "service.yaml", &svc)
	if !subset(svc.Spec.Selector, podLabels) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, podLabels)
	}
	if len(c.Ports) != 1 || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort != c.Ports[0].Name || svc.Spec.Ports[0].Port != c.Ports[0].ContainerPort {
		t.Errorf("Service ports %+v do not target the container's %+v", svc.Spec.Ports, c.Ports)
	}
	var sm serviceMonitor
	load(t, "servicemonitor.yaml", &sm)
	if sm.Kind != "ServiceMonitor" || sm.APIVersion != "monitoring.coreos.com/v1" || !subset(sm.Spec.Selector.MatchLabels, svc.Metadata.Labels) {
		t.Errorf("ServiceMonitor %s %s selector %v does not select the Service's labels %v", sm.APIVersion, sm.Kind, sm.Spec.Selector.MatchLabels, svc.Metadata.Labels)
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %+v, want port %q path /metrics", sm.Spec.Endpoints, svc.Spec.Ports[0].Name)
	}
	var sa struct {
		Kind                         string `yaml:"kind"`
		Metadata                     meta   `yaml:"metadata"`
		AutomountServiceAccountToken *bool  `yaml:"automountServiceAccountToken"`
	}
	load(t, "serviceaccount.yaml", &sa)
	spec := ds.Spec.Template.Spec
	if sa.Kind != "ServiceAccount" || spec.ServiceAccountName != sa.Metadata.Name ||
		spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("pods use service account %q (token %v), want %q without a token", spec.ServiceAccountName, spec.AutomountServiceAccountToken, sa.Metadata.Name)
	}
	if c.Resources.Limits["memory"] == "" || c.Resources.Limits["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Requests["cpu"] == "" {
		t.Errorf("resources %+v: want cpu and memory requests and limits", c.Resources)
	}
}

// TestArgsAreServeFlags: the DaemonSet's command line is one the serve
// command accepts, for every namespace and with holders.
func TestArgsAreServeFlags(t *testing.T) {
	_, c := theDaemonSet(t)
	root := cli.Command()
	cmd, rest, err := root.Find(c.Args)
	if err != nil || cmd.Name() != "serve" {
		t.Fatalf("args %q: command %q, %v; want serve", c.Args, cmd.Name(), err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("args %q: %v", c.Args, err)
	}
	if got := cmd.Flags().Lookup("listen").Value.String(); !strings.HasSuffix(got, ":9464") || got != "0.0.0.0:9464" {
		t.Errorf("--listen %q, want 0.0.0.0:9464 (the pod IP)", got)
	}
	if got := cmd.Flags().Lookup("all-netns").Value.String(); got != "true" {
		t.Errorf("--all-netns %s: a node's view needs every namespace", got)
	}
	if got := cmd.Flags().Lookup("metrics-holders").Value.String(); got != "true" {
		t.Errorf("--metrics-holders %s: the dashboard's sockets per process need it", got)
	}
	if a := cmd.Flags().Args(); len(a) != 0 {
		t.Errorf("args %q: serve takes no arguments, got %q", c.Args, a)
	}
}

// grants reads the table of what the DaemonSet grants from
// docs/security.md: capabilities, read-only mounts and hostPID.
func grants(t *testing.T) (caps, mounts []string, hostPID bool) {
	t.Helper()
	b, err := os.ReadFile("../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	capRow := regexp.MustCompile("^\\| capability `([A-Z_]+)` \\|")
	mountRow := regexp.MustCompile("^\\| read-only mount `(/[^`]+)` \\|")
	for _, line := range strings.Split(string(b), "\n") {
		if m := capRow.FindStringSubmatch(line); m != nil {
			caps = append(caps, m[1])
		}
		if m := mountRow.FindStringSubmatch(line); m != nil {
			mounts = append(mounts, m[1])
		}
		if strings.HasPrefix(line, "| `hostPID: true` |") {
			hostPID = true
		}
	}
	slices.Sort(caps)
	slices.Sort(mounts)
	return caps, mounts, hostPID
}

// TestPrivilegesMatchSecurityDoc: the DaemonSet adds exactly the
// capabilities and read-only host mounts docs/security.md lists for it,
// drops every other capability and cannot gain more; those capabilities
// are the ones the doc's feature table names (CAP_*), and each mounted
// path is one the code reads.
func TestPrivilegesMatchSecurityDoc(t *testing.T) {
	ds, c := theDaemonSet(t)
	docCaps, docMounts, docHostPID := grants(t)
	if len(docCaps) == 0 || len(docMounts) == 0 {
		t.Fatalf("docs/security.md: no capability or mount rows found (caps %q, mounts %q)", docCaps, docMounts)
	}
	sc := c.SecurityContext
	added := slices.Sorted(slices.Values(sc.Capabilities.Add))
	if !slices.Equal(added, docCaps) {
		t.Errorf("DaemonSet adds capabilities %q, docs/security.md lists %q", added, docCaps)
	}
	if !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
		t.Errorf("capabilities drop %q, want [ALL]", sc.Capabilities.Drop)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Privileged == nil || *sc.Privileged ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("securityContext %+v: want allowPrivilegeEscalation false, privileged false, readOnlyRootFilesystem true", sc)
	}
	spec := ds.Spec.Template.Spec
	if spec.HostPID != docHostPID || !spec.HostPID || spec.HostNetwork {
		t.Errorf("hostPID %v hostNetwork %v; docs/security.md: hostPID %v and no hostNetwork", spec.HostPID, spec.HostNetwork, docHostPID)
	}

	// Every hostPath volume is mounted read-only at its own path.
	hostPaths := map[string]string{}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = v.HostPath.Path
		}
	}
	var mounted []string
	for _, m := range c.VolumeMounts {
		hp, ok := hostPaths[m.Name]
		if !ok {
			continue
		}
		if !m.ReadOnly || m.MountPath != hp {
			t.Errorf("volume %q: host %s mounted at %s readOnly %v; want read-only at the same path", m.Name, hp, m.MountPath, m.ReadOnly)
		}
		mounted = append(mounted, hp)
	}
	slices.Sort(mounted)
	if !slices.Equal(mounted, docMounts) || len(hostPaths) != len(mounted) {
		t.Errorf("DaemonSet mounts host paths %q (volumes %v), docs/security.md lists %q", mounted, hostPaths, docMounts)
	}

	// The capabilities are those the feature table names.
	b, _ := os.ReadFile("../docs/security.md")
	doc := string(b)
	table := doc[strings.Index(doc, "## What each feature needs"):strings.Index(doc, "## Without privilege")]
	named := regexp.MustCompile(`CAP_([A-Z_]+)`).FindAllStringSubmatch(table, -1)
	var featureCaps []string
	for _, m := range named {
		featureCaps = append(featureCaps, m[1])
	}
	slices.Sort(featureCaps)
	featureCaps = slices.Compact(featureCaps)
	// CAP_BPF + CAP_PERFMON are the narrow alternative to CAP_SYS_ADMIN
	// for loading the BPF iterators; a DaemonSet that has CAP_SYS_ADMIN
	// (for setns) needs neither.
	if slices.Contains(docCaps, "SYS_ADMIN") {
		featureCaps = slices.DeleteFunc(featureCaps, func(c string) bool { return c == "BPF" || c == "PERFMON" })
	}
	if !slices.Equal(featureCaps, docCaps) {
		t.Errorf("the feature table names capabilities %q, the DaemonSet's table %q", featureCaps, docCaps)
	}

	// Each mounted path is read by the code (its non-test Go source).
	var src strings.Builder
	_ = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == "deploy" || d.Name() == "bench" || d.Name() == "e2e" || strings.HasPrefix(d.Name(), ".")) && path != ".." {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			b, _ := os.ReadFile(path)
			src.Write(b)
		}
		return nil
	})
	for _, p := range docMounts {
		if !strings.Contains(src.String(), `"`+p+`"`) && !strings.Contains(src.String(), `"`+strings.TrimPrefix(p, "/")+`"`) {
			t.Errorf("mount %s: no Go source of sockscope names this path", p)
		}
	}
}

// TestKustomizeBuild renders the kustomization with kustomize, when
// installed (go install sigs.k8s.io/kustomize/kustomize/v5@v5.8.1), and
// checks that every resource and the dashboard's ConfigMap come out.
func TestKustomizeBuild(t *testing.T) {
	kz, err := exec.LookPath("kustomize")
	if err != nil {
		t.Skip("kustomize not installed")
	}
	cmd := exec.Command(kz, "build", dir)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kustomize build: %v", err)
	}
	var kinds []string
	dec := yaml.NewDecoder(strings.NewReader(string(out)))
	for range 100 {
		var obj struct {
			Kind string `yaml:"kind"`
		}
		if err := dec.Decode(&obj); err != nil {
			break
		}
		kinds = append(kinds, obj.Kind)
	}
	slices.Sort(kinds)
	want := []string{"ConfigMap", "DaemonSet", "Namespace", "Service", "ServiceAccount", "ServiceMonitor"}
	if !slices.Equal(kinds, want) {
		t.Errorf("kustomize build: kinds %q, want %q", kinds, want)
	}
}
