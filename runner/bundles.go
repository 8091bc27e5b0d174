package runner

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"text/template"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/hollowmark/hollowmark/loadgen"
	"github.com/hollowmark/hollowmark/scenarios"
)

// bundleMember is one object of a phase's bundle, with what identifies it:
// ClusterLoader2 keys its state by namespace, basename and kind, so a
// bundle may hold a Service and a StatefulSet of one basename.
type bundleMember struct {
	object scenarios.Object
	tmpl   *template.Template
	raw    []*unstructured.Unstructured
	kinds  string
}

// planBundles lists a ClusterLoader2 phase's actions, as CL2's executor
// orders them: namespace after namespace, first deleting the replicas above
// the wanted count (objects of a bundle in reverse order), then, when the
// count is already right, updating every replica, then creating the
// missing ones (objects in order, the rest of a bundle skipped after a
// failure).
// Templates render when an action runs (a CL2 template draws its random
// numbers from the config's seed), so the seed is not used.
func (p *phaseState) planBundles(ph scenarios.Phase, namespaces []string, objects *loadgen.Objects, _ uint64) ([]change, map[objectKey]objectState, error) {
	members := make([]bundleMember, len(ph.Objects))
	for j, o := range ph.Objects {
		tmpl, err := p.template(o)
		if err != nil {
			return nil, nil, err
		}
		raw, err := p.rawObjects(o)
		if err != nil {
			return nil, nil, err
		}
		members[j] = bundleMember{object: o, tmpl: tmpl, raw: raw, kinds: kindsOf(raw)}
	}
	var changes []change
	next := map[objectKey]objectState{}
	want := ph.ReplicasPerNamespace
	for _, ns := range phaseNamespaces(ph, namespaces) {
		have := -1
		for j, m := range members {
			key := objectKey{ns, m.object.Basename, m.kinds}
			p.mu.Lock()
			count := len(p.objects[key].applied)
			p.mu.Unlock()
			if j > 0 && count != have {
				return nil, nil, fmt.Errorf("bundle in namespace %q: %s has %d replicas while %s has %d",
					ns, m.object.Basename, count, members[j-1].object.Basename, have)
			}
			have = count
			// The state keeps a replica's first kind: what cleanup deletes.
			state := objectState{applied: make([]appliedObject, want)}
			for i := range state.applied {
				state.applied[i].gvk = m.raw[0].GroupVersionKind()
			}
			next[key] = state
		}
		for i := want; i < have; i++ {
			changes = append(changes, change{i, func(ctx context.Context) error {
				for _, m := range slices.Backward(members) {
					if err := deleteRaw(ctx, objects, m, scenarios.ObjectName(m.object.Basename, i), ns); err != nil {
						return err
					}
				}
				return nil
			}})
		}
		if have == want {
			for i := range want {
				changes = append(changes, p.bundleAction(members, i, ns, objects.Patch))
			}
		}
		for i := max(have, 0); i < want; i++ {
			changes = append(changes, p.bundleAction(members, i, ns, objects.Create))
		}
	}
	return changes, next, nil
}

// bundleAction renders replica i of each member and hands its objects to
// do, stopping at the first failure as CL2 does.
func (p *phaseState) bundleAction(members []bundleMember, i int, ns string, do func(context.Context, *unstructured.Unstructured) error) change {
	return change{i, func(ctx context.Context) error {
		for _, m := range members {
			r := scenarios.Replica{Name: scenarios.ObjectName(m.object.Basename, i), Index: i, Namespace: ns}
			data, err := p.scenario.Render(m.tmpl, m.object, r)
			if err != nil {
				return err
			}
			objs, err := loadgen.Decode(data)
			if err != nil {
				return fmt.Errorf("template %s for %s: %w", m.object.Template, r.Name, err)
			}
			for _, obj := range objs {
				obj.SetName(r.Name)
				if ns != "" {
					obj.SetNamespace(ns)
				}
				if err := do(ctx, obj); err != nil {
					return fmt.Errorf("%s %s/%s: %w", obj.GetKind(), ns, r.Name, err)
				}
			}
		}
		return nil
	}}
}

// deleteRaw deletes replica name of a member by the kinds its template
// makes: deletion needs no rendering, as in CL2 (a phase that deletes
// gives no template parameters).
func deleteRaw(ctx context.Context, objects *loadgen.Objects, m bundleMember, name, ns string) error {
	for _, raw := range m.raw {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(raw.GroupVersionKind())
		obj.SetName(name)
		if ns != "" {
			obj.SetNamespace(ns)
		}
		if err := objects.Delete(ctx, obj); err != nil {
			return fmt.Errorf("%s %s/%s: %w", raw.GetKind(), ns, name, err)
		}
	}
	return nil
}

// templateAction matches a template action on one line; CL2 removes them
// to read a template's kinds without rendering it.
var templateAction = regexp.MustCompile(`\{\{.*\}\}`)

// rawObjects are the objects of o's template with its actions removed.
func (p *phaseState) rawObjects(o scenarios.Object) ([]*unstructured.Unstructured, error) {
	src, err := fs.ReadFile(p.scenario.FS, p.scenario.TemplatePath(o))
	if err != nil {
		return nil, fmt.Errorf("reading template %s: %w", o.Template, err)
	}
	objs, err := loadgen.Decode(templateAction.ReplaceAll(src, nil))
	if err != nil {
		return nil, fmt.Errorf("template %s without its template actions: %w", o.Template, err)
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("template %s has no object", o.Template)
	}
	return objs, nil
}

func kindsOf(objs []*unstructured.Unstructured) string {
	var out string
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		out += gvk.Kind + "." + gvk.Group + ";"
	}
	return out
}
