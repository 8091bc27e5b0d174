package cl2

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hollowmark/hollowmark/scenarios"
)

// translation builds our scenario from a read config, remembering where
// each of its parts was written so that errors name CL2's file and line.
type translation struct {
	r        *reader
	root     origin
	steps    []stepOrigin
	warnings []string
	started  starts
	// gathers are the params of the gather ending each start, by the
	// start's index among the calls; calls counts the calls translated.
	gathers map[int]map[string]any
	calls   int
}

// stepOrigin is where one of our steps came from; actions[j] is the CL2
// call behind our measurement action j.
type stepOrigin struct {
	at      origin
	actions []origin
}

func (r *reader) translate(cfg *config, root origin, steps []flatStep) (*scenarios.Scenario, error) {
	t := &translation{r: r, root: root, warnings: r.warnings, started: starts{}, gathers: gathersOf(steps)}
	if len(cfg.Dependencies) > 0 {
		return nil, root.fail("dependencies (installing drivers and the like before the test) are not supported", "dependencies")
	}
	chaos, err := translateChaos(cfg.ChaosMonkey, root.at("chaosMonkey"))
	if err != nil {
		return nil, err
	}
	s := &scenarios.Scenario{
		Chaos:      chaos,
		Name:       dnsName(cfg.Name),
		Parameters: r.mapping,
		Namespaces: t.namespaces(cfg),
		File:       filepath.Base(r.display),
		Dir:        r.dir,
		FS:         r.fsys,
		Rendered:   r.rendered.Bytes(),
		Templates:  &objectTemplates{dir: r.dir, rng: r.rng, mapping: r.mapping, sources: map[string]string{}},
	}
	var errs []error
	for i, ts := range cfg.TuningSets {
		spec, err := translateTuningSet(ts, root.at("tuningSets", i))
		errs = append(errs, err)
		if ts.InitialDelay != "" {
			t.warn(root.at("tuningSets", i), "initialDelay is ignored, as CL2 ignores it", "initialDelay")
		}
		s.TuningSets = append(s.TuningSets, spec)
	}
	for i, fs := range steps {
		st, so, err := t.step(fs, i)
		errs = append(errs, err)
		if err == nil && (len(st.Phases) > 0 || len(st.Measurements) > 0) {
			s.Steps = append(s.Steps, st)
			t.steps = append(t.steps, so)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.Warnings = unique(t.warnings) // a module run twice warns twice
	if err := s.Validate(t.locate); err != nil {
		return nil, err
	}
	return s, nil
}

// translateChaos maps chaosMonkey.nodeFailure onto our node failures of
// hollow nodes; what we cannot do is refused, not dropped.
func translateChaos(cm chaosMonkey, at origin) (*scenarios.Chaos, error) {
	if len(cm.ExcludedNodes) > 0 {
		return nil, at.fail("excluded nodes are not supported: node failures pick among all of this process's hollow nodes "+
			"(remove excludedNodes, or the chaos monkey)", "excludedNodes")
	}
	nf := cm.NodeFailure
	if nf == nil {
		return nil, nil
	}
	at = at.at("nodeFailure")
	duration := func(v, field string) (scenarios.Duration, error) {
		if v == "" {
			return 0, nil // CL2's zero; validation says what is missing
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, at.fail(fmt.Sprintf("%q is not a duration such as 30s or 5m", v), field)
		}
		return scenarios.Duration(d), nil
	}
	interval, err1 := duration(nf.Interval, "interval")
	downtime, err2 := duration(nf.SimulatedDowntime, "simulatedDowntime")
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	return &scenarios.Chaos{NodeFailure: &scenarios.NodeFailure{FailureRate: nf.FailureRate, Interval: interval,
		JitterFactor: nf.JitterFactor, SimulatedDowntime: downtime}}, nil
}

func (t *translation) warn(at origin, msg string, sub ...any) {
	file, line := at.where(sub...)
	t.warnings = append(t.warnings, fmt.Sprintf("%s:%d: %s", file, line, msg))
}

// namespaces are CL2's automanaged namespaces: number (default 1) named
// prefix-1 … prefix-number; the prefix defaults to the config's name
// (CL2 draws a random one).
func (t *translation) namespaces(cfg *config) scenarios.Namespaces {
	n := cfg.Namespace.Number
	if n == 0 {
		n = 1
	}
	if n == 1 && cfg.AutomanagedNamespaces > 1 { // CL2's older field
		n = cfg.AutomanagedNamespaces
	}
	ns := cfg.Namespace
	if ns.EnableExistingNamespaces != nil && *ns.EnableExistingNamespaces {
		t.warn(t.root, "existing namespaces are not reused: the run creates its own", "namespace", "enableExistingNamespaces")
	}
	return scenarios.Namespaces{Count: n, Prefix: dnsName(ns.Prefix)}
}

func (t *translation) step(fs flatStep, i int) (scenarios.Step, stepOrigin, error) {
	st := scenarios.Step{Name: fs.Name}
	if st.Name == "" {
		st.Name = fmt.Sprintf("step %d", i+1)
	}
	so := stepOrigin{at: fs.at}
	var errs []error
	for j, ph := range fs.Phases {
		p, err := t.phase(ph, fs.at.at("phases", j))
		errs = append(errs, err)
		st.Phases = append(st.Phases, p)
	}
	for j, m := range fs.Measurements {
		at := fs.at.at("measurements", j)
		calls, err := measurementCalls(m, at)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, c := range calls {
			a, warnings, err := c.translate(t.started, t.gathers[t.calls])
			t.calls++
			switch {
			case err != nil:
				errs = append(errs, err)
			case a != nil:
				st.Measurements = append(st.Measurements, *a)
				so.actions = append(so.actions, c.at)
			}
			t.warnings = append(t.warnings, warnings...)
		}
	}
	return st, so, errors.Join(errs...)
}

func (t *translation) phase(ph phase, at origin) (scenarios.Phase, error) {
	out := scenarios.Phase{ReplicasPerNamespace: ph.ReplicasPerNamespace, TuningSet: ph.TuningSet, Bundles: true}
	switch {
	case ph.NamespaceList != nil:
		return out, at.fail("namespaceList is not supported: phases act on the run's namespaces (namespaceRange) or the cluster", "namespaceList")
	case ph.NamespaceRange != nil && ph.NamespaceRange.Basename != nil:
		return out, at.fail("namespaces other than the run's are not supported", "namespaceRange", "basename")
	case ph.NamespaceRange != nil:
		out.NamespaceRange = &scenarios.Range{Min: ph.NamespaceRange.Min, Max: ph.NamespaceRange.Max}
	}
	for k, o := range ph.ObjectBundle {
		if o.ListUnknownObjectOptions != nil {
			return out, at.fail("listUnknownObjectOptions (deleting objects the test did not create, such as a StatefulSet's PVCs) is not supported", "objectBundle", k, "listUnknownObjectOptions")
		}
		out.Objects = append(out.Objects, scenarios.Object{Basename: o.Basename,
			Template: strings.TrimPrefix(o.ObjectTemplatePath, "/"), Params: o.TemplateFillMap})
	}
	return out, nil
}

// locate finds where a field of our scenario was written in CL2's files.
func (t *translation) locate(path ...any) (string, int) {
	if len(path) >= 2 && path[0] == "steps" {
		if i, ok := path[1].(int); ok && i < len(t.steps) {
			return t.steps[i].locate(path[2:])
		}
	}
	if len(path) >= 2 && path[0] == "tuningSets" {
		return t.root.where(path[:2]...)
	}
	if len(path) >= 1 && path[0] == "chaos" {
		return t.root.where(append([]any{"chaosMonkey"}, path[1:]...)...)
	}
	return t.root.where()
}

// ourToCL2 renames our fields to CL2's.
var ourToCL2 = map[string]string{"objects": "objectBundle", "template": "objectTemplatePath", "params": "templateFillMap"}

func (so stepOrigin) locate(path []any) (string, int) {
	if len(path) >= 2 && path[0] == "measurements" {
		if j, ok := path[1].(int); ok && j < len(so.actions) {
			return so.actions[j].where()
		}
	}
	var cl2 []any
	for _, p := range path {
		if s, ok := p.(string); ok && ourToCL2[s] != "" {
			p = ourToCL2[s]
		}
		cl2 = append(cl2, p)
	}
	return so.at.where(cl2...)
}

// unique is list without repeats, in order.
func unique(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsName makes a CL2 name (free text) a DNS label for our namespaces and
// run ids.
func dnsName(s string) string {
	s = strings.Trim(notDNS.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 40 {
		s = strings.Trim(s[:40], "-")
	}
	return s
}
