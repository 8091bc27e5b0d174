package scenarios

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestDensityLoadsWithDefaultsAndOverrides(t *testing.T) {
	if got := List(); len(got) == 0 || got[0] != "density" {
		t.Fatalf("built-in scenarios %v", got)
	}
	s, err := Load(Builtin(), "density.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	// 100 nodes: one namespace, 3000 saturation pods in 100 Deployments of
	// 30, 500 latency pods.
	if s.Namespaces.Count != 1 || replicas(t, s, "create saturation pods") != 100 || replicas(t, s, "create latency pods") != 500 {
		t.Errorf("derived values: namespaces %d, saturation %d, latency %d", s.Namespaces.Count,
			replicas(t, s, "create saturation pods"), replicas(t, s, "create latency pods"))
	}
	s, err = Load(Builtin(), "density.yaml", map[string]string{"nodes": "10", "podsPerNode": "3"})
	if err != nil {
		t.Fatal(err)
	}
	// Ten nodes: 30 saturation pods in one Deployment; latency pods capped
	// at five per node.
	if replicas(t, s, "create saturation pods") != 1 || replicas(t, s, "create latency pods") != 50 {
		t.Errorf("small cluster: saturation %d, latency %d", replicas(t, s, "create saturation pods"), replicas(t, s, "create latency pods"))
	}
	ts, err := s.TuningSets[0].TuningSet()
	if err != nil || ts.Name != "saturation" {
		t.Errorf("tuning set %+v, %v", ts, err)
	}
}

// replicas is the replicas per namespace of the named step's first phase.
func replicas(t *testing.T, s *Scenario, step string) int {
	t.Helper()
	for _, st := range s.Steps {
		if st.Name == step && len(st.Phases) > 0 {
			return st.Phases[0].ReplicasPerNamespace
		}
	}
	t.Fatalf("no step %q with phases", step)
	return 0
}

const good = `name: tiny
parameters:
  replicas: 2
namespaces:
  count: 2
tuningSets:
  - name: fast
    qps: 10
steps:
  - name: create
    phases:
      - namespaceRange: {min: 1, max: 2}
        replicasPerNamespace: {{.replicas}}
        tuningSet: fast
        objects:
          - basename: web
            template: obj.yaml
  - name: measure
    measurements:
      - identifier: api
        method: APIResponsiveness
        action: start
      - identifier: api
        method: APIResponsiveness
        action: gather
`

func loadString(t *testing.T, scenario string, overrides map[string]string) error {
	t.Helper()
	fsys := fstest.MapFS{"s.yaml": {Data: []byte(scenario)}, "obj.yaml": {Data: []byte("kind: ConfigMap\n")}}
	_, err := Load(fsys, "s.yaml", overrides)
	return err
}

func TestGoodScenario(t *testing.T) {
	if err := loadString(t, good, nil); err != nil {
		t.Fatal(err)
	}
}

// TestGoodMeasurementForms: the forms a ClusterLoader2 config's methods
// take; a gather takes what its start was given.
func TestGoodMeasurementForms(t *testing.T) {
	measure := "method: APIResponsiveness\n        action: start"
	tests := []struct{ name, start, gather string }{
		{"unsupported, start and gather", "method: Unsupported\n        action: start\n        params: {measurement: NetworkProgrammingLatency}", "method: Unsupported"},
		{"controlled pods, start and gather", "method: WaitForControlledPodsRunning\n        action: start\n" +
			"        params: {apiVersion: apps/v1, kind: Deployment, labelSelector: group=load, timeout: 10m}", "method: WaitForControlledPodsRunning"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := strings.Replace(good, measure, tt.start, 1)
			sc = strings.Replace(sc, "method: APIResponsiveness", tt.gather, 1)
			if err := loadString(t, sc, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestBadScenariosNameFileLineAndField(t *testing.T) {
	tests := []struct {
		name      string
		scenario  string
		overrides map[string]string
		want      string
	}{
		{"unknown field", strings.Replace(good, "    qps: 10", "    qps: 10\n    burst: 3", 1), nil, "s.yaml:9: field burst not found"},
		{"bad duration", strings.Replace(good, "    qps: 10", "    timeLimited: soon", 1), nil, `s.yaml:8: "soon" is not a duration`},
		{"two kinds of tuning set", strings.Replace(good, "    qps: 10", "    qps: 10\n    poisson: 3", 1), nil, "s.yaml:7: tuningSets[0]: give one of"},
		{"unknown tuning set", strings.Replace(good, "tuningSet: fast", "tuningSet: slow", 1), nil, `s.yaml:14: steps[0].phases[0].tuningSet: unknown tuning set "slow"`},
		{"namespace range", strings.Replace(good, "{min: 1, max: 2}", "{min: 1, max: 3}", 1), nil, "s.yaml:12: steps[0].phases[0].namespaceRange: want 1 <= min <= max <= namespaces.count (2)"},
		{"missing template", strings.Replace(good, "obj.yaml", "nope.yaml", 1), nil, `s.yaml:17: steps[0].phases[0].objects[0].template: template "nope.yaml" not found`},
		{"gather before start", strings.Replace(good, "action: start", "action: gather", 1), nil, `s.yaml:20: steps[1].measurements[0].identifier: no earlier start`},
		{"unknown method", strings.Replace(good, "method: APIResponsiveness\n        action: start", "method: Vibes\n        action: start", 1), nil, `s.yaml:21: steps[1].measurements[0].method: unknown method "Vibes"`},
		{"phases and measurements", strings.Replace(good, "  - name: measure\n", "  - name: measure\n    phases: []\n", 1), nil, ""},
		{"template syntax", strings.Replace(good, "{{.replicas}}", "{{.replicas", 1), nil, "s.yaml:14: "},
		{"undeclared parameter in template", strings.Replace(good, "{{.replicas}}", "{{.replcas}}", 1), nil, "s.yaml:13: "},
		{"unknown override", good, map[string]string{"nodes": "3"}, "--param nodes: no such parameter (have replicas)"},
		{"override of the wrong type", good, map[string]string{"replicas": "many"}, "parameters.replicas: --param replicas=many"},
		{"no steps", "name: empty\n", nil, "s.yaml:1: steps: a scenario needs at least one step"},
		{"unknown measurement parameter", strings.Replace(good, "action: start", "action: start\n        params: {treshold: 5s}", 1), nil,
			`s.yaml:23: steps[1].measurements[0].params.treshold: APIResponsiveness has no parameter "treshold" (have scrapeInterval, window)`},
		{"bad selector", strings.Replace(good, "method: APIResponsiveness\n        action: start", "method: PodStartupLatency\n        action: start\n        params: {labelSelector: \"a==b==c\"}", 1), nil,
			"steps[1].measurements[0].params.labelSelector: bad label selector"},
		{"bad threshold", strings.Replace(good, "method: APIResponsiveness\n        action: start", "method: PodStartupLatency\n        action: start\n        params: {thresholds: {p95: 5s}}", 1), nil,
			`params.thresholds: unknown percentile "p95"`},
		{"bad timestamp source", strings.Replace(good, "method: APIResponsiveness\n        action: start", "method: PodStartupLatency\n        action: start\n        params: {timestampSource: creation}", 1), nil,
			`s.yaml:23: steps[1].measurements[0].params.timestampSource: want one of watch, api, have creation`},
		{"missing required parameter", strings.Replace(good, "method: APIResponsiveness\n        action: start", "method: Sleep\n        action: wait", 1), nil,
			`s.yaml:20: steps[1].measurements[0].params.duration: required`},
		{"action the method does not take", strings.Replace(good, "method: APIResponsiveness\n        action: start", "method: Sleep\n        action: start\n        params: {duration: 1s}", 1), nil,
			`s.yaml:22: steps[1].measurements[0].action: Sleep takes action [wait], not "start"`},
		{"bad condition", strings.Replace(good, "method: APIResponsiveness\n        action: start", "method: WaitForGenericK8sObjects\n        action: wait\n"+
			"        params: {objectVersion: v1, objectResource: pods, minDesiredObjectCount: 1, successfulConditions: [Ready]}", 1), nil,
			`s.yaml:23: steps[1].measurements[0].params.successfulConditions: item 0: "Ready": want Type=Status`},
		{"count of the wrong type", strings.Replace(good, "method: APIResponsiveness\n        action: start", "method: WaitForRunningPods\n        action: wait\n"+
			"        params: {desiredPodCount: many}", 1), nil,
			`s.yaml:23: steps[1].measurements[0].params.desiredPodCount: want a whole number >= 0, have many`},
		{"bad timeout", strings.Replace(good, "method: APIResponsiveness\n        action: start", "method: WaitForNodesReady\n        action: wait\n        params: {timeout: forever}", 1), nil,
			`params.timeout: "forever" is not a positive duration`},
		{"two phases on one object", strings.Replace(good, "  - name: measure\n", `  - name: twice
    phases:
      - {namespaceRange: {min: 1, max: 1}, replicasPerNamespace: 1, tuningSet: fast, objects: [{basename: web, template: obj.yaml}]}
      - {namespaceRange: {min: 1, max: 2}, replicasPerNamespace: 2, tuningSet: fast, objects: [{basename: web, template: obj.yaml}]}
  - name: measure
`, 1), nil, `steps[1].phases[1].objects[0].basename: phases 0 and 1 of this step both manage "web"`},
		{"bad name", strings.Replace(good, "name: tiny", "name: Tiny_One", 1), nil, "s.yaml:1: name: must be a lower-case name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := loadString(t, tt.scenario, tt.overrides)
			if err == nil {
				if tt.want != "" {
					t.Fatalf("accepted; want an error containing %q", tt.want)
				}
				return
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestSteppedBurstWithDuration(t *testing.T) {
	fsys := fstest.MapFS{"s.yaml": {Data: []byte(strings.Replace(good, "    qps: 10", "    steppedBurst: {size: 5, delay: 2s}", 1))},
		"obj.yaml": {Data: []byte("kind: ConfigMap\n")}}
	s, err := Load(fsys, "s.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := s.TuningSets[0].SteppedBurst; b.Size != 5 || time.Duration(b.Delay) != 2*time.Second {
		t.Errorf("stepped burst %+v", b)
	}
}

func TestObjectTemplateThatDoesNotParse(t *testing.T) {
	fsys := fstest.MapFS{"s.yaml": {Data: []byte(good)}, "obj.yaml": {Data: []byte("kind: {{.Params.kind\n")}}
	_, err := Load(fsys, "s.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "s.yaml:17: steps[0].phases[0].objects[0].template: parsing template obj.yaml") {
		t.Errorf("error %v", err)
	}
}
