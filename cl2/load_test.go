package cl2

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hollowmark/hollowmark/scenarios"
)

func load(t *testing.T, file string, opts Options) *scenarios.Scenario {
	t.Helper()
	s, err := Load(file, opts)
	if err != nil {
		t.Fatalf("loading %s: %v", file, err)
	}
	return s
}

func stepNamed(t *testing.T, s *scenarios.Scenario, name string) scenarios.Step {
	t.Helper()
	for _, st := range s.Steps {
		if st.Name == name {
			return st
		}
	}
	var names []string
	for _, st := range s.Steps {
		names = append(names, st.Name)
	}
	t.Fatalf("no step %q in %q", name, names)
	return scenarios.Step{}
}

func TestTranslatesEveryPart(t *testing.T) {
	s := load(t, "testdata/all/config.yaml", Options{Nodes: 100, Overrides: []string{"testdata/all/overrides.yaml"}})
	if s.Name != "all-parts" || s.Namespaces != (scenarios.Namespaces{Count: 2, Prefix: "every-part"}) {
		t.Errorf("name %q, namespaces %+v", s.Name, s.Namespaces)
	}
	want := []scenarios.TuningSetSpec{
		{Name: "Qps", QPSLoad: &scenarios.QPSLoad{QPS: 8}}, // from the overrides file
		{Name: "Randomized", RandomizedLoad: &scenarios.RandomizedLoad{AverageQPS: 4}},
		{Name: "Stepped", SteppedLoad: &scenarios.SteppedLoad{BurstSize: 3, StepDelay: scenarios.Duration(2 * time.Second)}},
		{Name: "TimeLimited", TimeLimitedLoad: &scenarios.TimeLimitedLoad{TimeLimit: scenarios.Duration(30 * time.Second)}},
		{Name: "RandomizedTimeLimited", RandomizedTimeLimitedLoad: &scenarios.TimeLimitedLoad{TimeLimit: scenarios.Duration(time.Minute)}},
		{Name: "Sequence", ParallelismLimitedLoad: &scenarios.ParallelismLimitedLoad{ParallelismLimit: 1}},
		{Name: "Global", GlobalQPSLoad: &scenarios.GlobalQPSLoad{QPS: 20, Burst: 1}},
		{Name: "Poisson", PoissonLoad: &scenarios.PoissonLoad{ExpectedActionsPerSecond: 2}},
	}
	if !reflect.DeepEqual(s.TuningSets, want) {
		t.Errorf("tuning sets:\n%s\nwant\n%s", spew(s.TuningSets), spew(want))
	}
	// The module ran with its params: 4 Deployments (overrides file) of 5
	// replicas (100 nodes is not small), each behind a Service of the same
	// basename, reconciled as a bundle.
	ph := stepNamed(t, s, "Creating 4 deployments").Phases[0]
	if ph.ReplicasPerNamespace != 4 || *ph.NamespaceRange != (scenarios.Range{Min: 1, Max: 2}) || !ph.Bundles || ph.TuningSet != "Randomized" ||
		len(ph.Objects) != 2 || ph.Objects[0].Template != "modules/service.yaml" || ph.Objects[1].Params["Replicas"] != 5.0 {
		t.Errorf("deployments phase %+v", ph)
	}
	if cluster := stepNamed(t, s, "Cluster-scoped objects").Phases[0]; cluster.NamespaceRange != nil || cluster.Objects[0].Basename != "priority" {
		t.Errorf("cluster-scoped phase %+v", cluster)
	}
	start := stepNamed(t, s, "starting measurements").Measurements
	if len(start) != 3 || start[0].Method != "PodStartupLatency" || start[0].Action != "start" ||
		start[0].Params["labelSelector"] != "group = all" || start[0].Params["thresholds"].(map[string]any)["p99"] != "4s" ||
		start[1].Method != "APIResponsiveness" || start[1].Identifier != "APIResponsiveness" {
		t.Errorf("measurements started: %+v", start)
	}
	// A method we do not have is our Unsupported, which records a skipped
	// check naming the config's line.
	if u := start[2]; u.Method != "Unsupported" || u.Action != "start" || u.Identifier != "Network" ||
		u.Params["measurement"] != "InClusterNetworkLatency (Network)" ||
		!strings.Contains(u.Params["reason"].(string), "testdata/all/modules/measurements.yaml:16") {
		t.Errorf("unsupported measurement: %+v", u)
	}
	// A wrapper with instances: one action each, the instance's params
	// over the shared ones.
	begin := stepNamed(t, s, "Starting to wait").Measurements
	if len(begin) != 2 || begin[0].Identifier != "WaitForDeployments" || begin[1].Identifier != "WaitForStatefulSets" ||
		begin[0].Action != "start" || begin[0].Params["timeout"] != "2m" || begin[0].Params["labelSelector"] != "group = all" ||
		begin[0].Params["kind"] != "Deployment" || begin[1].Params["kind"] != "StatefulSet" || begin[1].Params["apiVersion"] != "apps/v1" {
		t.Errorf("waits started: %+v", begin)
	}
	if wait := stepNamed(t, s, "Waiting").Measurements; len(wait) != 2 || wait[1].Identifier != "WaitForStatefulSets" || wait[1].Action != "gather" {
		t.Errorf("waits gathered: %+v", wait)
	}
	// Gathered again without a new start (CL2 waits for the deletion this
	// way): our barrier waits, with the start's params.
	again := stepNamed(t, s, "Waiting again").Measurements
	if len(again) != 2 || again[0].Action != "wait" || again[0].Params["kind"] != "Deployment" || again[0].Params["timeout"] != "2m" {
		t.Errorf("waits gathered again: %+v", again)
	}
	// CL2 reports API call latency without failing unless told to; so
	// do we.
	if len(s.Warnings) != 0 || start[1].Params["enforce"] != false {
		t.Errorf("warnings %q, API responsiveness %+v", s.Warnings, start[1].Params)
	}
}

func TestParametersComeFromOverridesParamsAndEnvironment(t *testing.T) {
	file := "testdata/all/config.yaml"
	deployments := func(s *scenarios.Scenario) int {
		for _, st := range s.Steps {
			if strings.HasPrefix(st.Name, "Creating") {
				return st.Phases[0].ReplicasPerNamespace
			}
		}
		return -1
	}
	for _, tc := range []struct {
		name        string
		opts        Options
		deployments int
		qps         float64
		err         string
	}{
		{name: "defaults", opts: Options{Nodes: 100}, deployments: 2, qps: 5},
		{name: "a later file wins", opts: Options{Nodes: 100, Overrides: []string{"testdata/all/overrides.yaml", "testdata/all/overrides2.yaml"}}, deployments: 6, qps: 8},
		{name: "--param after the files", opts: Options{Nodes: 100, Overrides: []string{"testdata/all/overrides.yaml"}, Params: map[string]string{"DEPLOYMENTS": "3"}}, deployments: 3, qps: 8},
		{name: "CL2_ environment", opts: Options{Nodes: 100, Env: []string{"CL2_QPS=7", "PATH=/bin", "QPS=1"}}, deployments: 2, qps: 7},
		{name: "environment agreeing with a file", opts: Options{Nodes: 100, Overrides: []string{"testdata/all/overrides.yaml"}, Env: []string{"CL2_QPS=8"}}, deployments: 4, qps: 8},
		{name: "environment contradicting a file", opts: Options{Nodes: 100, Overrides: []string{"testdata/all/overrides.yaml"}, Env: []string{"CL2_QPS=9"}},
			err: "environment CL2_QPS=9 contradicts the overrides' CL2_QPS: 8"},
		{name: "missing overrides file", opts: Options{Nodes: 100, Overrides: []string{"testdata/all/nope.yaml"}}, err: "nope.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load(file, tc.opts)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := deployments(s); got != tc.deployments || s.TuningSets[0].QPSLoad.QPS != tc.qps {
				t.Errorf("deployments %d (want %d), qps %g (want %g)", got, tc.deployments, s.TuningSets[0].QPSLoad.QPS, tc.qps)
			}
		})
	}
}

func TestNodesAndImageRegistryAreBuiltIn(t *testing.T) {
	m, err := Mapping(Options{Nodes: 42, Overrides: []string{"testdata/all/overrides.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	// Numbers from YAML are float64 as in CL2 (JSON decoding); .Nodes is
	// an int.
	if m["Nodes"] != 42 || m["ImageRegistry"] != DefaultImageRegistry || m["DEPLOYMENTS"] != 4.0 {
		t.Errorf("mapping %v", m)
	}
	if s := load(t, "testdata/all/config.yaml", Options{Nodes: 20}); s.Namespaces.Count != 1 || stepNamed(t, s, "Creating 2 deployments").Phases[0].Objects[1].Params["Replicas"] != 1.0 {
		t.Errorf("20 nodes: %d namespaces, %+v", s.Namespaces.Count, stepNamed(t, s, "Creating 2 deployments").Phases[0].Objects[1].Params)
	}
}

// writeConfig writes files into a directory and returns the path of the
// first, the config.
func writeConfig(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i+1 < len(files); i += 2 {
		p := filepath.Join(dir, files[i])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(files[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, files[0])
}

const objectTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{.Name}}
`

func TestErrorsNameFileLineAndField(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		want  string
	}{
		{"unknown field", []string{"config.yaml", `name: x
steps:
- name: s
  phases:
  - replicasPerNamespace: 1
    tuningSet: t
    objectBundle:
    - basename: b
      objectTemplatPath: cm.yaml
`}, "config.yaml:9: steps[0].phases[0].objectBundle[0].objectTemplatPath: unknown field (have basename, listUnknownObjectOptions, objectTemplatePath, templateFillMap)"},
		{"unknown function", []string{"config.yaml", "name: x\n\n{{$a := Frobnicate 1}}\nsteps: []\n"}, `config.yaml:3: function "Frobnicate" not defined`},
		{"failing function", []string{"config.yaml", "name: x\n{{$a := DivideInt 1 0}}\n"}, "config.yaml:2: at <DivideInt 1 0>: error calling DivideInt: division by zero"},
		{"unknown tuning set, at the module's line", []string{"config.yaml", "name: x\nsteps:\n- module:\n    path: m.yaml\n",
			"m.yaml", "steps:\n- name: s\n  phases:\n  - namespaceRange: {min: 1, max: 1}\n    replicasPerNamespace: 1\n    tuningSet: nope\n    objectBundle:\n    - basename: b\n      objectTemplatePath: cm.yaml\n",
			"cm.yaml", objectTemplate}, `m.yaml:6: steps[0].phases[0].tuningSet: unknown tuning set "nope"`},
		{"lines after a skipped block", []string{"config.yaml", "name: x\n{{if false}}\na: 1\nb: 2\n{{end}}\nsteps:\n- name: s\n  measurements:\n  - Identifier: P\n    Method: PodStartupLatency\n    Params: {action: start, threshold: soon}\n"},
			"config.yaml:11: steps[0].measurements[0].params.threshold: want a duration such as 30s"},
		{"a parameter CL2 does not have", []string{"config.yaml", "name: x\nsteps:\n- name: s\n  measurements:\n  - Identifier: P\n    Method: PodStartupLatency\n    Params:\n      action: start\n      treshold: 5s\n"},
			`config.yaml:9: steps[0].measurements[0].params.treshold: PodStartupLatency has no parameter "treshold" in ClusterLoader2`},
		{"an action the method has not", []string{"config.yaml", "name: x\nsteps:\n- name: s\n  measurements:\n  - Identifier: P\n    Method: PodStartupLatency\n    Params: {action: pause}\n"},
			`config.yaml:7: steps[0].measurements[0].params: PodStartupLatency takes params.action "gather", "start", not "pause"`},
		{"two tuning-set kinds", []string{"config.yaml", "name: x\ntuningSets:\n- name: t\n  qpsLoad: {qps: 1}\n  poissonLoad: {expectedActionsPerSecond: 1}\nsteps: []\n"},
			"config.yaml:3: tuningSets[0]: give exactly one of"},
		{"missing module", []string{"config.yaml", "name: x\nsteps:\n- module:\n    path: modules/none.yaml\n"}, `config.yaml:4: steps[0].module.path: module "modules/none.yaml" not found`},
		{"a module including itself", []string{"config.yaml", "name: x\nsteps:\n- module:\n    path: m.yaml\n", "m.yaml", "steps:\n- module:\n    path: m.yaml\n"}, "modules nested more than 16 deep"},
		{"chaos monkey's excluded nodes", []string{"config.yaml", "name: x\nchaosMonkey:\n  excludedNodes: [n1]\n  nodeFailure:\n    failureRate: 0.01\nsteps: []\n"},
			"config.yaml:3: chaosMonkey.excludedNodes: excluded nodes are not supported"},
		{"chaos monkey's interval", []string{"config.yaml", "name: x\nchaosMonkey:\n  nodeFailure:\n    failureRate: 0.01\n    interval: often\nsteps: []\n"},
			`config.yaml:5: chaosMonkey.nodeFailure.interval: "often" is not a duration`},
		{"chaos monkey's failure rate", []string{"config.yaml", "name: x\nchaosMonkey:\n  nodeFailure:\n    failureRate: 2\n    interval: 1m\nsteps:\n- name: s\n  measurements:\n  - {Identifier: W, Method: Sleep, Params: {duration: 1s}}\n"},
			"config.yaml:4: chaos.nodeFailure.failureRate: 2: must be in (0, 1]"},
		{"a list of namespaces", []string{"config.yaml", "name: x\nsteps:\n- name: s\n  phases:\n  - namespaceList: [a]\n    tuningSet: t\n"}, "config.yaml:5: steps[0].phases[0].namespaceList: namespaceList is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tc.files...), Options{Nodes: 10})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
		})
	}
}

// chaosMonkey.nodeFailure becomes the scenario's node failures, values as
// CL2 reads them; without it there are none.
func TestChaosMonkeyTranslates(t *testing.T) {
	const steps = "steps:\n- name: s\n  measurements:\n  - {Identifier: W, Method: Sleep, Params: {duration: 1s}}\n"
	for _, tc := range []struct {
		name, config string
		want         *scenarios.NodeFailure
	}{
		{"none", "name: x\n" + steps, nil},
		{"load test's", "name: x\nchaosMonkey:\n  nodeFailure:\n    failureRate: 0.01\n    interval: 5m\n    jitterFactor: 2.0\n    simulatedDowntime: 10m\n" + steps,
			&scenarios.NodeFailure{FailureRate: 0.01, Interval: scenarios.Duration(5 * time.Minute), JitterFactor: 2, SimulatedDowntime: scenarios.Duration(10 * time.Minute)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := load(t, writeConfig(t, "config.yaml", tc.config), Options{Nodes: 10})
			var got *scenarios.NodeFailure
			if s.Chaos != nil {
				got = s.Chaos.NodeFailure
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("node failures %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDetectsConfigs(t *testing.T) {
	for _, tc := range []struct {
		file string
		cl2  bool
	}{
		{"testdata/all/config.yaml", true},
		{"testdata/e2e/config.yaml", true},
		{"../scenarios/builtin/density.yaml", false},
	} {
		got, err := IsConfig(tc.file)
		if err != nil || got != tc.cl2 {
			t.Errorf("IsConfig(%s) = %v, %v; want %v", tc.file, got, err, tc.cl2)
		}
	}
}

func TestMeasurementCallsTranslate(t *testing.T) {
	for _, tc := range []struct {
		name, call string
		want       scenarios.MeasurementAction // Identifier defaults to M
		noAction   bool
	}{
		{name: "pod startup", call: "Method: PodStartupLatency\n    Params: {action: start, labelSelector: a = b, threshold: 20s, perc90Threshold: 10s, schedulerName: default-scheduler}",
			want: scenarios.MeasurementAction{Method: "PodStartupLatency", Action: "start",
				Params: map[string]any{"labelSelector": "a = b", "threshold": "20s", "thresholds": map[string]any{"p90": "10s"}}}},
		// CL2 reads it at gather, ours at start.
		{name: "API responsiveness over the whole run, as CL2's simple query", call: "Method: APIResponsivenessPrometheus\n    Params: {action: start}\n  - Identifier: M\n    Method: APIResponsivenessPrometheus\n    Params: {action: gather, useSimpleLatencyQuery: true, enableViolations: true}",
			want: scenarios.MeasurementAction{Method: "APIResponsiveness", Action: "start", Params: map[string]any{"window": "8760h", "enforce": true}}},
		// CL2's default: slow calls reported, the test not failed.
		{name: "API responsiveness on the worst window", call: "Method: APIResponsivenessPrometheus\n    Params: {action: start, useSimpleLatencyQuery: false}",
			want: scenarios.MeasurementAction{Method: "APIResponsiveness", Action: "start", Params: map[string]any{"enforce": false}}},
		{name: "API responsiveness not enforced, as a string", call: "Method: APIResponsivenessPrometheus\n    Params: {action: start}\n  - Identifier: M\n    Method: APIResponsivenessPrometheus\n    Params: {action: gather, enableViolations: \"false\"}",
			want: scenarios.MeasurementAction{Method: "APIResponsiveness", Action: "start", Params: map[string]any{"enforce": false}}},
		{name: "scheduling throughput, CL2's spelling", call: "Method: SchedulingThroughput\n    Params: {action: start, measurmentInterval: 1s}",
			want: scenarios.MeasurementAction{Method: "SchedulingThroughput", Action: "start", Params: map[string]any{"interval": "1s"}}},
		{name: "controlled pods", call: "Method: WaitForControlledPodsRunning\n    Params: {action: start, apiVersion: apps/v1, kind: Deployment, labelSelector: g = x, operationTimeout: 90s, checkIfPodsAreUpdated: true}",
			want: scenarios.MeasurementAction{Method: "WaitForControlledPodsRunning", Action: "start",
				Params: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "labelSelector": "g = x", "timeout": "90s"}}},
		{name: "running pods, all namespaces as CL2", call: "Method: WaitForRunningPods\n    Params: {labelSelector: g = x, desiredPodCount: 5, timeout: 2m}",
			want: scenarios.MeasurementAction{Method: "WaitForRunningPods", Action: "wait",
				Params: map[string]any{"labelSelector": "g = x", "desiredPodCount": 5, "timeout": "2m", "scope": "all"}}},
		{name: "generic objects, cluster-scoped as CL2", call: "Method: WaitForGenericK8sObjects\n    Params: {objectGroup: storage.k8s.io, objectVersion: v1, objectResource: storageclasses, minDesiredObjectCount: 1, successfulConditions: [Ready=True]}",
			want: scenarios.MeasurementAction{Method: "WaitForGenericK8sObjects", Action: "wait",
				Params: map[string]any{"objectGroup": "storage.k8s.io", "objectVersion": "v1", "objectResource": "storageclasses",
					"minDesiredObjectCount": 1, "successfulConditions": []any{"Ready=True"}, "scope": "cluster"}}},
		{name: "generic objects in the run's namespaces", call: "Method: WaitForGenericK8sObjects\n    Params: {objectVersion: v1, objectResource: pods, minDesiredObjectCount: 1, namespaceRange: {min: 1, max: 1}}",
			want: scenarios.MeasurementAction{Method: "WaitForGenericK8sObjects", Action: "wait",
				Params: map[string]any{"objectVersion": "v1", "objectResource": "pods", "minDesiredObjectCount": 1, "scope": "run"}}},
		{name: "sleep", call: "Method: Sleep\n    Params: {duration: 1m}",
			want: scenarios.MeasurementAction{Method: "Sleep", Action: "wait", Params: map[string]any{"duration": "1m"}}},
		{name: "a sleep of nothing", call: "Method: Sleep\n    Params: {duration: 0s}", noAction: true},
		{name: "nodes", call: "Method: WaitForNodes\n    Params: {minDesiredNodeCount: 3, maxDesiredNodeCount: 3, timeout: 1m}",
			want: scenarios.MeasurementAction{Method: "WaitForNodesReady", Action: "wait", Params: map[string]any{"minCount": 3, "timeout": "1m"}}},
		{name: "resource usage", call: "Method: ResourceUsageSummary\n    Params: {action: start}",
			want: scenarios.MeasurementAction{Method: "ResourceUsage", Action: "start", Params: map[string]any{}}},
		{name: "unsupported, without an action", call: "Method: APIAvailability\n    Params: {action: pause}",
			want: scenarios.MeasurementAction{Method: "Unsupported", Action: "wait", Params: map[string]any{"measurement": "APIAvailability (M)"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := "name: x\nsteps:\n- name: s\n  measurements:\n  - Identifier: M\n    " + tc.call + "\n- name: other\n  measurements:\n  - {Identifier: N, Method: Sleep, Params: {duration: 1s}}\n"
			s, err := Load(writeConfig(t, "config.yaml", cfg), Options{Nodes: 10})
			if err != nil {
				t.Fatal(err)
			}
			got := s.Steps[0].Measurements
			if tc.noAction {
				if s.Steps[0].Name != "other" {
					t.Errorf("want no action, have %+v", got)
				}
				return
			}
			if tc.want.Identifier == "" {
				tc.want.Identifier = "M"
			}
			if len(got) == 0 {
				t.Fatalf("no actions")
			}
			if tc.want.Method == "Unsupported" {
				delete(got[0].Params, "reason")
			}
			if fmt.Sprint(got[0]) != fmt.Sprint(tc.want) {
				t.Errorf("got  %+v\nwant %+v", got[0], tc.want)
			}
		})
	}
}

// spew shows a value with its pointers followed.
func spew(v any) string {
	out, _ := json.MarshalIndent(v, "", "  ")
	return string(out)
}

// Special files are not read: a FIFO would block, a device never end.
func TestSpecialFilesAreRefused(t *testing.T) {
	if got, err := IsConfig("/dev/zero"); got || err != nil {
		t.Errorf("IsConfig(/dev/zero) = %v, %v; want false: not a config", got, err)
	}
	cfg := writeConfig(t, "config.yaml", "name: x\nsteps:\n- module:\n    path: zero.yaml\n")
	if err := os.Symlink("/dev/zero", filepath.Join(filepath.Dir(cfg), "zero.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(cfg, Options{Nodes: 1}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a module that is a device: %v", err)
	}
	if _, err := Load(cfg, Options{Nodes: 1, Overrides: []string{"/dev/zero"}}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("an overrides file that is a device: %v", err)
	}
}
