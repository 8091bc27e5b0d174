package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// Decode reads the objects of a rendered template: one or more YAML
// documents, empty ones skipped. Each needs apiVersion and kind, and no two
// may share both (they are one replica, under one name).
func Decode(data []byte) ([]*unstructured.Unstructured, error) {
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	seen := map[string]bool{}
	for {
		obj := &unstructured.Unstructured{}
		err := dec.Decode(&obj.Object)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("not YAML objects: %w", err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		gvk := obj.GroupVersionKind()
		if gvk.Version == "" || gvk.Kind == "" {
			return nil, errors.New("apiVersion and kind are required")
		}
		if seen[gvk.String()] {
			return nil, fmt.Errorf("two objects of %s", gvk)
		}
		seen[gvk.String()] = true
		out = append(out, obj)
	}
}
