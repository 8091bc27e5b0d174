package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/internal/testenv"
)

func options() Options {
	return Options{Namespace: "hollowmark", Name: "hollow-nodes", Image: "localhost/hollowmark:v1", PullPolicy: corev1.PullIfNotPresent,
		Nodes: 5000, PerShard: 1000, TargetKubeconfig: []byte("apiVersion: v1\nkind: Config\n"), StopGrace: 60}
}

func statefulSet(t *testing.T, objs []runtime.Object) *appsv1.StatefulSet {
	t.Helper()
	for _, o := range objs {
		if s, ok := o.(*appsv1.StatefulSet); ok {
			return s
		}
	}
	t.Fatal("no StatefulSet")
	return nil
}

func TestObjectsShardTheNodes(t *testing.T) {
	tests := []struct {
		name            string
		edit            func(*Options)
		wantShards      int32
		wantArgs        []string
		wantProbe       string // "http" or "exec"
		wantCPU, wantMi string
	}{
		{"5000 by 1000", func(*Options) {}, 5,
			[]string{"nodes", "--count=5000", "--shards=5", "--shard=ordinal", "--delete-nodes=false", "--metrics-addr=0.0.0.0:8080", "--stop-timeout=50s"},
			"http", "150m", "189Mi"},
		{"uneven: the last shard holds fewer", func(o *Options) { o.Nodes, o.PerShard = 2500, 1000 }, 3,
			[]string{"--count=2500", "--shards=3"}, "http", "150m", "189Mi"},
		{"host network: exec probes, a picked port", func(o *Options) { o.HostNetwork, o.Nodes, o.PerShard = true, 60, 20 }, 3,
			[]string{"--metrics-addr=127.0.0.1:0", "--metrics-url-file=/var/run/hollowmark/metrics-url"}, "exec", "52m", "67Mi"},
		{"node args go last", func(o *Options) { o.NodeArgs = []string{"--fidelity=lean"} }, 5,
			[]string{"--fidelity=lean"}, "http", "150m", "189Mi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options()
			tt.edit(&o)
			objs, err := Objects(o)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, obj := range objs {
				kinds = append(kinds, obj.GetObjectKind().GroupVersionKind().Kind)
			}
			if want := []string{"Namespace", "Secret", "Service", "StatefulSet", "PodDisruptionBudget"}; !slices.Equal(kinds, want) {
				t.Errorf("kinds %v, want %v", kinds, want)
			}
			sts := statefulSet(t, objs)
			if *sts.Spec.Replicas != tt.wantShards {
				t.Errorf("replicas %d, want %d", *sts.Spec.Replicas, tt.wantShards)
			}
			pod := sts.Spec.Template.Spec
			c := pod.Containers[0]
			for _, a := range tt.wantArgs {
				if !slices.Contains(c.Args, a) {
					t.Errorf("args %v lack %s", c.Args, a)
				}
			}
			if len(o.NodeArgs) > 0 && c.Args[len(c.Args)-1] != o.NodeArgs[len(o.NodeArgs)-1] {
				t.Errorf("args %v do not end in the node args", c.Args)
			}
			if got := (c.ReadinessProbe.HTTPGet != nil); got != (tt.wantProbe == "http") || pod.HostNetwork != o.HostNetwork {
				t.Errorf("readiness probe %+v with host network %v", c.ReadinessProbe.ProbeHandler, pod.HostNetwork)
			}
			if tt.wantProbe == "exec" && !slices.Equal(c.LivenessProbe.Exec.Command, []string{"/hollowmark", "health", "--url-file=/var/run/hollowmark/metrics-url", "/livez"}) {
				t.Errorf("liveness probe %v", c.LivenessProbe.Exec.Command)
			}
			if cpu, mem := c.Resources.Requests.Cpu(), c.Resources.Requests.Memory(); cpu.String() != tt.wantCPU || mem.String() != tt.wantMi {
				t.Errorf("requests cpu %s memory %s, want %s %s", cpu, mem, tt.wantCPU, tt.wantMi)
			}
			if limit := c.Resources.Limits.Memory(); limit.Cmp(resource.MustParse(tt.wantMi)) <= 0 || c.Resources.Limits.Cpu().Value() != 0 {
				t.Errorf("limits %v: want memory above the request and no CPU limit", c.Resources.Limits)
			}
			if !*pod.SecurityContext.RunAsNonRoot || *pod.AutomountServiceAccountToken || !*c.SecurityContext.ReadOnlyRootFilesystem {
				t.Error("the pod runs as root, mounts a service account token, or writes its root file system")
			}
		})
	}
}

func TestObjectsRejectBadOptions(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"no nodes", func(o *Options) { o.Nodes = 0 }, "--nodes 0"},
		{"no shard size", func(o *Options) { o.PerShard = 0 }, "--per-shard 0"},
		{"bad namespace", func(o *Options) { o.Namespace = "Hollow_Mark" }, `--namespace "Hollow_Mark"`},
		{"no image", func(o *Options) { o.Image = "" }, "--image is required"},
		{"short grace", func(o *Options) { o.StopGrace = 5 }, "grace period of 5 s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options()
			tt.edit(&o)
			if _, err := Objects(o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestTargetKubeconfigIsSelfContained(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca := write("ca.crt", "CA PEM")
	token := write("token", "s3cret\n")
	kubeconfig := func(user string) string {
		return write("kubeconfig", `apiVersion: v1
kind: Config
current-context: target
clusters:
- name: target
  cluster: {server: "https://127.0.0.1:6443", certificate-authority: `+ca+`}
- name: other
  cluster: {server: "https://other:6443"}
contexts:
- name: target
  context: {cluster: target, user: u}
- name: other
  context: {cluster: other, user: u}
users:
- name: u
  user: `+user+`
`)
	}
	tests := []struct {
		name, user, server string
		wantErr            string
		wantToken          string
		wantServer         string
	}{
		{"token file inlined", "{tokenFile: " + token + "}", "", "", "s3cret", "https://127.0.0.1:6443"},
		{"server replaced", "{token: abc}", "https://10.1.2.3:6443", "", "abc", "https://10.1.2.3:6443"},
		{"exec plugin", "{exec: {apiVersion: client.authentication.k8s.io/v1, command: gcloud}}", "", "authenticates through a plugin", "", ""},
		{"no identity", "{}", "", "neither a client certificate nor a token", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := TargetKubeconfig(kubeconfig(tt.user), tt.server)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := clientcmd.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Clusters) != 1 || cfg.Clusters["target"].Server != tt.wantServer || string(cfg.Clusters["target"].CertificateAuthorityData) != "CA PEM" || cfg.Clusters["target"].CertificateAuthority != "" {
				t.Errorf("clusters %+v", cfg.Clusters)
			}
			if u := cfg.AuthInfos["u"]; u.Token != tt.wantToken || u.TokenFile != "" {
				t.Errorf("user %+v", u)
			}
		})
	}
}

// The rendered YAML, as a user applies it: the API server (server-side dry
// run, with its admission) takes every object.
func TestManifestsPassServerSideDryRun(t *testing.T) {
	cp := testenv.StartControlPlane(t, controlplane.Options{EtcdUnsafeNoFsync: true})
	target, err := TargetKubeconfig(cp.KubeconfigPath, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, hostNetwork := range []bool{false, true} {
		o := options()
		o.TargetKubeconfig, o.HostNetwork = target, hostNetwork
		objs, err := Objects(o)
		if err != nil {
			t.Fatal(err)
		}
		stream, err := YAML(objs)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(stream), "status:") || strings.Contains(string(stream), "creationTimestamp") {
			t.Errorf("manifests carry empty status or timestamps:\n%s", stream)
		}
		// Namespaced objects are only admitted into a namespace that exists.
		ns, err := YAML(objs[:1])
		if err != nil {
			t.Fatal(err)
		}
		apply(t, cp.Config, ns, false)
		got := apply(t, cp.Config, stream, true)
		want := []string{"Namespace/hollowmark", "Secret/hollow-nodes-target", "Service/hollow-nodes", "StatefulSet/hollow-nodes", "PodDisruptionBudget/hollow-nodes"}
		if !slices.Equal(kinds(got), want) {
			t.Errorf("host network %v: applied %v, want %v", hostNetwork, kinds(got), want)
		}
	}
}
