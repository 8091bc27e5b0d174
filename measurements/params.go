package measurements

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/hollowmark/hollowmark/results"
)

// Params are a measurement action's parameters as a scenario gives them:
// YAML values by name.
type Params map[string]any

// ParamSpec is a declared parameter of a method, whatever its type: what
// validation, the reference table and the constructors read.
type ParamSpec interface {
	Name() string
	// Type says in words what a value must be, for the reference table.
	Type() string
	// Default is the default as a scenario would write it, "" when none.
	Default() string
	Required() bool
	Doc() string
	// Check says what is wrong with a value, if anything.
	Check(v any) error
}

// Param is a parameter whose value is a T.
type Param[T any] struct {
	name, typ, doc string
	def            T
	defText        string
	required       bool
	parse          func(any) (T, error)
}

func (p Param[T]) Name() string    { return p.name }
func (p Param[T]) Type() string    { return p.typ }
func (p Param[T]) Default() string { return p.defText }
func (p Param[T]) Required() bool  { return p.required }
func (p Param[T]) Doc() string     { return p.doc }

// Check says what is wrong with v, if anything.
func (p Param[T]) Check(v any) error {
	_, err := p.parse(v)
	return err
}

// Get is the parameter's value in ps, or its default when unset. The
// registry checks parameters before any constructor reads them, so a value
// that does not parse cannot reach Get; it too falls back to the default.
func (p Param[T]) Get(ps Params) T {
	v, ok := ps[p.name]
	if !ok {
		return p.def
	}
	out, err := p.parse(v)
	if err != nil {
		return p.def
	}
	return out
}

// IsSet says whether ps gives the parameter.
func (p Param[T]) IsSet(ps Params) bool {
	_, ok := ps[p.name]
	return ok
}

// Require makes a parameter one a scenario must give (on start or wait;
// a gather takes what its start was given).
func (p Param[T]) Require() Param[T] {
	p.required = true
	return p
}

// StringParam is any string.
func StringParam(name, def, doc string) Param[string] {
	return Param[string]{name: name, typ: "string", doc: doc, def: def, defText: def, parse: parseString}
}

// SelectorParam is a label selector such as group=latency; the default
// selects everything.
func SelectorParam(name, doc string) Param[string] {
	return Param[string]{name: name, typ: "label selector", doc: doc, parse: func(v any) (string, error) {
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("want a label selector such as group=latency, have %v", v)
		}
		if _, err := labels.Parse(s); err != nil {
			return "", fmt.Errorf("bad label selector: %w", err)
		}
		return s, nil
	}}
}

// DurationParam is a positive duration such as 30s or 5m; def 0 means
// none.
func DurationParam(name string, def time.Duration, doc string) Param[time.Duration] {
	return Param[time.Duration]{name: name, typ: "duration", doc: doc, def: def, defText: durationText(def), parse: parseDuration}
}

// IntParam is a whole number >= 0.
func IntParam(name string, def int, doc string) Param[int] {
	return Param[int]{name: name, typ: "whole number", doc: doc, def: def, defText: strconv.Itoa(def), parse: func(v any) (int, error) {
		n, ok := v.(int)
		if !ok || n < 0 {
			return 0, fmt.Errorf("want a whole number >= 0, have %v", v)
		}
		return n, nil
	}}
}

// BoolParam is true or false.
func BoolParam(name string, def bool, doc string) Param[bool] {
	return Param[bool]{name: name, typ: "true or false", doc: doc, def: def, defText: strconv.FormatBool(def), parse: func(v any) (bool, error) {
		b, ok := v.(bool)
		if !ok {
			return false, fmt.Errorf("want true or false, have %v", v)
		}
		return b, nil
	}}
}

// EnumParam is one of a few words; def "" means no default.
func EnumParam(name, def string, values []string, doc string) Param[string] {
	return Param[string]{name: name, typ: "one of " + strings.Join(values, ", "), doc: doc, def: def, defText: def,
		parse: func(v any) (string, error) {
			s, ok := v.(string)
			for _, w := range values {
				if ok && s == w {
					return s, nil
				}
			}
			return "", fmt.Errorf("want one of %s, have %v", strings.Join(values, ", "), v)
		}}
}

// StringsParam is a list of strings; each passes check (if set).
func StringsParam(name string, check func(string) error, doc string) Param[[]string] {
	return Param[[]string]{name: name, typ: "list of strings", doc: doc, parse: func(v any) ([]string, error) {
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("want a list such as [a, b], have %v", v)
		}
		out := make([]string, 0, len(list))
		for i, e := range list {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("item %d: want a string, have %v", i, e)
			}
			if check != nil {
				if err := check(s); err != nil {
					return nil, fmt.Errorf("item %d: %w", i, err)
				}
			}
			out = append(out, s)
		}
		return out, nil
	}}
}

// ThresholdsParam is a map {p50: 2s, p90: 4s, p99: 5s}, any of the three;
// those left out are zero.
func ThresholdsParam(name, doc string) Param[results.Thresholds] {
	return Param[results.Thresholds]{name: name, typ: "{p50, p90, p99} durations", doc: doc, parse: func(v any) (results.Thresholds, error) {
		m, ok := v.(map[string]any)
		if !ok {
			return results.Thresholds{}, fmt.Errorf("want a map such as {p50: 2s, p99: 5s}, have %v", v)
		}
		var out results.Thresholds
		into := map[string]*time.Duration{"p50": &out.P50, "p90": &out.P90, "p99": &out.P99}
		for k, d := range m {
			p, ok := into[k]
			if !ok {
				return results.Thresholds{}, fmt.Errorf("unknown percentile %q (have p50, p90, p99)", k)
			}
			var err error
			if *p, err = parseDuration(d); err != nil {
				return results.Thresholds{}, fmt.Errorf("%s: %w", k, err)
			}
		}
		return out, nil
	}}
}

func parseString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a string, have %v", v)
	}
	return s, nil
}

func parseDuration(v any) (time.Duration, error) {
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

// durationText writes a default the way a scenario would: 5m, not 5m0s.
func durationText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	s := d.String()
	for _, zero := range []string{"m0s", "h0m"} {
		if strings.HasSuffix(s, zero) {
			s = strings.TrimSuffix(s, zero[1:])
		}
	}
	return s
}

// ParamError is what is wrong with one parameter of an action.
type ParamError struct {
	Param string
	Err   error
}

func (e ParamError) Error() string { return fmt.Sprintf("params.%s: %v", e.Param, e.Err) }

func (e ParamError) Unwrap() error { return e.Err }
