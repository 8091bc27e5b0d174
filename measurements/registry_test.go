package measurements_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hollowmark/hollowmark/measurements"
	"github.com/hollowmark/hollowmark/results"
)

// TestReferenceInDocsIsTheRegistrys keeps docs/scenarios.md from drifting
// from what the code declares.
func TestReferenceInDocsIsTheRegistrys(t *testing.T) {
	doc, err := os.ReadFile("../docs/scenarios.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), measurements.ReferenceBegin+"\n")
	table, _, ok2 := strings.Cut(rest, measurements.ReferenceEnd)
	if !ok || !ok2 {
		t.Fatalf("docs/scenarios.md lacks the markers %q and %q", measurements.ReferenceBegin, measurements.ReferenceEnd)
	}
	if want := measurements.NewRegistry().Markdown(); table != want {
		t.Errorf("docs/scenarios.md's method reference differs from the registry's: replace it with the output of "+
			"`go run ./cmd/hollowmark methods --markdown`.\nhave:\n%s\nwant:\n%s", table, want)
	}
}

// TestEveryMethodIsWhole: a doc line, a constructor, distinct parameters,
// each documented, and defaults a scenario could write (they are parsed as
// the YAML of a scenario would be, then checked).
func TestEveryMethodIsWhole(t *testing.T) {
	reg := measurements.NewRegistry()
	for _, name := range reg.Names() {
		m, _ := reg.Method(name)
		if m.Doc == "" || len(m.Actions()) == 0 {
			t.Errorf("%s: doc %q, actions %v", name, m.Doc, m.Actions())
		}
		seen := map[string]bool{}
		for _, p := range m.Params {
			if seen[p.Name()] || p.Doc() == "" || p.Type() == "" {
				t.Errorf("%s.%s: duplicate or undocumented", name, p.Name())
			}
			seen[p.Name()] = true
			if p.Default() == "" {
				continue
			}
			var v any
			if err := yaml.Unmarshal([]byte(p.Default()), &v); err != nil {
				t.Fatal(err)
			}
			if err := p.Check(v); err != nil {
				t.Errorf("%s.%s: default %q does not pass its own check: %v", name, p.Name(), p.Default(), err)
			}
		}
	}
}

func TestCheckParams(t *testing.T) {
	reg := measurements.NewRegistry()
	tests := []struct {
		method, action string
		params         measurements.Params
		want           []string // "param: substring of the error"
	}{
		{"PodStartupLatency", "start", measurements.Params{"labelSelector": "group=latency", "threshold": "3s"}, nil},
		{"PodStartupLatency", "start", measurements.Params{"treshold": "3s"},
			[]string{`treshold: PodStartupLatency has no parameter "treshold" (have labelSelector, threshold, thresholds, timestampSource)`}},
		{"PodStartupLatency", "start", measurements.Params{"threshold": 3, "timestampSource": "clock"},
			[]string{"threshold: want a duration", "timestampSource: want one of watch, api, have clock"}},
		{"Sleep", "wait", measurements.Params{}, []string{"duration: required"}},
		{"Unsupported", "gather", measurements.Params{}, nil}, // a gather takes its start's
		{"Unsupported", "start", measurements.Params{}, []string{"measurement: required"}},
		{"WaitForGenericK8sObjects", "wait", measurements.Params{"objectVersion": "v1", "objectResource": "pods",
			"minDesiredObjectCount": 2, "failedConditions": []any{"Failed=True", 7}}, []string{"failedConditions: item 1: want a string"}},
		{"WaitForRunningPods", "wait", measurements.Params{"desiredPodCount": -1, "scope": "cluster"},
			[]string{"desiredPodCount: want a whole number >= 0", "scope: want one of run, all"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.action, func(t *testing.T) {
			m, ok := reg.Method(tt.method)
			if !ok {
				t.Fatalf("no method %s", tt.method)
			}
			errs := m.CheckParams(tt.action, tt.params)
			if len(errs) != len(tt.want) {
				t.Fatalf("errors %v, want %d", errs, len(tt.want))
			}
			for i, e := range errs {
				if got := e.Param + ": " + e.Err.Error(); !strings.Contains(got, tt.want[i]) {
					t.Errorf("error %q, want %q", got, tt.want[i])
				}
			}
		})
	}
}

func TestParamValuesAndDefaults(t *testing.T) {
	sel := measurements.SelectorParam("labelSelector", "doc")
	dur := measurements.DurationParam("timeout", 15*time.Minute, "doc")
	n := measurements.IntParam("minCount", 1, "doc")
	th := measurements.ThresholdsParam("thresholds", "doc")
	list := measurements.StringsParam("conditions", nil, "doc")
	ps := measurements.Params{"labelSelector": "a=b", "timeout": "90s", "thresholds": map[string]any{"p99": "4s"},
		"conditions": []any{"Ready=True"}}
	if got := sel.Get(ps); got != "a=b" {
		t.Errorf("selector %q", got)
	}
	if got := dur.Get(ps); got != 90*time.Second {
		t.Errorf("duration %s", got)
	}
	if got := dur.Get(measurements.Params{}); got != 15*time.Minute || dur.Default() != "15m" {
		t.Errorf("default duration %s, written %q", got, dur.Default())
	}
	if got := n.Get(ps); got != 1 {
		t.Errorf("default count %d", got)
	}
	if got := th.Get(ps); got != (results.Thresholds{P99: 4 * time.Second}) {
		t.Errorf("thresholds %+v", got)
	}
	if got := list.Get(ps); len(got) != 1 || got[0] != "Ready=True" {
		t.Errorf("list %v", got)
	}
	if !n.Require().Required() || n.Required() {
		t.Error("Require changed the parameter it was called on, or did not mark the copy")
	}
}

func TestRegistryRefusesWhatValidationRefuses(t *testing.T) {
	reg := measurements.NewRegistry()
	if _, err := reg.Measurement("Sleep", measurements.Params{"duration": "1s"}, measurements.Deps{}); err == nil ||
		!strings.Contains(err.Error(), "takes action [wait]") {
		t.Errorf("Sleep started: %v", err)
	}
	if _, err := reg.Barrier("Sleep", measurements.Params{}, measurements.Deps{}); err == nil || !strings.Contains(err.Error(), "duration: required") {
		t.Errorf("Sleep without duration: %v", err)
	}
	if _, err := reg.Barrier("Nap", nil, measurements.Deps{}); err == nil || !strings.Contains(err.Error(), `unknown method "Nap"`) {
		t.Errorf("unknown method: %v", err)
	}
}

func TestSleep(t *testing.T) {
	b, err := measurements.NewRegistry().Barrier("Sleep", measurements.Params{"duration": "20ms"}, measurements.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := b(context.Background()); sum != nil || err != nil {
		t.Errorf("sleep: %v, %v", sum, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := measurements.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled sleep: %v", err)
	}
}

// TestUnsupportedIsSkippedNeverPassed in both its forms.
func TestUnsupportedIsSkippedNeverPassed(t *testing.T) {
	reg := measurements.NewRegistry()
	ps := measurements.Params{"measurement": "NetworkProgrammingLatency", "reason": "no kube-proxy programs rules here"}
	m, err := reg.Measurement("Unsupported", ps, measurements.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	gathered, err := m.Gather(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := reg.Barrier("Unsupported", ps, measurements.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	waited, err := b(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sum := range []*measurements.Summary{gathered, waited} {
		if len(sum.Checks) != 1 {
			t.Fatalf("checks %+v", sum.Checks)
		}
		c := sum.Checks[0]
		if c.SLO != "NetworkProgrammingLatency" || c.Skipped != "no kube-proxy programs rules here" || c.Passed() || c.Violated() {
			t.Errorf("check %+v: passed %v, violated %v", c, c.Passed(), c.Violated())
		}
	}
}
