package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"text/template"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/hollowmark/hollowmark/internal/periodic"
	"github.com/hollowmark/hollowmark/loadgen"
	"github.com/hollowmark/hollowmark/scenarios"
)

// phaseState is how many replicas of each object the run has made in each
// namespace, and with which parameters: phases are declarative, so the
// runner acts on the difference.
type phaseState struct {
	scenario  *scenarios.Scenario
	mu        sync.Mutex
	objects   map[objectKey]objectState
	templates map[string]*template.Template
}

// objectKey identifies objects of a phase; kinds is set for CL2 bundles,
// whose objects of one basename may differ in kind.
type objectKey struct{ namespace, basename, kinds string }

type objectState struct {
	count  int
	spec   string // template and parameters, to notice a change
	object scenarios.Object
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
// the state they leave.
func (p *phaseState) plan(ph scenarios.Phase, namespaces []string, objects *loadgen.Objects) ([]change, map[objectKey]objectState, error) {
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
			want := ph.ReplicasPerNamespace
			apply := func(i int, params map[string]any) change {
				return change{i, func(ctx context.Context) error {
					obj, err := loadgen.Render(tmpl, loadgen.TemplateData{Name: objectName(o.Basename, i), Index: i, Namespace: ns, Params: params})
					if err != nil {
						return err
					}
					return objects.Apply(ctx, obj)
				}}
			}
			for i := have.count; i < want; i++ {
				changes = append(changes, apply(i, o.Params))
			}
			if have.count > 0 && have.spec != string(spec) && want > 0 {
				for i := range min(have.count, want) {
					changes = append(changes, apply(i, o.Params))
				}
			}
			var made *template.Template // the template that made the objects to delete
			if want < have.count {
				if made, err = p.template(have.object); err != nil {
					return nil, nil, err
				}
			}
			for i := want; i < have.count; i++ {
				changes = append(changes, change{i, func(ctx context.Context) error {
					obj, err := loadgen.Render(made, loadgen.TemplateData{Name: objectName(o.Basename, i), Index: i, Namespace: ns, Params: have.object.Params})
					if err != nil {
						return err
					}
					return objects.Delete(ctx, obj)
				}})
			}
			next[key] = objectState{count: want, spec: string(spec), object: o}
			if want == 0 {
				next[key] = objectState{}
			}
		}
	}
	slices.SortStableFunc(changes, func(a, b change) int { return a.index - b.index })
	return changes, next, nil
}

func (p *phaseState) commit(next map[objectKey]objectState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range next {
		p.objects[k] = v
	}
}

func objectName(basename string, i int) string { return fmt.Sprintf("%s-%d", basename, i) }

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
	sets := map[string]scenarios.TuningSetSpec{}
	for _, ts := range r.cfg.Scenario.TuningSets {
		sets[ts.Name] = ts
	}
	var planned []plannedPhase
	var total int64
	for j, ph := range phases {
		pace, err := sets[ph.TuningSet].TuningSet()
		if err != nil {
			return fmt.Errorf("phase %d: tuning set %s: %w", j+1, ph.TuningSet, err)
		}
		plan := r.phases.plan
		if ph.Bundles {
			plan = r.phases.planBundles
		}
		changes, next, err := plan(ph, r.namespaces, r.objects)
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
