// Package runner runs a scenario against a cluster: it creates the test
// namespaces, runs the steps in order (phases of object changes, and
// measurement actions), gathers what was measured, and cleans up.
package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/loadgen"
	"github.com/hollowmark/hollowmark/measurements"
	"github.com/hollowmark/hollowmark/results"
	"github.com/hollowmark/hollowmark/scenarios"
)

// Config is what a run needs.
type Config struct {
	Scenario *scenarios.Scenario
	RunID    string
	// Rest is an admin client configuration for the cluster.
	Rest *rest.Config
	Log  *zap.Logger
	// Probes, if set, are the node-side probes of our hollow nodes.
	Probes func() []hollow.PodProbes
	// Processes, if set, gives the PIDs of embedded control-plane
	// components, for ResourceUsage.
	Processes func() map[string]int
	// Seed makes randomized tuning sets and the numbers object templates
	// draw (RandIntRange) repeatable.
	Seed uint64
	// DeleteNamespaces removes the run's namespaces at the end and waits up
	// to CleanupTimeout for them to go; a cluster about to be torn down
	// does not need it.
	DeleteNamespaces bool
	CleanupTimeout   time.Duration
}

// gatherTimeout bounds gathering after an interrupted or failed run.
const gatherTimeout = 2 * time.Minute

// runner is one run in progress.
type runner struct {
	cfg        Config
	log        *zap.Logger
	client     kubernetes.Interface
	objects    *loadgen.Objects
	calls      *measurements.ClientCalls
	namespaces []string
	created    []string // namespaces this run created
	phases     *phaseState
	methods    *measurements.Registry
	deps       measurements.Deps // of the measurements it constructs
	// tuningSets are built once per run, so that phases using one
	// globalQPSLoad set share its token bucket.
	tuningSets map[string]loadgen.TuningSet
	// mu guards the started measurements and the run's findings, which
	// actions of one step change in parallel.
	mu         sync.Mutex
	started    map[string]startedMeasurement
	startOrder []string
	run        *results.Run
}

type startedMeasurement struct {
	method string
	m      measurements.Measurement
}

// Run runs the scenario and records what was measured in run. When the run
// fails or ctx ends, run says so (Error, Partial) and still holds whatever
// the started measurements had seen.
func Run(ctx context.Context, cfg Config, run *results.Run) {
	r, err := newRunner(cfg, run)
	if err == nil {
		err = r.execute(ctx)
	}
	if err != nil {
		run.Partial = true
		run.Error = err.Error()
		if ctx.Err() != nil {
			run.Error = "interrupted: " + run.Error
		}
	}
	if r == nil {
		run.Ended = time.Now()
		return
	}
	r.gatherPending(context.WithoutCancel(ctx))
	// The run ends with its last measurement; cleanup is not part of it.
	run.Ended = time.Now()
	r.cleanUp(context.WithoutCancel(ctx))
}

// Client rate limits of the runner's watchers and barriers. The load
// generator's own client has none: tuning sets pace it, and a client-side
// limiter would silently slow a scenario below the rate it asks for.
const (
	clientQPS   = 100
	clientBurst = 200
)

func newRunner(cfg Config, run *results.Run) (*runner, error) {
	watchers := rest.CopyConfig(cfg.Rest)
	watchers.QPS, watchers.Burst = clientQPS, clientBurst
	load := rest.CopyConfig(cfg.Rest)
	load.QPS = -1 // no client-side limiter (client-go builds none for QPS < 0)
	client, err := kubernetes.NewForConfig(watchers)
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(load)
	if err != nil {
		return nil, fmt.Errorf("creating dynamic client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(watchers)
	if err != nil {
		return nil, fmt.Errorf("creating discovery client: %w", err)
	}
	watchDyn, err := dynamic.NewForConfig(watchers)
	if err != nil {
		return nil, fmt.Errorf("creating dynamic client: %w", err)
	}
	calls := &measurements.ClientCalls{}
	r := &runner{cfg: cfg, log: cfg.Log, client: client, calls: calls, run: run,
		objects: &loadgen.Objects{Dynamic: dyn, Mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)),
			Observe: calls.Observe},
		phases: newPhaseState(cfg.Scenario), started: map[string]startedMeasurement{}, methods: measurements.NewRegistry()}
	r.tuningSets = map[string]loadgen.TuningSet{}
	for _, spec := range cfg.Scenario.TuningSets {
		ts, err := spec.TuningSet()
		if err != nil {
			return nil, fmt.Errorf("tuning set %s: %w", spec.Name, err)
		}
		r.tuningSets[spec.Name] = ts
	}
	for i := 1; i <= cfg.Scenario.Namespaces.Count; i++ {
		r.namespaces = append(r.namespaces, fmt.Sprintf("%s-%d", cfg.Scenario.Namespaces.Prefix, i))
	}
	r.deps = measurements.Deps{Client: client, Dynamic: watchDyn, Namespaces: r.namespaces, Probes: cfg.Probes,
		Processes: cfg.Processes, Log: cfg.Log}
	return r, nil
}

func (r *runner) execute(ctx context.Context) error {
	if err := r.removeStaleNamespaces(ctx); err != nil {
		return err
	}
	if err := r.createNamespaces(ctx); err != nil {
		return err
	}
	steps := r.cfg.Scenario.Steps
	for i, st := range steps {
		begin := time.Now()
		r.log.Info(fmt.Sprintf("step %d of %d: %s", i+1, len(steps), st.Name))
		var err error
		if len(st.Phases) > 0 {
			err = r.runPhases(ctx, i, st.Phases)
		} else {
			err = r.runActions(ctx, st.Measurements)
		}
		if err != nil {
			return fmt.Errorf("step %d of %d (%s): %w", i+1, len(steps), st.Name, err)
		}
		r.log.Info(fmt.Sprintf("step %d of %d done", i+1, len(steps)), zap.Duration("took", time.Since(begin).Round(time.Millisecond)))
	}
	return nil
}

// gatherPending gathers the measurements a failed or interrupted run left
// started, and adds the client-side call latencies. Those that only hold
// the run are dropped when it has stopped: there is nothing to wait for.
func (r *runner) gatherPending(ctx context.Context) {
	r.mu.Lock()
	pending := r.pendingGathers()
	r.mu.Unlock()
	for _, id := range pending {
		if r.run.Partial && r.dispose(id) {
			continue
		}
		if err := r.gather(ctx, id); err != nil {
			r.log.Warn("gathering after the run stopped", zap.String("measurement", id), zap.Error(err))
		}
	}
	r.run.Add(measurements.ClientAPICallsName, measurements.ClientAPICallsName, r.calls.Summary())
}

// cleanUp deletes the run's namespaces if asked to. A cleanup that fails
// is a warning: it does not undo what was measured.
func (r *runner) cleanUp(ctx context.Context) {
	if !r.cfg.DeleteNamespaces {
		return
	}
	// Cluster-scoped objects are in no namespace of ours: deleted one by
	// one.
	err := errors.Join(r.deleteClusterScoped(ctx), r.deleteNamespaces(ctx))
	if err != nil {
		r.log.Warn("cleaning up", zap.Error(err))
		r.run.Warnings = append(r.run.Warnings, fmt.Sprintf("cleaning up: %v", err))
	}
}

func (r *runner) deleteClusterScoped(ctx context.Context) error {
	var errs []error
	for _, obj := range r.phases.clusterScoped() {
		errs = append(errs, r.objects.Delete(ctx, obj))
	}
	return errors.Join(errs...)
}

// pendingGathers are the measurements still started, in start order.
func (r *runner) pendingGathers() []string {
	var out []string
	for _, id := range r.startOrder {
		if _, ok := r.started[id]; ok && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}
