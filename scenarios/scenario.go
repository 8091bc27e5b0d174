// Package scenarios reads scenario files: parameters, namespaces, tuning
// sets and ordered steps of phases or measurement actions.
package scenarios

import (
	"bytes"
	"fmt"
	"io/fs"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hollowmark/hollowmark/internal/boundedtemplate"
)

// Scenario is a parsed, validated scenario.
type Scenario struct {
	Name        string          `yaml:"name"`
	Description string          `yaml:"description"`
	Parameters  map[string]any  `yaml:"parameters"`
	Namespaces  Namespaces      `yaml:"namespaces"`
	TuningSets  []TuningSetSpec `yaml:"tuningSets"`
	Steps       []Step          `yaml:"steps"`
	// Chaos is what fails on purpose while the scenario runs.
	Chaos *Chaos `yaml:"chaos"`
	// File is the scenario's name in the file system it was read from,
	// whose other files are its object templates; Dir is the directory of
	// a scenario read from disk, empty for a built-in one.
	File string `yaml:"-"`
	Dir  string `yaml:"-"`
	// FS holds the scenario and its templates; Rendered is the scenario
	// text after parameter substitution, as it ran.
	FS       fs.FS  `yaml:"-"`
	Rendered []byte `yaml:"-"`
	// Templates renders the object templates; nil means ours (see
	// Template). A scenario translated from another format brings its own.
	Templates TemplateSet `yaml:"-"`
	// Warnings are what reading the scenario found doubtful but not wrong
	// (e.g. a parameter of another format that has no effect here); a run
	// reports them.
	Warnings []string `yaml:"-"`
}

// Chaos is the faults a scenario injects from its start to its end.
type Chaos struct {
	NodeFailure *NodeFailure `yaml:"nodeFailure"`
}

// NodeFailure fails hollow nodes of this process as ClusterLoader2's chaos
// monkey fails nodes: after a jittered Interval, and again after each
// jittered Interval, ceil(FailureRate × N) of the N Ready, schedulable,
// untainted nodes not failed before stop their kubelet and runtime for
// SimulatedDowntime, then reboot. A jitter of Interval × JitterFactor at
// most is added; 0 means 1, as CL2's wait.Jitter takes it.
type NodeFailure struct {
	FailureRate       float64  `yaml:"failureRate"`
	Interval          Duration `yaml:"interval"`
	JitterFactor      float64  `yaml:"jitterFactor"`
	SimulatedDowntime Duration `yaml:"simulatedDowntime"`
}

// TemplateSet parses and renders object templates. Ours see Name, Index,
// Namespace and Params; a ClusterLoader2 config's see CL2's data and
// functions.
type TemplateSet interface {
	// Parse reads and parses the template file at name in fsys.
	Parse(fsys fs.FS, name string) (*template.Template, error)
	// Execute renders one replica of o: YAML of one or more objects.
	Execute(t *template.Template, o Object, r Replica) ([]byte, error)
}

// Replica is one instance of an object: its name, index and namespace
// ("" for a cluster-scoped object).
type Replica struct {
	Name      string
	Index     int
	Namespace string
}

// Namespaces are the test namespaces, named Prefix-1 … Prefix-Count.
type Namespaces struct {
	Count  int    `yaml:"count"`
	Prefix string `yaml:"prefix"`
}

// TuningSetSpec is one named tuning set: exactly one kind is set, with an
// optional parallelism cap. The *Load kinds are ClusterLoader2's, with its
// parameter names and meanings; the others are hollowmark's shorthands.
type TuningSetSpec struct {
	Name          string        `yaml:"name"`
	QPS           float64       `yaml:"qps"`
	RandomizedQPS float64       `yaml:"randomizedQPS"`
	Poisson       float64       `yaml:"poisson"`
	SteppedBurst  *SteppedBurst `yaml:"steppedBurst"`
	TimeLimited   Duration      `yaml:"timeLimited"`
	Parallelism   int           `yaml:"parallelism"`

	QPSLoad                   *QPSLoad                `yaml:"qpsLoad"`
	RandomizedLoad            *RandomizedLoad         `yaml:"randomizedLoad"`
	SteppedLoad               *SteppedLoad            `yaml:"steppedLoad"`
	TimeLimitedLoad           *TimeLimitedLoad        `yaml:"timeLimitedLoad"`
	RandomizedTimeLimitedLoad *TimeLimitedLoad        `yaml:"randomizedTimeLimitedLoad"`
	ParallelismLimitedLoad    *ParallelismLimitedLoad `yaml:"parallelismLimitedLoad"`
	GlobalQPSLoad             *GlobalQPSLoad          `yaml:"globalQPSLoad"`
	PoissonLoad               *PoissonLoad            `yaml:"poissonLoad"`
}

// SteppedBurst starts Size actions every Delay.
type SteppedBurst struct {
	Size  int      `yaml:"size"`
	Delay Duration `yaml:"delay"`
}

// QPSLoad starts one action every 1/QPS seconds.
type QPSLoad struct {
	QPS float64 `yaml:"qps"`
}

// RandomizedLoad draws the time between starts uniformly from
// [0, 2/AverageQPS).
type RandomizedLoad struct {
	AverageQPS float64 `yaml:"averageQps"`
}

// SteppedLoad starts BurstSize actions at once, then waits StepDelay.
type SteppedLoad struct {
	BurstSize int      `yaml:"burstSize"`
	StepDelay Duration `yaml:"stepDelay"`
}

// TimeLimitedLoad spreads the starts over TimeLimit: evenly
// (timeLimitedLoad), or each at a uniformly random time
// (randomizedTimeLimitedLoad).
type TimeLimitedLoad struct {
	TimeLimit Duration `yaml:"timeLimit"`
}

// ParallelismLimitedLoad runs actions as fast as they end, at most
// ParallelismLimit at once.
type ParallelismLimitedLoad struct {
	ParallelismLimit int `yaml:"parallelismLimit"`
}

// GlobalQPSLoad paces starts through one token bucket (QPS, Burst) shared
// by every phase of the run that uses this tuning set.
type GlobalQPSLoad struct {
	QPS   float64 `yaml:"qps"`
	Burst int     `yaml:"burst"`
}

// PoissonLoad starts actions as a Poisson process.
type PoissonLoad struct {
	ExpectedActionsPerSecond float64 `yaml:"expectedActionsPerSecond"`
}

// Step is either phases (run in parallel) or measurement actions.
type Step struct {
	Name         string              `yaml:"name"`
	Phases       []Phase             `yaml:"phases"`
	Measurements []MeasurementAction `yaml:"measurements"`
}

// Phase declares how many replicas of its objects each namespace of the
// range should have; the runner creates, scales or deletes to get there.
// Without a namespace range the objects are cluster-scoped, and
// ReplicasPerNamespace is their count.
type Phase struct {
	NamespaceRange       *Range   `yaml:"namespaceRange"`
	ReplicasPerNamespace int      `yaml:"replicasPerNamespace"`
	TuningSet            string   `yaml:"tuningSet"`
	Objects              []Object `yaml:"objects"`
	// Bundles reconciles as ClusterLoader2 does: one action per namespace
	// and replica index doing each object in turn, namespace after
	// namespace; objects are created (POST) and updated (GET and merge
	// patch) rather than applied, and all are updated whenever the wanted
	// count equals the existing one. Only translated CL2 configs set it.
	Bundles bool `yaml:"-"`
}

// Range is an inclusive range of namespace indices, from 1.
type Range struct {
	Min int `yaml:"min"`
	Max int `yaml:"max"`
}

// Object is one object per replica, made from a template file with
// Go-template parameters (Name, Index, Namespace, and Params).
type Object struct {
	Basename string         `yaml:"basename"`
	Template string         `yaml:"template"`
	Params   map[string]any `yaml:"params"`
}

// MeasurementAction starts or gathers a measurement, or waits for a
// condition.
type MeasurementAction struct {
	Identifier string         `yaml:"identifier"`
	Method     string         `yaml:"method"`
	Action     string         `yaml:"action"`
	Params     map[string]any `yaml:"params"`
}

// Duration is a time.Duration written as "30s" or "5m".
type Duration time.Duration

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(node *yaml.Node) error {
	v, err := time.ParseDuration(node.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration such as 30s or 5m", node.Line, node.Value)
	}
	*d = Duration(v)
	return nil
}

// Template parses an object's template file: by the scenario's TemplateSet
// if it has one, else with the same functions as scenario files, for
// loadgen.Render.
func (s *Scenario) Template(o Object) (*template.Template, error) {
	if s.Templates != nil {
		return s.Templates.Parse(s.FS, s.TemplatePath(o))
	}
	src, err := readFile(s.FS, s.TemplatePath(o))
	if err != nil {
		return nil, fmt.Errorf("reading template %s: %w", o.Template, err)
	}
	tmpl, err := boundedtemplate.Parse(o.Template, string(src), funcs)
	if err != nil {
		return nil, fmt.Errorf("parsing template %s: %w", o.Template, err)
	}
	return tmpl, nil
}

// Render executes an object's parsed template for one replica: by the
// scenario's TemplateSet if it has one, else with our data (Name, Index,
// Namespace, Params).
func (s *Scenario) Render(t *template.Template, o Object, r Replica) ([]byte, error) {
	if s.Templates != nil {
		return s.Templates.Execute(t, o, r)
	}
	var buf bytes.Buffer
	data := struct {
		Name      string
		Index     int
		Namespace string
		Params    map[string]any
	}{r.Name, r.Index, r.Namespace, o.Params}
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("rendering %s for %s: %w", t.Name(), r.Name, err)
	}
	return buf.Bytes(), nil
}
