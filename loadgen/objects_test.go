package loadgen_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"

	corev1 "k8s.io/api/core/v1"

	"github.com/hollowmark/hollowmark/internal/boundedtemplate"
	"github.com/hollowmark/hollowmark/internal/testenv"
	"github.com/hollowmark/hollowmark/loadgen"
)

var shared testenv.Shared

func TestMain(m *testing.M) { os.Exit(shared.Run(m)) }

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  labels: {group: {{.Params.group}}}
spec:
  replicas: {{.Params.replicas}}
  selector: {matchLabels: {name: {{.Name}}}}
  template:
    metadata: {labels: {name: {{.Name}}}}
    spec:
      containers: [{name: pause, image: "registry.k8s.io/pause:3.10"}]
`

func TestApplyCreatesScalesAndDeletes(t *testing.T) {
	cp := shared.Get(t)
	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(cp.Config)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "objects"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var calls []string
	o := &loadgen.Objects{
		Dynamic: dynamic.NewForConfigOrDie(cp.Config),
		Mapper:  restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery())),
		Observe: func(verb, resource string, _ time.Duration, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				calls = append(calls, verb+" "+resource)
			}
		},
	}
	tmpl, err := boundedtemplate.Parse("deployment.yaml", deployment, nil)
	if err != nil {
		t.Fatal(err)
	}
	apply := func(replicas int) {
		obj, err := loadgen.Render(tmpl, loadgen.TemplateData{Name: "web-0", Namespace: "objects", Params: map[string]any{"replicas": replicas, "group": "g"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Apply(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	apply(2)
	d, err := client.AppsV1().Deployments("objects").Get(ctx, "web-0", metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 2 || d.Labels["group"] != "g" {
		t.Fatalf("created %+v, %v", d, err)
	}
	apply(5)
	if d, err = client.AppsV1().Deployments("objects").Get(ctx, "web-0", metav1.GetOptions{}); err != nil || *d.Spec.Replicas != 5 {
		t.Fatalf("after scaling: %v replicas, %v", d.Spec.Replicas, err)
	}
	obj, _ := loadgen.Render(tmpl, loadgen.TemplateData{Name: "web-0", Namespace: "objects", Params: map[string]any{"replicas": 0, "group": "g"}})
	for range 2 { // deleting what is gone is not an error
		if err := o.Delete(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.AppsV1().Deployments("objects").Get(ctx, "web-0", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after delete: %v", err)
	}
	if len(calls) != 4 || calls[0] != "APPLY deployments" || calls[3] != "DELETE deployments" {
		t.Errorf("observed calls %v", calls)
	}
}

func TestRenderRejectsBadTemplates(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"missing kind", "apiVersion: v1\nmetadata: {}\n", "apiVersion and kind are required"},
		{"not YAML", "apiVersion: v1\nkind: [\n", "is not a YAML object"},
		{"a passwd file", "root:x:0:0:root:/root:/bin/bash\n", "is not a YAML object"},
		{"missing variable", "apiVersion: v1\nkind: ConfigMap\ndata: {x: {{.Params.nope}}}\n", `map has no entry for key "nope"`},
		{"two documents", "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: Secret\n", "line 3 starts a second YAML document"},
		{"too long", "apiVersion: v1\nkind: ConfigMap\ndata: {x: {{$s := printf \"%01000000d\" 0}}{{$s}}{{$s}}}\n", "rendered text is longer than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := boundedtemplate.Parse(tt.name, tt.text, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = loadgen.Render(tmpl, loadgen.TemplateData{Name: "x", Params: map[string]any{}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCheckObject(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"a good Deployment", deployment, ""},
		{"a custom resource", "apiVersion: example.com/v1\nkind: Widget\nspec: {anything: 1}\n", ""},
		{"an unknown kind", "apiVersion: apps/v1\nkind: Deploymnet\n", "kind Deploymnet: apps/v1 has no such kind"},
		{"an unknown version", "apiVersion: apps/v2\nkind: Deployment\n", `the API group "apps" has no version "v2"`},
		{"an unknown field", "apiVersion: v1\nkind: ConfigMap\ndatta: {}\n", `unknown field "datta"`},
		{"a value of the wrong type", "apiVersion: apps/v1\nkind: Deployment\nspec: {replicas: many}\n", "not a valid apps/v1 Deployment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := boundedtemplate.Parse(tt.name, tt.text, nil)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := loadgen.Render(tmpl, loadgen.TemplateData{Name: "x", Params: map[string]any{"replicas": 1, "group": "g"}})
			if err != nil {
				t.Fatal(err)
			}
			err = loadgen.CheckObject(obj)
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct{ kind, name, want string }{
		{"Deployment", long, ""},
		{"Deployment", strings.Repeat("a", 254), "must be no more than 253 characters"},
		{"Service", long, "must be no more than 63 characters"},
		{"Service", "1web-0", "start with an alphabetic character"},
		{"StatefulSet", long, "must be no more than 63 characters"},
		{"Namespace", "a-1", ""},
	}
	for _, tt := range tests {
		err := loadgen.CheckName(tt.kind, tt.name)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s %s: error %v, want %q", tt.kind, tt.name, err, tt.want)
		}
	}
}

// RandIntRange draws from [min, max] per object: the same seed, namespace
// and name render the same object in any order; other seeds or names draw
// anew.
func TestRandIntRangeIsSeededPerObject(t *testing.T) {
	tmpl, err := boundedtemplate.Parse("cm.yaml",
		"apiVersion: v1\nkind: ConfigMap\ndata: {size: '{{RandIntRange .Params.min .Params.max}}'}\n", loadgen.ParseFuncs())
	if err != nil {
		t.Fatal(err)
	}
	draw := func(seed uint64, name string, lo, hi any) string {
		t.Helper()
		obj, err := loadgen.Render(tmpl, loadgen.TemplateData{Name: name, Namespace: "ns", Seed: seed, Params: map[string]any{"min": lo, "max": hi}})
		if err != nil {
			t.Fatal(err)
		}
		v, _, _ := unstructured.NestedString(obj.Object, "data", "size")
		return v
	}
	seen := map[string]int{}
	var first []string
	for i := range 200 {
		v := draw(7, fmt.Sprintf("web-%d", i), 15, 45)
		first = append(first, v)
		n, err := strconv.Atoi(v)
		if err != nil || n < 15 || n > 45 {
			t.Fatalf("drew %q, want a number in [15, 45]", v)
		}
		seen[v]++
	}
	if len(seen) < 25 || seen["15"] == 0 || seen["45"] == 0 {
		t.Errorf("200 draws from [15, 45] gave %d values (%v): want most of the 31, ends included", len(seen), seen)
	}
	for i := 199; i >= 0; i-- { // another order, the same objects
		if v := draw(7, fmt.Sprintf("web-%d", i), 15, 45); v != first[i] {
			t.Fatalf("web-%d drew %s, then %s with the same seed", i, first[i], v)
		}
	}
	differ := 0
	for i := range 200 {
		if draw(8, fmt.Sprintf("web-%d", i), 15, 45) != first[i] {
			differ++
		}
	}
	if differ < 150 {
		t.Errorf("another seed changed only %d of 200 draws", differ)
	}
	if v := draw(7, "web-0", 30, 30); v != "30" {
		t.Errorf("RandIntRange 30 30 = %s, want 30", v)
	}
	if v := draw(7, "web-0", 40, 10); v != "40" {
		t.Errorf("RandIntRange 40 10 = %s, want 40 (min when max <= min, as ClusterLoader2)", v)
	}
	if v := draw(7, "web-0", 2.9, 2.9); v != "2" {
		t.Errorf("RandIntRange 2.9 2.9 = %s, want 2 (fractions cut)", v)
	}
	if _, err := loadgen.Render(tmpl, loadgen.TemplateData{Name: "x", Params: map[string]any{"min": "a", "max": 3}}); err == nil {
		t.Error("RandIntRange of a string rendered")
	}
}

// Create and Patch are ClusterLoader2's verbs: a POST (an object that
// exists counts as created), and a GET then a merge patch of what differs.
func TestCreateAndPatchAsClusterLoader2(t *testing.T) {
	cp := shared.Get(t)
	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(cp.Config)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cl2-verbs"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var calls []string
	o := &loadgen.Objects{Dynamic: dynamic.NewForConfigOrDie(cp.Config),
		Mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery())),
		Observe: func(verb, resource string, _ time.Duration, err error) {
			if err == nil {
				calls = append(calls, verb+" "+resource)
			}
		}}
	configMap := func(value string) *unstructured.Unstructured {
		objs, err := loadgen.Decode([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-0, namespace: cl2-verbs}\ndata: {v: " + value + "}\n"))
		if err != nil || len(objs) != 1 {
			t.Fatalf("decoding: %v, %d objects", err, len(objs))
		}
		return objs[0]
	}
	for range 2 {
		if err := o.Create(ctx, configMap("one")); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Patch(ctx, configMap("two")); err != nil {
		t.Fatal(err)
	}
	cm, err := client.CoreV1().ConfigMaps("cl2-verbs").Get(ctx, "cm-0", metav1.GetOptions{})
	if err != nil || cm.Data["v"] != "two" {
		t.Fatalf("after the patch: %v, %v", cm, err)
	}
	if want := []string{"CREATE configmaps", "CREATE configmaps", "GET configmaps", "PATCH configmaps"}; !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
}

func TestDecodeReadsEveryDocument(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		objects    int
		err        string
	}{
		{"two kinds", "apiVersion: v1\nkind: Service\n---\n---\napiVersion: apps/v1\nkind: StatefulSet\n", 2, ""},
		{"empty", "# nothing\n", 0, ""},
		{"one kind twice", "apiVersion: v1\nkind: Service\n---\napiVersion: v1\nkind: Service\n", 0, "two objects of /v1, Kind=Service"},
		{"no kind", "apiVersion: v1\nmetadata: {}\n", 0, "apiVersion and kind are required"},
	} {
		objs, err := loadgen.Decode([]byte(tc.yaml))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || len(objs) != tc.objects {
			t.Errorf("%s: %d objects, %v; want %d", tc.name, len(objs), err, tc.objects)
		}
	}
}
