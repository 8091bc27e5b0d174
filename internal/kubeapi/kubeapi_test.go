package kubeapi_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/internal/kubeapi"
	"github.com/hollowmark/hollowmark/internal/testenv"
)

var shared testenv.Shared

func TestMain(m *testing.M) { os.Exit(shared.Run(m)) }

func newClient(t *testing.T, cp *controlplane.ControlPlane) *kubeapi.Client {
	t.Helper()
	tlsConfig, err := rest.TLSConfigFor(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(cp.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pool := &kubeapi.Pool{Addr: u.Host, TLS: tlsConfig}
	t.Cleanup(func() { cancel(); pool.Close() })
	return &kubeapi.Client{Conns: pool, Codec: kubeapi.NewCodec(), UserAgent: "hollowmark-test", Ctx: ctx}
}

func call(t *testing.T, c *kubeapi.Client, req kubeapi.Call) kubeapi.Response {
	t.Helper()
	done := make(chan kubeapi.Response, 1)
	c.Do(req, func(r kubeapi.Response) { done <- r })
	select {
	case r := <-done:
		return r
	case <-time.After(time.Minute):
		t.Fatalf("%s %s: no response", req.Verb, req.Path)
		return kubeapi.Response{}
	}
}

func TestCreateGetAndStatusErrors(t *testing.T) {
	c := newClient(t, shared.Get(t))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kubeapi-create"}}
	body, err := c.Codec.Encode(ns, corev1.SchemeGroupVersion)
	if err != nil {
		t.Fatal(err)
	}
	resp := call(t, c, kubeapi.Call{Verb: "POST", Path: "/api/v1/namespaces", ContentType: kubeapi.ContentTypeProtobuf, Body: body})
	if resp.Err != nil || resp.Status != 201 {
		t.Fatalf("create: status %d, %v", resp.Status, resp.Err)
	}
	resp = call(t, c, kubeapi.Call{Verb: "GET", Path: "/api/v1/namespaces/kubeapi-create"})
	if resp.Err != nil {
		t.Fatal(resp.Err)
	}
	obj, err := c.Codec.Decode(resp.Body)
	if err != nil {
		t.Fatalf("decoding protobuf response: %v", err)
	}
	if got := obj.(*corev1.Namespace).Name; got != "kubeapi-create" {
		t.Fatalf("got namespace %q", got)
	}
	resp = call(t, c, kubeapi.Call{Verb: "GET", Path: "/api/v1/namespaces/does-not-exist"})
	if !kubeapi.IsStatus(resp.Err, 404) || !strings.Contains(resp.Err.Error(), "not found") {
		t.Fatalf("missing namespace: got %v, want a 404 with the server's message", resp.Err)
	}
}

// recorder is a ListWatchHandler that remembers what it was told.
type recorder struct {
	mu      sync.Mutex
	listed  [][]string
	events  []string
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1000)} }

func (r *recorder) Replace(items []runtime.Object) {
	r.mu.Lock()
	names := []string{}
	for _, it := range items {
		names = append(names, it.(*corev1.ConfigMap).Name)
	}
	r.listed = append(r.listed, names)
	r.mu.Unlock()
	r.changed <- struct{}{}
}

func (r *recorder) Event(t watch.EventType, obj runtime.Object) {
	r.mu.Lock()
	r.events = append(r.events, fmt.Sprintf("%s %s", t, obj.(*corev1.ConfigMap).Name))
	r.mu.Unlock()
	r.changed <- struct{}{}
}

func (r *recorder) Failed(error) {}

func (r *recorder) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("timed out waiting for %s; listed %v, events %v", what, r.listed, r.events)
		}
	}
}

func TestListWatchSeesListingThenChanges(t *testing.T) {
	cp := shared.Get(t)
	admin := kubernetes.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	ns := "kubeapi-watch"
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, data int) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"watched": "yes"}},
			Data: map[string]string{"payload": strings.Repeat("x", data)}}
		if _, err := admin.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// More than a megabyte of listing: the server must be given flow-control
	// credit while we read.
	for i := range 30 {
		mk(fmt.Sprintf("before-%02d", i), 60_000)
	}
	c := newClient(t, cp)
	rec := newRecorder()
	lw := c.NewListWatch("/api/v1/namespaces/"+ns+"/configmaps", url.Values{"labelSelector": {"watched=yes"}}, rec)
	lw.Start()
	defer lw.Stop()
	rec.waitFor(t, "the listing", func() bool { return len(rec.listed) == 1 })
	if got := len(rec.listed[0]); got != 30 {
		t.Fatalf("listing had %d items, want 30", got)
	}
	mk("after", 10)
	if err := admin.CoreV1().ConfigMaps(ns).Delete(ctx, "before-00", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "the add and delete events", func() bool {
		return strings.Join(rec.events, ",") == "ADDED after,DELETED before-00"
	})
}
