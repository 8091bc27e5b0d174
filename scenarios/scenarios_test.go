package scenarios

import (
	"math/rand/v2"
	"slices"
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
	fsys := fstest.MapFS{"s.yaml": {Data: []byte(scenario)}, "obj.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\n")}}
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
			`s.yaml:23: steps[1].measurements[0].params.treshold: APIResponsiveness has no parameter "treshold" (have enforce, scrapeInterval, window)`},
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
		{"a ClusterLoader2 kind and a shorthand", strings.Replace(good, "    qps: 10", "    qps: 10\n    qpsLoad: {qps: 10}", 1), nil,
			"s.yaml:7: tuningSets[0]: give one of qps, randomizedQPS, poisson, steppedBurst, timeLimited, qpsLoad, randomizedLoad, steppedLoad, timeLimitedLoad, randomizedTimeLimitedLoad, parallelismLimitedLoad, globalQPSLoad, poissonLoad (have qps and qpsLoad)"},
		{"a field of another kind", strings.Replace(good, "    qps: 10", "    qpsLoad: {averageQps: 10}", 1), nil, "s.yaml:8: field averageQps not found"},
		{"globalQPSLoad without a burst", strings.Replace(good, "    qps: 10", "    globalQPSLoad: {qps: 10}", 1), nil,
			"s.yaml:7: tuningSets[0]: globalQPSLoad needs qps > 0 and burst >= 1"},
		{"steppedLoad without a burst size", strings.Replace(good, "    qps: 10", "    steppedLoad: {stepDelay: 1s}", 1), nil,
			"tuningSets[0]: steppedLoad.burstSize must be >= 1"},
		{"parallelismLimitedLoad of 0", strings.Replace(good, "    qps: 10", "    parallelismLimitedLoad: {parallelismLimit: 0}", 1), nil,
			"tuningSets[0]: parallelismLimitedLoad.parallelismLimit must be >= 1"},
		{"qpsLoad of 0", strings.Replace(good, "    qps: 10", "    qpsLoad: {qps: 0}", 1), nil, "tuningSets[0]: qpsLoad.qps must be > 0"},
		{"negative qps", strings.Replace(good, "    qps: 10", "    qps: -1", 1), nil, "tuningSets[0]: qps must be > 0"},
		{"RandIntRange in the scenario file", strings.Replace(good, "{{.replicas}}", "{{RandIntRange 1 3}}", 1), nil,
			"s.yaml:13: executing \"s.yaml\" at <RandIntRange 1 3>: error calling RandIntRange: RandIntRange draws a number per object"},
		{"one basename twice in a phase", strings.Replace(good, "          - basename: web\n            template: obj.yaml\n",
			"          - basename: web\n            template: obj.yaml\n          - basename: web\n            template: obj.yaml\n", 1), nil,
			`s.yaml:18: steps[0].phases[0].objects[1].basename: basename "web" is already used in this phase`},
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
		"obj.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\n")}}
	s, err := Load(fsys, "s.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := s.TuningSets[0].SteppedBurst; b.Size != 5 || time.Duration(b.Delay) != 2*time.Second {
		t.Errorf("stepped burst %+v", b)
	}
}

// ClusterLoader2's tuning-set kinds read with its parameter names and
// mean what they mean there.
func TestClusterLoader2TuningSets(t *testing.T) {
	s := time.Second
	tests := []struct {
		yaml        string
		want        []time.Duration // offsets of four actions, seed 1
		parallelism int
		limited     bool
	}{
		{"qpsLoad: {qps: 4}", []time.Duration{0, s / 4, s / 2, 3 * s / 4}, 0, false},
		{"steppedLoad: {burstSize: 2, stepDelay: 3s}", []time.Duration{0, 0, 3 * s, 3 * s}, 0, false},
		{"timeLimitedLoad: {timeLimit: 8s}", []time.Duration{0, 2 * s, 4 * s, 6 * s}, 0, false},
		{"parallelismLimitedLoad: {parallelismLimit: 3}", []time.Duration{0, 0, 0, 0}, 3, false},
		{"globalQPSLoad: {qps: 10, burst: 1}", []time.Duration{0, 0, 0, 0}, 0, true},
		{"randomizedTimeLimitedLoad: {timeLimit: 0s}", []time.Duration{0, 0, 0, 0}, 0, false},
		{"qpsLoad: {qps: 4}\n    parallelism: 2", []time.Duration{0, s / 4, s / 2, 3 * s / 4}, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			fsys := fstest.MapFS{"s.yaml": {Data: []byte(strings.Replace(good, "    qps: 10", "    "+tt.yaml, 1))},
				"obj.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\n")}}
			sc, err := Load(fsys, "s.yaml", nil)
			if err != nil {
				t.Fatal(err)
			}
			ts, err := sc.TuningSets[0].TuningSet()
			if err != nil {
				t.Fatal(err)
			}
			got := ts.Offsets(4, rand.New(rand.NewPCG(1, 1)))
			if !slices.Equal(got, tt.want) || ts.Parallelism != tt.parallelism || (ts.Limiter != nil) != tt.limited || ts.Name != "fast" {
				t.Errorf("offsets %v, parallelism %d, limiter %v, name %s; want %v, %d, %v, fast", got, ts.Parallelism, ts.Limiter != nil, ts.Name,
					tt.want, tt.parallelism, tt.limited)
			}
		})
	}
	// The random kinds draw as the shorthands of the same meaning do.
	for cl2, ours := range map[string]string{"randomizedLoad: {averageQps: 5}": "randomizedQPS: 5",
		"poissonLoad: {expectedActionsPerSecond: 5}": "poisson: 5"} {
		offsets := func(kind string) []time.Duration {
			fsys := fstest.MapFS{"s.yaml": {Data: []byte(strings.Replace(good, "    qps: 10", "    "+kind, 1))},
				"obj.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\n")}}
			sc, err := Load(fsys, "s.yaml", nil)
			if err != nil {
				t.Fatal(err)
			}
			ts, err := sc.TuningSets[0].TuningSet()
			if err != nil {
				t.Fatal(err)
			}
			return ts.Offsets(50, rand.New(rand.NewPCG(1, 1)))
		}
		if a, b := offsets(cl2), offsets(ours); !slices.Equal(a, b) {
			t.Errorf("%s drew %v, %s %v", cl2, a[:5], ours, b[:5])
		}
	}
}

func TestObjectTemplateThatDoesNotParse(t *testing.T) {
	fsys := fstest.MapFS{"s.yaml": {Data: []byte(good)}, "obj.yaml": {Data: []byte("kind: {{.Params.kind\n")}}
	_, err := Load(fsys, "s.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "s.yaml:17: steps[0].phases[0].objects[0].template: parsing template obj.yaml") {
		t.Errorf("error %v", err)
	}
}

// The load scenario derives ClusterLoader2's load-test counts from the
// node count.
func TestLoadDerivesClusterLoader2sCounts(t *testing.T) {
	tests := []struct {
		nodes                         string
		namespaces                    int
		big, medium, small, bigJobs   int
		bigSvc, mediumSvc, smallSvc   int
		saturation, scaling, deletion time.Duration
		defaultQPS                    float64
		latency, throughput           int
	}{
		// 3,000 pods: 2x250 + 23x30 + 298x5 in Deployments, 5 + 30 in
		// StatefulSets, 5 + 30 + 250 in Jobs.
		{"100", 1, 2, 23, 298, 1, 1, 12, 149, 300 * time.Second, 75 * time.Second, 300 * time.Second, 10, 500, 1000},
		{"600", 6, 2, 23, 298, 1, 1, 12, 149, 1800 * time.Second, 450 * time.Second, 1800 * time.Second, 100, 84, 1000},
		// Below 100 nodes: one namespace of the nodes there are, no big Job.
		{"50", 1, 0, 10, 148, 0, 0, 5, 74, 150 * time.Second, 37 * time.Second, 150 * time.Second, 10, 250, 500},
	}
	for _, tt := range tests {
		t.Run(tt.nodes+" nodes", func(t *testing.T) {
			s, err := Load(Builtin(), "load.yaml", map[string]string{"nodes": tt.nodes})
			if err != nil {
				t.Fatal(err)
			}
			if s.Namespaces.Count != tt.namespaces+1 {
				t.Errorf("%d namespaces, want %d and one for scheduler throughput", s.Namespaces.Count, tt.namespaces+1)
			}
			want := map[string]int{"big-deployment": tt.big, "medium-deployment": tt.medium, "small-deployment": tt.small,
				"big-service": tt.bigSvc, "medium-service": tt.mediumSvc, "small-service": tt.smallSvc,
				"big-config": tt.big, "small-secret": tt.small, "big-job": tt.bigJobs, "small-job": 1,
				"small-statefulset": 1, "medium-statefulset-service": 1, "latency-deployment": tt.latency}
			for basename, n := range want {
				if got := createdPerNamespace(s, basename); got != n {
					t.Errorf("%s: %d per namespace, want %d", basename, got, n)
				}
			}
			if got := throughputPods(s); got != tt.throughput {
				t.Errorf("%d scheduler-throughput pods, want %d", got, tt.throughput)
			}
			sets := map[string]TuningSetSpec{}
			for _, ts := range s.TuningSets {
				sets[ts.Name] = ts
			}
			if d := time.Duration(sets["RandomizedSaturationTimeLimited"].RandomizedTimeLimitedLoad.TimeLimit); d != tt.saturation {
				t.Errorf("creation within %s, want %s", d, tt.saturation)
			}
			if d := time.Duration(sets["RandomizedScalingTimeLimited"].RandomizedTimeLimitedLoad.TimeLimit); d != tt.scaling {
				t.Errorf("scaling within %s, want %s", d, tt.scaling)
			}
			if d := time.Duration(sets["RandomizedDeletionTimeLimited"].RandomizedTimeLimitedLoad.TimeLimit); d != tt.deletion {
				t.Errorf("deletion within %s, want %s", d, tt.deletion)
			}
			if g := sets["default"].GlobalQPSLoad; g == nil || g.QPS != tt.defaultQPS || g.Burst != 1 {
				t.Errorf("default tuning set %+v, want globalQPSLoad %v, burst 1", g, tt.defaultQPS)
			}
		})
	}
}

// createdPerNamespace is the replicas per namespace of the first phase that
// creates basename.
func createdPerNamespace(s *Scenario, basename string) int {
	for _, st := range s.Steps {
		for _, ph := range st.Phases {
			for _, o := range ph.Objects {
				if o.Basename == basename {
					return ph.ReplicasPerNamespace
				}
			}
		}
	}
	return -1
}

func throughputPods(s *Scenario) int {
	for _, st := range s.Steps {
		for _, ph := range st.Phases {
			for _, o := range ph.Objects {
				if o.Basename == "scheduler-throughput-deployment" {
					n, _ := o.Params["replicas"].(int)
					return n
				}
			}
		}
	}
	return -1
}
