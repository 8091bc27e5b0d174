package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// apply applies a multi-document YAML stream as `kubectl apply
// --server-side` does, every object in turn; with dryRun the API server
// validates and admits each one but stores nothing.
func apply(t *testing.T, cfg *rest.Config, stream []byte, dryRun bool) []*unstructured.Unstructured {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts := metav1.PatchOptions{FieldManager: "hollowmark-test"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var applied []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
			return applied
		} else if err != nil {
			t.Fatalf("decoding manifests: %v", err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", gvk, err)
		}
		body, err := obj.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var r dynamic.ResourceInterface = client.Resource(m.Resource)
		if obj.GetNamespace() != "" {
			r = client.Resource(m.Resource).Namespace(obj.GetNamespace())
		}
		got, err := r.Patch(context.Background(), obj.GetName(), types.ApplyPatchType, body, opts)
		if err != nil {
			t.Fatalf("applying %s %s (dry run %v): %v", gvk.Kind, obj.GetName(), dryRun, err)
		}
		applied = append(applied, got)
	}
}

func kinds(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, fmt.Sprintf("%s/%s", o.GetKind(), o.GetName()))
	}
	return out
}
