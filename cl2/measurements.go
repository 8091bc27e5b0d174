package cl2

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hollowmark/hollowmark/measurements"
	"github.com/hollowmark/hollowmark/scenarios"
)

// methodMap says how a CL2 measurement method runs here.
type methodMap struct {
	// ours is our method.
	ours string
	// actions maps CL2's action parameter to our action; under "" the
	// action of a method CL2 runs without one.
	actions map[string]string
	// params maps CL2's parameter names to ours.
	params map[string]param
	// noop says whether a call does nothing (e.g. a Sleep of 0s, which
	// ours refuses as a duration).
	noop func(params map[string]any) bool
	// regather is our action for a gather after a gather: CL2 may gather a
	// barrier again (wait for the pods to be created, then deleted), ours
	// then waits with the start's params.
	regather string
}

// param is how one CL2 parameter translates. With no ours, CL2 reads it
// and we do not honour it: a value that changes nothing here (ignore) is
// dropped, any other is dropped with a warning saying why. A parameter
// with a CL2 default (def, read on action on) that we do not honour warns
// when left out too. absent is our value for CL2's behaviour when the
// parameter is left out, where our default differs.
type param struct {
	ours    string // our parameter; "a.b" sets key b of map parameter a
	convert func(any) (any, error)
	ignore  func(any) bool
	why     string
	def     any
	on      string
	absent  any
}

// selectorParams are CL2's object selector (namespace, labelSelector,
// fieldSelector): we select in the run's namespaces, as CL2 does with no
// namespace in a cluster where the test's namespaces are the only ones
// with its labels.
var selectorParams = map[string]param{
	"labelSelector": {ours: "labelSelector", convert: str},
	"namespace":     {ignore: isEmpty, why: "measurements select in the run's namespaces"},
	"fieldSelector": {ignore: isEmpty, why: "field selectors are not supported"},
}

// methods is the one table of CL2 measurement methods we run. A method
// not here runs as our Unsupported: a skipped check, and the run goes on.
var methods = map[string]methodMap{
	"PodStartupLatency": {ours: "PodStartupLatency", actions: startGather, params: with(selectorParams, map[string]param{
		"threshold":        {ours: "threshold", convert: durationString},
		"perc50Threshold":  {ours: "thresholds.p50", convert: durationString},
		"perc90Threshold":  {ours: "thresholds.p90", convert: durationString},
		"perc99Threshold":  {ours: "thresholds.p99", convert: durationString},
		"schedulerName":    {ignore: equals("default-scheduler"), why: "pods of every scheduler are measured"},
		"mapEventsByOrder": {ignore: equals(false), why: "scheduling times come from our watch, not from events"},
	})},
	"APIResponsivenessPrometheus": {ours: "APIResponsiveness", actions: startGather, params: map[string]param{
		// CL2 reads it at gather and, unset, reports slow calls without
		// failing the test; ours takes it at start, as enforce.
		"enableViolations": {ours: "enforce", on: "gather", convert: boolean, absent: false},
		// CL2's simple query is one histogram_quantile over the whole
		// measurement: ours with a window longer than any run.
		"useSimpleLatencyQuery": {ours: "window", on: "gather", convert: func(v any) (any, error) {
			if b, ok := v.(bool); !ok {
				return nil, fmt.Errorf("want true or false, have %v", v)
			} else if b {
				return wholeRunWindow, nil
			}
			return nil, nil
		}},
		"summaryName":             {ignore: always},
		"allowedSlowCalls":        {ignore: equals(0.0), why: "no slow calls are allowed"},
		"customThresholds":        {ignore: isEmpty, why: "the SLO's thresholds (1s, 5s, 30s) apply"},
		"singleResourceThreshold": {ignore: equals("1s"), why: "single-object calls are checked against 1s"},
	}},
	"SchedulingThroughput": {ours: "SchedulingThroughput", actions: startGather, params: with(selectorParams, map[string]param{
		"measurmentInterval": {ours: "interval", convert: durationString}, // CL2's spelling
		"threshold":          {ignore: equals(0.0), why: "scheduling throughput is reported, not checked"},
		"enableViolations":   {ignore: always},
	})},
	"WaitForControlledPodsRunning": {ours: "WaitForControlledPodsRunning", actions: startGather, regather: "wait", params: with(selectorParams, map[string]param{
		"operationTimeout":      {ours: "timeout", convert: durationString},
		"apiVersion":            {ours: "apiVersion", convert: str},
		"kind":                  {ours: "kind", convert: str},
		"checkIfPodsAreUpdated": {ignore: always},
		"countErrorMargin":      {ignore: equals(0.0), why: "every controller must have exactly its pods"},
		"syncTimeout":           {ignore: always},
	})},
	"WaitForRunningPods": {ours: "WaitForRunningPods", actions: map[string]string{"": "wait"}, params: map[string]param{
		"labelSelector":   {ours: "labelSelector", convert: str},
		"fieldSelector":   {ours: "fieldSelector", convert: str},
		"namespace":       {ours: "scope", convert: func(any) (any, error) { return "run", nil }, absent: "all"},
		"desiredPodCount": {ours: "desiredPodCount", convert: whole},
		"timeout":         {ours: "timeout", convert: durationString},
		"refreshInterval": {ignore: always},
		"isFatal":         {ignore: always},
	}},
	"WaitForGenericK8sObjects": {ours: "WaitForGenericK8sObjects", actions: map[string]string{"": "wait"}, params: map[string]param{
		"objectGroup":           {ours: "objectGroup", convert: str},
		"objectVersion":         {ours: "objectVersion", convert: str},
		"objectResource":        {ours: "objectResource", convert: str},
		"labelSelector":         {ours: "labelSelector", convert: str},
		"namespaceRange":        {ours: "scope", convert: namespaceScope, absent: "cluster"},
		"successfulConditions":  {ours: "successfulConditions"},
		"failedConditions":      {ours: "failedConditions"},
		"minDesiredObjectCount": {ours: "minDesiredObjectCount", convert: whole},
		"maxFailedObjectCount":  {ours: "maxFailedObjectCount", convert: whole},
		"timeout":               {ours: "timeout", convert: durationString},
		"refreshInterval":       {ignore: always},
	}},
	"Sleep": {ours: "Sleep", actions: map[string]string{"": "wait"}, params: map[string]param{
		"duration": {ours: "duration", convert: durationString},
	}, noop: func(p map[string]any) bool {
		d, _ := p["duration"].(string)
		v, err := time.ParseDuration(d)
		return err == nil && v == 0
	}},
	"ResourceUsageSummary": {ours: "ResourceUsage", actions: startGather, params: map[string]param{
		"resourceConstraints": {ignore: isEmpty, why: "resource usage is reported, not checked"},
		"host":                {ignore: always},
		"namespace":           {ignore: always},
		"provider":            {ignore: always},
	}},
	"WaitForNodes": {ours: "WaitForNodesReady", actions: map[string]string{"": "wait"}, params: with(selectorParams, map[string]param{
		"minDesiredNodeCount": {ours: "minCount", convert: whole},
		"maxDesiredNodeCount": {ignore: always},
		"timeout":             {ours: "timeout", convert: durationString},
		"refreshInterval":     {ignore: always},
	})},
}

// namespaceScope reads WaitForGenericK8sObjects' namespaceRange: all
// namespaces, or a range of the run's (we count in all of the run's).
func namespaceScope(v any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want {min, max} or {allNamespaces: true}, have %v", v)
	}
	if all, _ := m["allNamespaces"].(bool); all {
		return "all", nil
	}
	if _, other := m["prefix"]; other {
		return nil, errors.New("namespaces other than the run's (prefix) are not supported")
	}
	return "run", nil
}

// wholeRunWindow is a window longer than any run: APIResponsiveness then
// checks the whole run, as one window.
const wholeRunWindow = "8760h"

var startGather = map[string]string{"start": "start", "gather": "gather"}

func with(a, b map[string]param) map[string]param {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

func always(any) bool { return true }

func isEmpty(v any) bool { return v == nil || v == "" }

func equals(want any) func(any) bool {
	return func(v any) bool {
		if d, ok := want.(string); ok {
			if w, err := time.ParseDuration(d); err == nil {
				if s, ok := v.(string); ok {
					got, err := time.ParseDuration(s)
					return err == nil && got == w
				}
			}
		}
		return v == want
	}
}

func str(v any) (any, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return nil, fmt.Errorf("want a string, have %v", v)
}

func boolean(v any) (any, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("want true or false, have %v", v)
}

func durationString(v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("want a duration such as 30s, have %v", v)
	}
	if _, err := time.ParseDuration(s); err != nil {
		return nil, fmt.Errorf("want a duration such as 30s, have %q", s)
	}
	return s, nil
}

func whole(v any) (any, error) {
	f, err := number(v)
	if err != nil || f != float64(int(f)) || f < 0 {
		return nil, fmt.Errorf("want a whole number, have %v", v)
	}
	return int(f), nil
}

var unsafeID = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// identifier makes a CL2 identifier (free text) fit our file names.
func identifier(id string) string { return unsafeID.ReplaceAllString(id, "_") }

// measurementCalls expands a CL2 measurement into one call per identifier:
// a wrapper with instances runs the method once per instance, the
// instance's params over the shared ones.
func measurementCalls(m measurement, at origin) ([]call, error) {
	if m.Method == "" {
		return nil, at.fail("required", "method")
	}
	switch {
	case len(m.Instances) > 0 && m.Identifier != "":
		return nil, at.fail("give identifier or instances, not both", "identifier")
	case len(m.Instances) == 0 && m.Identifier == "":
		return nil, at.fail("give identifier or instances", "identifier")
	case len(m.Instances) == 0:
		return []call{{m.Method, m.Identifier, m.Params, at}}, nil
	}
	var out []call
	for i, in := range m.Instances {
		params := maps.Clone(m.Params)
		if params == nil {
			params = map[string]any{}
		}
		maps.Copy(params, in.Params)
		out = append(out, call{m.Method, in.Identifier, params, at.at("instances", i)})
	}
	return out, nil
}

// call is one CL2 measurement call.
type call struct {
	method, identifier string
	params             map[string]any
	at                 origin
}

// starts are the params of each measurement's last start, and whether it
// was gathered since, by method and identifier.
type starts map[string]*startState

type startState struct {
	params   map[string]any
	gathered bool
}

// translate maps a CL2 call onto our action, with warnings for the
// parameters it drops. It returns no action when the call does nothing.
// gather holds the params of the gather that will end a start: CL2 reads
// some of them then, ours at start.
func (c call) translate(started starts, gather map[string]any) (*scenarios.MeasurementAction, []string, error) {
	spec, ok := methods[c.method]
	if !ok {
		return c.unsupported(), nil, nil
	}
	if spec.noop != nil && spec.noop(c.params) {
		return nil, nil, nil
	}
	action, _ := c.params["action"].(string)
	ours, known := spec.actions[action]
	key := c.method + "/" + c.identifier
	switch st := started[key]; {
	case action == "start":
		started[key] = &startState{params: c.params}
	case action == "gather" && st != nil && st.gathered && spec.regather != "":
		params := maps.Clone(st.params)
		maps.Copy(params, c.params)
		c.params, ours = params, spec.regather
	case action == "gather" && st != nil:
		st.gathered = true
	}
	if !known {
		var have []string
		for _, a := range slices.Sorted(maps.Keys(spec.actions)) {
			have = append(have, fmt.Sprintf("%q", a))
		}
		return nil, nil, c.at.fail(fmt.Sprintf("%s takes params.action %s, not %q", c.method, strings.Join(have, ", "), action), "params")
	}
	out := &scenarios.MeasurementAction{Identifier: identifier(c.identifier), Method: spec.ours, Action: ours, Params: map[string]any{}}
	var warnings []string
	for _, k := range slices.Sorted(maps.Keys(spec.params)) {
		p := spec.params[k]
		if _, given := c.params[k]; given {
			continue
		}
		// A parameter CL2 reads at gather is ours at start: a gather gets
		// no default of it.
		if p.absent != nil && !(p.on == "gather" && action == "gather") {
			out.Params[p.ours] = p.absent
		}
		if p.def != nil && p.on == action && !p.ignore(p.def) {
			file, line := c.at.where("params")
			warnings = append(warnings, fmt.Sprintf("%s:%d: %s %s: %s (CL2's default %v) is not honoured: %s", file, line, c.method, c.identifier, k, p.def, p.why))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.params)) {
		if k == "action" {
			continue
		}
		p, ok := spec.params[k]
		if !ok {
			return nil, nil, c.at.fail(fmt.Sprintf("%s has no parameter %q in ClusterLoader2 (have %s)", c.method, k,
				strings.Join(append(slices.Sorted(maps.Keys(spec.params)), "action"), ", ")), "params", k)
		}
		if p.ours != "" && p.on == "gather" && action == "gather" {
			continue // taken by the start
		}
		w, err := c.set(out, k, c.params[k], p, c.at)
		if err != nil {
			return nil, nil, err
		}
		warnings = append(warnings, w...)
	}
	if action == "start" {
		for _, k := range slices.Sorted(maps.Keys(gather)) {
			if p := spec.params[k]; p.ours != "" && p.on == "gather" {
				if _, err := c.set(out, k, gather[k], p, c.at); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	return out, warnings, nil
}

// set puts CL2 parameter k's value into our action, or says why not.
func (c call) set(out *scenarios.MeasurementAction, k string, v any, p param, at origin) ([]string, error) {
	if p.ours == "" {
		if p.ignore == nil || !p.ignore(v) {
			file, line := at.where("params", k)
			return []string{fmt.Sprintf("%s:%d: %s %s: %s=%v is not honoured: %s", file, line, c.method, c.identifier, k, v, p.why)}, nil
		}
		return nil, nil
	}
	if p.convert != nil {
		var err error
		if v, err = p.convert(v); err != nil {
			return nil, at.fail(err.Error(), "params", k)
		}
		if v == nil {
			return nil, nil // CL2's value is our default
		}
	}
	if outer, inner, nested := strings.Cut(p.ours, "."); nested {
		m, _ := out.Params[outer].(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		m[inner] = v
		out.Params[outer] = m
		return nil, nil
	}
	out.Params[p.ours] = v
	return nil, nil
}

// gathersOf pairs each start with the gather that ends it: by the index
// of the start among all calls, in config order, the gather's params.
func gathersOf(steps []flatStep) map[int]map[string]any {
	out := map[int]map[string]any{}
	open := map[string]int{}
	i := 0
	for _, st := range steps {
		for j, m := range st.Measurements {
			calls, _ := measurementCalls(m, st.at.at("measurements", j))
			for _, c := range calls {
				key := c.method + "/" + c.identifier
				switch c.params["action"] {
				case "start":
					open[key] = i
				case "gather":
					if s, ok := open[key]; ok {
						out[s] = c.params
						delete(open, key)
					}
				}
				i++
			}
		}
	}
	return out
}

// unsupported stands in for a CL2 method we do not have: our Unsupported
// method records it as a skipped check, at gather for CL2's start/gather
// pairs, at once for any other action.
func (c call) unsupported() *scenarios.MeasurementAction {
	action, _ := c.params["action"].(string)
	if action != "start" && action != "gather" {
		action = "wait"
	}
	file, line := c.at.where("method")
	name := c.method
	if c.identifier != c.method {
		name = fmt.Sprintf("%s (%s)", c.method, c.identifier)
	}
	return &scenarios.MeasurementAction{Identifier: identifier(c.identifier), Method: measurements.UnsupportedName, Action: action,
		Params: map[string]any{"measurement": name,
			"reason": fmt.Sprintf("hollowmark has no %s (%s:%d)", c.method, file, line)}}
}
