package runner

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"text/template"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/hollowmark/hollowmark/internal/periodic"
	"github.com/hollowmark/hollowmark/loadgen"
	"github.com/hollowmark/hollowmark/scenarios"
)

// phaseState is which objects the run has made in each namespace, and how:
// phases are declarative, so the runner acts on the difference.
type phaseState struct {
	scenario  *scenarios.Scenario
	mu        sync.Mutex
	objects   map[objectKey]objectState
	templates map[string]*template.Template
}

// objectKey identifies objects of a phase; kinds is set for CL2 bundles,
// whose objects of one basename may differ in kind.
type objectKey struct{ namespace, basename, kinds string }

// objectState is what the last phase that managed a basename in a
// namespace applied: its template and parameters, and each replica's
// object by index.
type objectState struct {
	spec    string
	applied []appliedObject
}

// appliedObject is enough of an applied object to delete it, and to tell
// whether a phase would change it.
type appliedObject struct {
	gvk  schema.GroupVersionKind
	hash [sha256.Size]byte
}

func newPhaseState(s *scenarios.Scenario) *phaseState {
	return &phaseState{scenario: s, objects: map[objectKey]objectState{}, templates: map[string]*template.Template{}}
}

func (p *phaseState) template(o scenarios.Object) (*template.Template, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.templates[o.Template]; ok {
		return t, nil
	}
	t, err := p.scenario.Template(o)
	if err != nil {
		return nil, err
	}
	p.templates[o.Template] = t
	return t, nil
}

// change is one API action of a phase.
type change struct {
	index int // replica index: creations interleave across namespaces
	do    func(context.Context) error
}

// plan lists the changes that bring ph's objects to the wanted count, and
// the state they leave. Objects are rendered here, with seed (RandIntRange
// draws per object: the same seed, the same numbers): a replica that stays
// is applied again when its template or parameters changed, or when it
// renders differently (a new random size).
func (p *phaseState) plan(ph scenarios.Phase, namespaces []string, objects *loadgen.Objects, seed uint64) ([]change, map[objectKey]objectState, error) {
	var changes []change
	next := map[objectKey]objectState{}
	for _, o := range ph.Objects {
		tmpl, err := p.template(o)
		if err != nil {
			return nil, nil, err
		}
		spec, err := json.Marshal(struct {
			Template string
			Params   map[string]any
		}{o.Template, o.Params})
		if err != nil {
			return nil, nil, fmt.Errorf("object %s: %w", o.Basename, err)
		}
		for _, ns := range phaseNamespaces(ph, namespaces) {
			key := objectKey{ns, o.Basename, ""}
			p.mu.Lock()
			have := p.objects[key]
			p.mu.Unlock()
			state := objectState{spec: string(spec), applied: make([]appliedObject, ph.ReplicasPerNamespace)}
			for i := range ph.ReplicasPerNamespace {
				obj, err := loadgen.Render(tmpl, loadgen.TemplateData{Name: scenarios.ObjectName(o.Basename, i), Index: i, Namespace: ns, Params: o.Params, Seed: seed})
				if err != nil {
					return nil, nil, err
				}
				if state.applied[i], err = applied(obj); err != nil {
					return nil, nil, err
				}
				if i >= len(have.applied) || have.spec != state.spec || have.applied[i] != state.applied[i] {
					changes = append(changes, change{i, func(ctx context.Context) error { return objects.Apply(ctx, obj) }})
				}
			}
			for i := ph.ReplicasPerNamespace; i < len(have.applied); i++ {
				obj := &unstructured.Unstructured{}
				obj.SetGroupVersionKind(have.applied[i].gvk)
				obj.SetName(scenarios.ObjectName(o.Basename, i))
				obj.SetNamespace(ns)
				changes = append(changes, change{i, func(ctx context.Context) error { return objects.Delete(ctx, obj) }})
			}
			next[key] = state
		}
	}
	slices.SortStableFunc(changes, func(a, b change) int { return a.index - b.index })
	return changes, next, nil
}

func applied(obj *unstructured.Unstructured) (appliedObject, error) {
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return appliedObject{}, fmt.Errorf("object %s: %w", obj.GetName(), err)
	}
	return appliedObject{gvk: obj.GroupVersionKind(), hash: sha256.Sum256(data)}, nil
}

// clusterScoped are the cluster-scoped objects the phases made and did
// not delete.
func (p *phaseState) clusterScoped() []*unstructured.Unstructured {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*unstructured.Unstructured
	for key, st := range p.objects {
		if key.namespace != "" {
			continue
		}
		for i, a := range st.applied {
			obj := &unstructured.Unstructured{}
			obj.SetGroupVersionKind(a.gvk)
			obj.SetName(scenarios.ObjectName(key.basename, i))
			out = append(out, obj)
		}
	}
	return out
}

func (p *phaseState) commit(next map[objectKey]objectState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range next {
		p.objects[k] = v
	}
}

// phaseNamespaces are the namespaces of a phase's range, or the cluster
// scope ("") for a phase without one.
func phaseNamespaces(ph scenarios.Phase, namespaces []string) []string {
	if ph.NamespaceRange == nil {
		return []string{""}
	}
	return namespaces[ph.NamespaceRange.Min-1 : ph.NamespaceRange.Max]
}

// plannedPhase is a phase's changes, paced by its tuning set.
type plannedPhase struct {
	pace    loadgen.TuningSet
	changes []change
	next    map[objectKey]objectState
}

// runPhases runs a step's phases in parallel, each at its tuning set's pace.
// Every phase is planned before any starts, so a phase that cannot be
// planned leaves nothing half done.
func (r *runner) runPhases(ctx context.Context, step int, phases []scenarios.Phase) error {
	var planned []plannedPhase
	var total int64
	for j, ph := range phases {
		pace, ok := r.tuningSets[ph.TuningSet]
		if !ok {
			return fmt.Errorf("phase %d: no tuning set %s", j+1, ph.TuningSet)
		}
		plan := r.phases.plan
		if ph.Bundles {
			plan = r.phases.planBundles
		}
		changes, next, err := plan(ph, r.namespaces, r.objects, stepSeed(r.cfg.Seed, step))
		if err != nil {
			return fmt.Errorf("phase %d: %w", j+1, err)
		}
		planned = append(planned, plannedPhase{pace, changes, next})
		total += int64(len(changes))
	}
	var done atomic.Int64
	stop := periodic.Every(progressInterval, func() {
		r.log.Info("objects changed", zap.Int64("done", done.Load()), zap.Int64("of", total))
	})
	defer stop()
	g, gctx := errgroup.WithContext(ctx)
	for j, ph := range planned {
		seed := r.cfg.Seed + uint64(step*100+j)
		g.Go(func() error {
			err := ph.pace.Execute(gctx, len(ph.changes), seed, func(ctx context.Context, i int) error {
				defer done.Add(1)
				return ph.changes[i].do(ctx)
			})
			if err != nil {
				return fmt.Errorf("phase %d: %w", j+1, err)
			}
			r.phases.commit(ph.next)
			return nil
		})
	}
	return g.Wait()
}

// stepSeed seeds the objects a step renders: the run's seed gives the same
// numbers again, and each step draws anew (scaling twice to random sizes
// gives two sizes).
func stepSeed(seed uint64, step int) uint64 {
	return seed*1_000_003 + uint64(step)
}
