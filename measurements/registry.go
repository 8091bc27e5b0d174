package measurements

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/hollow"
)

// Actions a scenario's measurement entry takes: start and gather bracket
// what a measurement observes; wait holds the run at a barrier.
const (
	ActionStart  = "start"
	ActionGather = "gather"
	ActionWait   = "wait"
)

// Deps are what the runner gives the measurements it constructs.
type Deps struct {
	Client kubernetes.Interface
	// Dynamic reads any resource, for methods that name one by group,
	// version and resource.
	Dynamic dynamic.Interface
	// Namespaces are the run's test namespaces.
	Namespaces []string
	// Probes, if set, are the node-side probes of our hollow nodes.
	Probes func() []hollow.PodProbes
	// Processes, if set, gives the PIDs of embedded control-plane
	// components.
	Processes func() map[string]int
	// Log hears barriers' progress; nil is quiet.
	Log *zap.Logger
}

func (d Deps) log() *zap.Logger {
	if d.Log == nil {
		return zap.NewNop()
	}
	return d.Log
}

// Barrier holds the run until its condition holds. What it found, if
// anything, goes into the run's results; nil means nothing to record.
type Barrier func(ctx context.Context) (*Summary, error)

// Method is one measurement method a scenario may name: its parameters,
// and constructors for the actions it takes. Each measurement's file
// declares its own.
type Method struct {
	Name string
	// Doc says what the method does, for the reference table.
	Doc    string
	Params []ParamSpec
	// Start builds what a start action begins and its gather ends; nil
	// when the method takes no start and gather.
	Start func(Params, Deps) (Measurement, error)
	// Wait builds the barrier of a wait action; nil when the method takes
	// no wait.
	Wait func(Params, Deps) (Barrier, error)
}

// Actions are the actions the method takes.
func (m Method) Actions() []string {
	var out []string
	if m.Start != nil {
		out = append(out, ActionStart, ActionGather)
	}
	if m.Wait != nil {
		out = append(out, ActionWait)
	}
	return out
}

// Param is the declared parameter of that name.
func (m Method) Param(name string) (ParamSpec, bool) {
	for _, p := range m.Params {
		if p.Name() == name {
			return p, true
		}
	}
	return nil, false
}

// ParamNames are the parameters' names, sorted, or "none".
func (m Method) ParamNames() string {
	var names []string
	for _, p := range m.Params {
		names = append(names, p.Name())
	}
	if len(names) == 0 {
		return "none"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// CheckParams says what is wrong with an action's parameters: unknown
// ones, values of the wrong type, and (but for a gather, which takes what
// its start was given) required ones left out. In order of name.
func (m Method) CheckParams(action string, ps Params) []ParamError {
	var out []ParamError
	for _, name := range slices.Sorted(maps.Keys(ps)) {
		p, ok := m.Param(name)
		if !ok {
			out = append(out, ParamError{name, fmt.Errorf("%s has no parameter %q (have %s)", m.Name, name, m.ParamNames())})
			continue
		}
		if err := p.Check(ps[name]); err != nil {
			out = append(out, ParamError{name, err})
		}
	}
	if action == ActionGather {
		return out
	}
	for _, p := range m.Params {
		if _, ok := ps[p.Name()]; p.Required() && !ok {
			out = append(out, ParamError{p.Name(), errors.New("required")})
		}
	}
	return out
}

// Registry is the table of measurement methods: the one place a method is
// named. Scenario validation, the runner and the reference table in
// docs/scenarios.md all read it.
type Registry struct {
	methods map[string]Method
}

// NewRegistry is the table of every method hollowmark has.
func NewRegistry() *Registry {
	return newRegistry(
		podStartupLatencyMethod(),
		apiResponsivenessMethod(),
		schedulingThroughputMethod(),
		resourceUsageMethod(),
		waitForControlledPodsRunningMethod(),
		waitForNodesReadyMethod(),
		waitForRunningPodsMethod(),
		waitForGenericK8sObjectsMethod(),
		sleepMethod(),
		unsupportedMethod(),
	)
}

func newRegistry(methods ...Method) *Registry {
	r := &Registry{methods: map[string]Method{}}
	for _, m := range methods {
		r.methods[m.Name] = m
	}
	return r
}

// Names are the methods' names, sorted.
func (r *Registry) Names() []string { return slices.Sorted(maps.Keys(r.methods)) }

// Method is the method of that name.
func (r *Registry) Method(name string) (Method, bool) {
	m, ok := r.methods[name]
	return m, ok
}

// lookup finds a method that takes action and whose parameters are right.
func (r *Registry) lookup(name, action string, ps Params) (Method, error) {
	m, ok := r.methods[name]
	if !ok {
		return Method{}, fmt.Errorf("unknown method %q (have %s)", name, strings.Join(r.Names(), ", "))
	}
	if !slices.Contains(m.Actions(), action) {
		return Method{}, fmt.Errorf("%s takes action %v, not %q", name, m.Actions(), action)
	}
	var errs []error
	for _, e := range m.CheckParams(action, ps) {
		errs = append(errs, e)
	}
	if err := errors.Join(errs...); err != nil {
		return Method{}, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

// Measurement builds what a start action of method begins.
func (r *Registry) Measurement(method string, ps Params, d Deps) (Measurement, error) {
	m, err := r.lookup(method, ActionStart, ps)
	if err != nil {
		return nil, err
	}
	return m.Start(ps, d)
}

// Barrier builds the barrier of a wait action of method.
func (r *Registry) Barrier(method string, ps Params, d Deps) (Barrier, error) {
	m, err := r.lookup(method, ActionWait, ps)
	if err != nil {
		return nil, err
	}
	return m.Wait(ps, d)
}

// progressEvery is how often a barrier logs where it stands.
const progressEvery = 5 * time.Second

// progressLog logs msg with fields and the time since the barrier began,
// at most every progressEvery: barriers report far more often.
func progressLog(log *zap.Logger, msg string) func(fields ...zap.Field) {
	begin, last := time.Now(), time.Time{}
	return func(fields ...zap.Field) {
		if time.Since(last) < progressEvery {
			return
		}
		last = time.Now()
		log.Info(msg, append(fields, zap.Duration("elapsed", time.Since(begin).Round(time.Second)))...)
	}
}

// noFindings makes a barrier of a wait that records nothing.
func noFindings(wait func(context.Context) error) Barrier {
	return func(ctx context.Context) (*Summary, error) { return nil, wait(ctx) }
}
