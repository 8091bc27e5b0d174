package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"text/template"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/jsonmergepatch"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/yaml"

	"github.com/hollowmark/hollowmark/internal/boundedtemplate"
)

// FieldManager owns the fields hollowmark applies.
const FieldManager = "hollowmark"

// TemplateData is what an object template is rendered with.
type TemplateData struct {
	Name      string
	Index     int
	Namespace string
	Params    map[string]any
	// Seed, with the namespace and name, seeds the numbers RandIntRange
	// draws: the same seed renders the same object, whatever the order
	// objects are rendered in.
	Seed uint64
}

// ObjectLimits bound the rendering of one object: an object is stored in
// etcd whole, and etcd takes requests of at most 1.5 MiB.
var ObjectLimits = boundedtemplate.Limits{Output: 1 << 20, Steps: boundedtemplate.DefaultLimits.Steps,
	Timeout: boundedtemplate.DefaultLimits.Timeout}

// Render makes an object from a template of YAML with Go-template fields;
// tmpl comes from boundedtemplate.Parse with ParseFuncs. The template may
// call RandIntRange min max, a whole number drawn uniformly from [min, max]
// (min when max <= min), as ClusterLoader2's.
func Render(tmpl *template.Template, data TemplateData) (*unstructured.Unstructured, error) {
	t, err := tmpl.Clone()
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", tmpl.Name(), err)
	}
	rng := rand.New(rand.NewPCG(data.Seed, objectHash(data.Namespace, data.Name)))
	t.Funcs(template.FuncMap{"RandIntRange": func(lo, hi any) (int, error) { return randIntRange(rng, lo, hi) }})
	out, err := boundedtemplate.Execute(t, data, ObjectLimits)
	if err != nil {
		return nil, fmt.Errorf("rendering %s for %s: %w", tmpl.Name(), data.Name, err)
	}
	if line := secondDocument(out); line > 0 {
		return nil, fmt.Errorf("template %s for %s: line %d starts a second YAML document; a template makes one object", tmpl.Name(), data.Name, line)
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(out, &obj.Object); err != nil {
		return nil, fmt.Errorf("template %s for %s is not a YAML object: %w", tmpl.Name(), data.Name, err)
	}
	if obj.GetAPIVersion() == "" || obj.GetKind() == "" {
		return nil, fmt.Errorf("template %s: apiVersion and kind are required", tmpl.Name())
	}
	obj.SetName(data.Name)
	if data.Namespace != "" {
		obj.SetNamespace(data.Namespace)
	}
	return obj, nil
}

// ParseFuncs are the functions Render gives each object, for parsing
// templates before there is an object: called outside Render, they fail.
func ParseFuncs() template.FuncMap {
	return template.FuncMap{"RandIntRange": func(any, any) (int, error) {
		return 0, errors.New("RandIntRange draws a number per object: use it in object templates")
	}}
}

func objectHash(namespace, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(namespace + "/" + name))
	return h.Sum64()
}

func randIntRange(rng *rand.Rand, lo, hi any) (int, error) {
	a, err := wholeNumber(lo)
	if err != nil {
		return 0, fmt.Errorf("RandIntRange min: %w", err)
	}
	b, err := wholeNumber(hi)
	if err != nil {
		return 0, fmt.Errorf("RandIntRange max: %w", err)
	}
	if a >= b {
		return a, nil
	}
	return a + rng.IntN(b-a+1), nil
}

// wholeNumber takes the numbers YAML and template arithmetic produce;
// fractions are cut towards zero, as ClusterLoader2 does.
func wholeNumber(v any) (int, error) {
	switch n := v.(type) {
	case int:
		return n, nil
	case int64:
		return int(n), nil
	case float64:
		return int(n), nil
	}
	return 0, fmt.Errorf("want a number, have %v", v)
}

// secondDocument is the line of a second YAML document in src, or 0: the
// YAML decoder reads the first and would drop the rest unsaid.
func secondDocument(src []byte) int {
	dec := yamlv3.NewDecoder(bytes.NewReader(src))
	var first, second yamlv3.Node
	if err := dec.Decode(&first); err != nil {
		return 0 // the object's decoding says what is wrong
	}
	if err := dec.Decode(&second); errors.Is(err, io.EOF) {
		return 0
	}
	if second.Line > 0 {
		return second.Line
	}
	return 1
}

// Objects creates, changes and deletes objects of any kind.
type Objects struct {
	Dynamic dynamic.Interface
	Mapper  meta.RESTMapper
	// Observe, if set, is told about every call, for client-side latency.
	Observe func(verb, resource string, took time.Duration, err error)
}

// retriable errors are the API server asking us to come back later.
func retriable(err error) bool {
	return apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsConflict(err) || apierrors.IsServiceUnavailable(err)
}

func (o *Objects) resource(obj *unstructured.Unstructured) (dynamic.ResourceInterface, string, error) {
	gvk := obj.GroupVersionKind()
	mapping, err := o.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, "", fmt.Errorf("no API for %s: %w", gvk, err)
	}
	ri := o.Dynamic.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return ri.Namespace(obj.GetNamespace()), mapping.Resource.Resource, nil
	}
	return ri, mapping.Resource.Resource, nil
}

// Apply creates obj or changes it to match (server-side apply), so that a
// phase creates and scales with the same call.
func (o *Objects) Apply(ctx context.Context, obj *unstructured.Unstructured) error {
	ri, resource, err := o.resource(obj)
	if err != nil {
		return err
	}
	return o.call(ctx, "APPLY", resource, func() error {
		_, err := ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
		return err
	})
}

// Delete deletes obj and lets the garbage collector take what it owns. An
// object already gone counts as deleted.
func (o *Objects) Delete(ctx context.Context, obj *unstructured.Unstructured) error {
	ri, resource, err := o.resource(obj)
	if err != nil {
		return err
	}
	background := metav1.DeletePropagationBackground
	return o.call(ctx, "DELETE", resource, func() error {
		err := ri.Delete(ctx, obj.GetName(), metav1.DeleteOptions{PropagationPolicy: &background})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
}

func (o *Objects) call(ctx context.Context, verb, resource string, fn func() error) error {
	err := retry.OnError(retry.DefaultBackoff, retriable, func() error {
		begin := time.Now()
		err := fn()
		if o.Observe != nil {
			o.Observe(verb, resource, time.Since(begin), err)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", verb, resource, err)
	}
	return ctx.Err()
}

// Create creates obj (POST), as ClusterLoader2 does; an object that
// already exists counts as created.
func (o *Objects) Create(ctx context.Context, obj *unstructured.Unstructured) error {
	ri, resource, err := o.resource(obj)
	if err != nil {
		return err
	}
	return o.call(ctx, "CREATE", resource, func() error {
		_, err := ri.Create(ctx, obj, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
}

// Patch changes obj to match as ClusterLoader2 does: it reads the object
// and sends a JSON merge patch of the fields that differ. Fields the new
// object lacks are kept (there is no record of an original to remove them
// against).
func (o *Objects) Patch(ctx context.Context, obj *unstructured.Unstructured) error {
	ri, resource, err := o.resource(obj)
	if err != nil {
		return err
	}
	modified, err := obj.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encoding %s: %w", obj.GetName(), err)
	}
	var current *unstructured.Unstructured
	if err := o.call(ctx, "GET", resource, func() error {
		current, err = ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
		return err
	}); err != nil {
		return err
	}
	return o.call(ctx, "PATCH", resource, func() error {
		cur, err := current.MarshalJSON()
		if err != nil {
			return err
		}
		patch, err := jsonmergepatch.CreateThreeWayJSONMergePatch(nil, modified, cur,
			mergepatch.RequireKeyUnchanged("apiVersion"), mergepatch.RequireKeyUnchanged("kind"),
			mergepatch.RequireMetadataKeyUnchanged("name"))
		if err != nil {
			return fmt.Errorf("patch for %s: %w", obj.GetName(), err)
		}
		_, err = ri.Patch(ctx, obj.GetName(), types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	})
}
