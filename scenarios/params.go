package scenarios

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
)

// paramKind is the type a measurement parameter must have.
type paramKind int

const (
	stringParam paramKind = iota
	selectorParam
	durationParam
	intParam
	percentilesParam // {p50: 2s, p90: 4s, p99: 5s}
	timestampsParam  // watch or api: which clock pod startup phases are read from
)

// method is a measurement method: the actions it takes and its parameters.
type method struct {
	actions []string
	params  map[string]paramKind
}

// methods are the measurement methods a scenario may use.
var methods = map[string]method{
	"PodStartupLatency": {[]string{"start", "gather"}, map[string]paramKind{
		"labelSelector": selectorParam, "threshold": durationParam, "thresholds": percentilesParam,
		"timestampSource": timestampsParam}},
	"APIResponsiveness": {[]string{"start", "gather"}, map[string]paramKind{
		"scrapeInterval": durationParam, "window": durationParam}},
	"SchedulingThroughput": {[]string{"start", "gather"}, map[string]paramKind{"labelSelector": selectorParam, "interval": durationParam}},
	"ResourceUsage":        {[]string{"start", "gather"}, map[string]paramKind{"interval": durationParam}},
	"WaitForControlledPodsRunning": {[]string{"wait"}, map[string]paramKind{
		"labelSelector": selectorParam, "timeout": durationParam}},
	"WaitForNodesReady": {[]string{"wait"}, map[string]paramKind{
		"labelSelector": selectorParam, "minCount": intParam, "timeout": durationParam}},
}

// Methods names the measurement methods, sorted.
func Methods() []string { return slices.Sorted(maps.Keys(methods)) }

// checkParam says what is wrong with a parameter value, if anything.
func checkParam(kind paramKind, v any) error {
	switch kind {
	case stringParam:
		if _, ok := v.(string); !ok {
			return fmt.Errorf("want a string, have %v", v)
		}
	case selectorParam:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a label selector such as group=latency, have %v", v)
		}
		if _, err := labels.Parse(s); err != nil {
			return fmt.Errorf("bad label selector: %w", err)
		}
	case timestampsParam:
		if s, ok := v.(string); !ok || s != "watch" && s != "api" {
			return fmt.Errorf("want watch (watch receive times, as ClusterLoader2) or api (the API's timestamps), have %v", v)
		}
	case durationParam:
		if _, err := toDuration(v); err != nil {
			return err
		}
	case intParam:
		if n, ok := v.(int); !ok || n < 0 {
			return fmt.Errorf("want a whole number >= 0, have %v", v)
		}
	case percentilesParam:
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("want a map such as {p50: 2s, p99: 5s}, have %v", v)
		}
		for k, d := range m {
			if k != "p50" && k != "p90" && k != "p99" {
				return fmt.Errorf("unknown percentile %q (have p50, p90, p99)", k)
			}
			if _, err := toDuration(d); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	return nil
}

func toDuration(v any) (time.Duration, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("want a duration such as 30s or 5m, have %v", v)
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration such as 30s or 5m", s)
	}
	return d, nil
}

// String is a string parameter, or def when unset. Validation has checked
// the types, so accessors only fall back to the default.
func (a MeasurementAction) String(key, def string) string {
	if s, ok := a.Params[key].(string); ok {
		return s
	}
	return def
}

// Duration is a duration parameter, or def when unset.
func (a MeasurementAction) Duration(key string, def time.Duration) time.Duration {
	if d, err := toDuration(a.Params[key]); err == nil {
		return d
	}
	return def
}

// Int is a whole-number parameter, or def when unset.
func (a MeasurementAction) Int(key string, def int) int {
	if n, ok := a.Params[key].(int); ok {
		return n
	}
	return def
}

// Percentiles is a {p50, p90, p99} duration map parameter; missing
// percentiles are zero.
func (a MeasurementAction) Percentiles(key string) (p50, p90, p99 time.Duration) {
	m, _ := a.Params[key].(map[string]any)
	get := func(k string) time.Duration {
		d, _ := toDuration(m[k])
		return d
	}
	return get("p50"), get("p90"), get("p99")
}

func paramNames(m method) string {
	if len(m.params) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(maps.Keys(m.params)), ", ")
}
