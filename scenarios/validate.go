package scenarios

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"

	"github.com/hollowmark/hollowmark/loadgen"
	"github.com/hollowmark/hollowmark/measurements"
)

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Locator says where a field of a scenario was written: the file and line
// of the field at path (mapping keys and sequence indices).
type Locator func(path ...any) (file string, line int)

// YAMLLocator finds fields in a scenario file's YAML.
func YAMLLocator(file string, root *yaml.Node) Locator {
	return func(path ...any) (string, int) { return file, lineOf(root, path...) }
}

// validator collects errors with the line of the field they are about.
type validator struct {
	locate Locator
	errs   []error
}

func (v *validator) fail(msg string, path ...any) {
	file, line := v.locate(path...)
	v.errs = append(v.errs, &Error{File: file, Line: line, Field: fieldName(path), Msg: msg})
}

// Validate checks a scenario built in code (e.g. translated from another
// format); errors are placed by locate. It fills in defaults as loading a
// file does.
func (s *Scenario) Validate(locate Locator) error {
	return s.validate(locate, s.FS)
}

func (s *Scenario) validate(locate Locator, fsys fs.FS) error {
	v := &validator{locate: locate}
	if !dnsLabel.MatchString(s.Name) {
		v.fail("must be a lower-case name of letters, digits and '-'", "name")
	}
	if s.Namespaces.Count < 0 {
		v.fail("must be >= 0", "namespaces", "count")
	}
	field := []any{"namespaces", "prefix"}
	if s.Namespaces.Prefix == "" {
		s.Namespaces.Prefix = s.Name
		field = []any{"name"}
	}
	s.validateNamespaceNames(v, field)
	sets := map[string]bool{}
	for i, ts := range s.TuningSets {
		if sets[ts.Name] {
			v.fail(fmt.Sprintf("duplicate tuning set %q", ts.Name), "tuningSets", i, "name")
		}
		sets[ts.Name] = true
		if ts.Parallelism < 0 {
			v.fail("must be >= 0 (0: no cap)", "tuningSets", i, "parallelism")
		}
		if _, err := ts.TuningSet(); err != nil {
			v.fail(err.Error(), "tuningSets", i)
		}
	}
	if len(s.Steps) == 0 {
		v.fail("a scenario needs at least one step", "steps")
	}
	methods := measurements.NewRegistry()
	started := map[string]string{}
	for i, st := range s.Steps {
		switch {
		case len(st.Phases) > 0 && len(st.Measurements) > 0:
			v.fail("a step has phases or measurements, not both", "steps", i)
		case len(st.Phases) == 0 && len(st.Measurements) == 0:
			v.fail("a step needs phases or measurements", "steps", i)
		}
		for j, ph := range st.Phases {
			s.validatePhase(v, fsys, sets, ph, "steps", i, "phases", j)
		}
		validateOverlap(v, st.Phases, i)
		for j, m := range st.Measurements {
			validateMeasurement(v, methods, started, m, "steps", i, "measurements", j)
			s.validateNodeCount(v, m, "steps", i, "measurements", j)
		}
	}
	validateChaos(v, s.Chaos)
	return errors.Join(v.errs...)
}

func validateChaos(v *validator, c *Chaos) {
	if c == nil || c.NodeFailure == nil {
		return
	}
	nf := c.NodeFailure
	at := func(f string) []any { return []any{"chaos", "nodeFailure", f} }
	if nf.FailureRate <= 0 || nf.FailureRate > 1 {
		v.fail(fmt.Sprintf("%v: must be in (0, 1], the share of nodes failed each interval", nf.FailureRate), at("failureRate")...)
	}
	if nf.Interval <= 0 {
		v.fail("must be > 0", at("interval")...)
	}
	if nf.JitterFactor < 0 {
		v.fail("must be >= 0", at("jitterFactor")...)
	}
	if nf.SimulatedDowntime < 0 {
		v.fail("must be >= 0", at("simulatedDowntime")...)
	}
}

// validateNamespaceNames checks the longest namespace name the runner
// will make, prefix-count, as the API server would.
func (s *Scenario) validateNamespaceNames(v *validator, field []any) {
	if s.Namespaces.Count < 1 {
		return
	}
	name := fmt.Sprintf("%s-%d", s.Namespaces.Prefix, s.Namespaces.Count)
	if err := loadgen.CheckName("Namespace", name); err != nil {
		v.fail(fmt.Sprintf("makes namespace %s", err), field...)
	}
}

// validateNodeCount refuses a wait for more Ready nodes than the
// scenario's nodes parameter says the cluster has: it could only time out.
func (s *Scenario) validateNodeCount(v *validator, m MeasurementAction, at ...any) {
	nodes, ok := s.Parameters["nodes"].(int)
	if m.Method != "WaitForNodesReady" || !ok {
		return
	}
	if want, ok := m.Params["minCount"].(int); ok && want > nodes {
		v.fail(fmt.Sprintf("%d is more than the %d nodes of the cluster (parameter nodes)", want, nodes), append(at, "params", "minCount")...)
	}
}

func (s *Scenario) validatePhase(v *validator, fsys fs.FS, sets map[string]bool, ph Phase, at ...any) {
	field := func(f ...any) []any { return append(append([]any{}, at...), f...) }
	if !sets[ph.TuningSet] {
		v.fail(fmt.Sprintf("unknown tuning set %q", ph.TuningSet), field("tuningSet")...)
	}
	if r := ph.NamespaceRange; r != nil && (r.Min < 1 || r.Max < r.Min || r.Max > s.Namespaces.Count) {
		v.fail(fmt.Sprintf("want 1 <= min <= max <= namespaces.count (%d), have %d..%d", s.Namespaces.Count, r.Min, r.Max), field("namespaceRange")...)
	}
	if ph.ReplicasPerNamespace < 0 {
		v.fail("must be >= 0", field("replicasPerNamespace")...)
	}
	if len(ph.Objects) == 0 {
		v.fail("a phase needs at least one object", field("objects")...)
	}
	basenames := map[string]bool{}
	for k, o := range ph.Objects {
		if !dnsLabel.MatchString(o.Basename) {
			v.fail("must be a lower-case name of letters, digits and '-'", field("objects", k, "basename")...)
		}
		// The runner keeps count of objects by basename and namespace: two
		// objects of one basename would be counted as one. CL2 bundles are
		// kept by kind too (a Service and a StatefulSet of one basename).
		if basenames[o.Basename] && !ph.Bundles {
			v.fail(fmt.Sprintf("basename %q is already used in this phase; give each object its own", o.Basename), field("objects", k, "basename")...)
		}
		basenames[o.Basename] = true
		if _, err := fs.Stat(fsys, s.TemplatePath(o)); err != nil {
			v.fail(fmt.Sprintf("template %q not found next to the scenario", o.Template), field("objects", k, "template")...)
			continue
		}
		tmpl, err := s.Template(o)
		if err != nil {
			v.fail(err.Error(), field("objects", k, "template")...)
			continue
		}
		// The runner renders an object to create it with the phase's
		// parameters, and to delete it with those it was made with, which
		// were checked then. Templates of another format (a CL2 config's)
		// are checked when their objects are made.
		r := ph.NamespaceRange
		if ph.ReplicasPerNamespace > 0 && s.Templates == nil && (r == nil || r.Min >= 1 && r.Max >= r.Min) {
			for _, e := range s.sampleObjects(tmpl, o, ph) {
				v.fail(e.Error(), field("objects", k, e.field)...)
			}
		}
	}
}

// objectError is a problem of a rendered object, and the object's field
// (template or basename) it is reported on.
type objectError struct {
	field string
	err   error
}

func (e objectError) Error() string { return e.err.Error() }

// sampleObjects renders the first and the last object a phase makes, in
// its first and last namespace, and checks them as the API server would:
// what the template makes, and the name.
func (s *Scenario) sampleObjects(tmpl *template.Template, o Object, ph Phase) []objectError {
	last := ph.ReplicasPerNamespace - 1
	first, final := "", "" // cluster-scoped
	if r := ph.NamespaceRange; r != nil {
		first, final = fmt.Sprintf("%s-%d", s.Namespaces.Prefix, r.Min), fmt.Sprintf("%s-%d", s.Namespaces.Prefix, r.Max)
	}
	samples := []loadgen.TemplateData{
		{Name: ObjectName(o.Basename, 0), Index: 0, Namespace: first, Params: o.Params},
		{Name: ObjectName(o.Basename, last), Index: last, Namespace: final, Params: o.Params},
	}
	for _, data := range samples {
		obj, err := loadgen.Render(tmpl, data)
		if err == nil {
			err = loadgen.CheckObject(obj)
		}
		if err != nil {
			return []objectError{{"template", err}}
		}
		if err := loadgen.CheckName(obj.GetKind(), data.Name); err != nil {
			return []objectError{{"basename", fmt.Errorf("makes %w", err)}}
		}
	}
	return nil
}

// ObjectName is the name of a phase's i-th object of basename (from 0).
func ObjectName(basename string, i int) string { return fmt.Sprintf("%s-%d", basename, i) }

// validateOverlap refuses two phases of one step that want the same
// objects (basename) in the same namespace: they run in parallel, and
// neither's wanted count could hold.
func validateOverlap(v *validator, phases []Phase, step int) {
	for j, a := range phases {
		for k := j + 1; k < len(phases); k++ {
			b := phases[k]
			if !overlap(a.NamespaceRange, b.NamespaceRange) {
				continue
			}
			for _, oa := range a.Objects {
				for m, ob := range b.Objects {
					if oa.Basename == ob.Basename {
						v.fail(fmt.Sprintf("phases %d and %d of this step both manage %q in overlapping namespaces", j, k, ob.Basename),
							"steps", step, "phases", k, "objects", m, "basename")
					}
				}
			}
		}
	}
}

// overlap says whether two phases' namespaces meet; cluster scope meets
// only cluster scope.
func overlap(a, b *Range) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Min <= b.Max && b.Min <= a.Max
}

// validateMeasurement checks an action against its method in the registry,
// and that gathers follow starts.
func validateMeasurement(v *validator, methods *measurements.Registry, started map[string]string, m MeasurementAction, at ...any) {
	field := func(f ...any) []any { return append(append([]any{}, at...), f...) }
	spec, ok := methods.Method(m.Method)
	if !ok {
		v.fail(fmt.Sprintf("unknown method %q (have %s)", m.Method, strings.Join(methods.Names(), ", ")), field("method")...)
		return
	}
	if !slices.Contains(spec.Actions(), m.Action) {
		v.fail(fmt.Sprintf("%s takes action %v, not %q", m.Method, spec.Actions(), m.Action), field("action")...)
		return
	}
	for _, e := range spec.CheckParams(m.Action, measurements.Params(m.Params)) {
		v.fail(e.Err.Error(), field("params", e.Param)...)
	}
	if m.Identifier == "" {
		v.fail("required", field("identifier")...)
	}
	switch m.Action {
	case measurements.ActionStart:
		if _, dup := started[m.Identifier]; dup {
			v.fail(fmt.Sprintf("%q is already started", m.Identifier), field("identifier")...)
		}
		started[m.Identifier] = m.Method
	case measurements.ActionGather:
		if method, ok := started[m.Identifier]; !ok || method != m.Method {
			v.fail(fmt.Sprintf("no earlier start of %s %q", m.Method, m.Identifier), field("identifier")...)
		}
		delete(started, m.Identifier)
	}
}

// TemplatePath is where an object's template lives: beside the scenario.
func (s *Scenario) TemplatePath(o Object) string {
	return path.Join(path.Dir(s.File), o.Template)
}

// lineOf finds the line of the node at path (mapping keys and sequence
// indices), or of the closest ancestor that exists.
func lineOf(root *yaml.Node, path ...any) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, p := range path {
		var next *yaml.Node
		switch key := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == key {
						next = n.Content[i+1]
						line = n.Content[i].Line
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && key < len(n.Content) {
				next = n.Content[key]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

func fieldName(path []any) string {
	out := ""
	for _, p := range path {
		switch p := p.(type) {
		case string:
			if out != "" {
				out += "."
			}
			out += p
		case int:
			out += "[" + strconv.Itoa(p) + "]"
		}
	}
	return out
}

// LineOf is the line of the YAML node at path (mapping keys and sequence
// indices), or of the closest ancestor that exists.
func LineOf(root *yaml.Node, path ...any) int { return lineOf(root, path...) }
