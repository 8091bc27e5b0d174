package loadgen_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"text/template"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"

	corev1 "k8s.io/api/core/v1"

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
	tmpl := template.Must(template.New("deployment.yaml").Option("missingkey=error").Parse(deployment))
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
	for name, text := range map[string]string{
		"missing kind":     "apiVersion: v1\nmetadata: {}\n",
		"not YAML":         "apiVersion: v1\nkind: [\n",
		"missing variable": "apiVersion: v1\nkind: ConfigMap\ndata: {x: {{.Params.nope}}}\n",
	} {
		tmpl := template.Must(template.New(name).Option("missingkey=error").Parse(text))
		if _, err := loadgen.Render(tmpl, loadgen.TemplateData{Name: "x", Params: map[string]any{}}); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
}
