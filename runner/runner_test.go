package runner_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/internal/testenv"
	"github.com/hollowmark/hollowmark/results"
	"github.com/hollowmark/hollowmark/runner"
	"github.com/hollowmark/hollowmark/scenarios"
)

var shared testenv.Shared

func TestMain(m *testing.M) { os.Exit(shared.Run(m)) }

// phases creates objects of several kinds, scales them down, updates the
// survivors, and deletes them: the runner must act on the difference.
const phases = `name: phases
namespaces:
  count: 2
tuningSets:
  - name: fast
    qps: 50
steps:
  - name: create
    phases:
      - namespaceRange: {min: 1, max: 2}
        replicasPerNamespace: 3
        tuningSet: fast
        objects:
          - {basename: cm, template: configmap.yaml, params: {value: one}}
          - {basename: secret, template: secret.yaml}
          - {basename: svc, template: service.yaml}
          - {basename: job, template: job.yaml}
  - name: scale down and update
    phases:
      - namespaceRange: {min: 1, max: 2}
        replicasPerNamespace: 1
        tuningSet: fast
        objects:
          - {basename: cm, template: configmap.yaml, params: {value: two}}
          - {basename: secret, template: secret.yaml}
          - {basename: svc, template: service.yaml}
          - {basename: job, template: job.yaml}
`

var templates = map[string]string{
	"configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {value: \"{{.Params.value}}\", index: \"{{.Index}}\"}\n",
	"secret.yaml":    "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {token: \"t-{{.Index}}\"}\n",
	"service.yaml":   "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selector: {app: '{{.Name}}'}, ports: [{port: 80}]}\n",
	"job.yaml": `apiVersion: batch/v1
kind: Job
metadata: {name: x}
spec:
  suspend: true
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: registry.k8s.io/pause:3.10}]
`,
}

// load reads a scenario with the shared templates and any extra ones.
func load(t *testing.T, text string, extra ...map[string]string) *scenarios.Scenario {
	t.Helper()
	fsys := fstest.MapFS{"s.yaml": {Data: []byte(text)}}
	for _, set := range append([]map[string]string{templates}, extra...) {
		for name, data := range set {
			fsys[name] = &fstest.MapFile{Data: []byte(data)}
		}
	}
	s, err := scenarios.Load(fsys, "s.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPhasesCreateScaleUpdateAndCleanUp(t *testing.T) {
	cp := shared.Get(t)
	client := kubernetes.NewForConfigOrDie(cp.Config)
	run := &results.Run{ID: "phases-1"}
	cfg := runner.Config{Scenario: load(t, phases), RunID: "phases-1", Rest: cp.Config, Log: zap.NewNop(),
		DeleteNamespaces: false}
	runner.Run(context.Background(), cfg, run)
	if run.Error != "" || run.Partial {
		t.Fatalf("run failed: %s", run.Error)
	}
	ctx := context.Background()
	for _, ns := range []string{"phases-1", "phases-2"} {
		cms, err := client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var ours []string
		for _, cm := range cms.Items {
			if cm.Name != "kube-root-ca.crt" {
				ours = append(ours, cm.Name+"="+cm.Data["value"])
			}
		}
		if len(ours) != 1 || ours[0] != "cm-0=two" {
			t.Errorf("%s: config maps %v, want cm-0 updated to two", ns, ours)
		}
		secrets, _ := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
		services, _ := client.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
		jobs, _ := client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if len(secrets.Items) != 1 || len(services.Items) != 1 || len(jobs.Items) != 1 {
			t.Errorf("%s: %d secrets, %d services, %d jobs; want 1 of each", ns, len(secrets.Items), len(services.Items), len(jobs.Items))
		}
		nsObj, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil || nsObj.Labels[runner.RunLabel] != "phases-1" || nsObj.Labels[runner.OwnerLabel] != runner.OwnerValue {
			t.Errorf("namespace %s labels %v, %v", ns, nsObj.Labels, err)
		}
	}
	calls := 0
	for _, m := range run.Measurements {
		if m.Identifier == "ClientAPICalls" {
			calls = len(m.Summary.Tables["client_calls.csv"]) - 1
		}
	}
	// 2 namespaces x 4 kinds x 3 created, then 2 x 4 x 2 deleted and 2 x 1
	// config maps updated.
	if calls != 24+16+2 {
		t.Errorf("%d client calls recorded, want 42", calls)
	}

	// A second run finds the first one's namespaces stale and removes them.
	again := &results.Run{ID: "phases-2"}
	cfg.RunID, cfg.DeleteNamespaces, cfg.CleanupTimeout = "phases-2", true, 2*time.Minute
	runner.Run(ctx, cfg, again)
	if again.Error != "" {
		t.Fatalf("second run failed: %s", again.Error)
	}
	left, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: runner.OwnerLabel})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Items) != 0 {
		t.Errorf("%d namespaces left after cleanup", len(left.Items))
	}
}

func TestFailedStepStopsTheRunAndGathersWhatWasStarted(t *testing.T) {
	cp := shared.Get(t)
	s := load(t, `name: failing
namespaces:
  count: 1
tuningSets:
  - {name: fast, qps: 50}
steps:
  - name: start
    measurements:
      - {identifier: api, method: APIResponsiveness, action: start}
  - name: wait for pods that never come
    measurements:
      - {identifier: wait, method: WaitForNodesReady, action: wait, params: {minCount: 100000, timeout: 3s}}
  - name: never reached
    phases:
      - namespaceRange: {min: 1, max: 1}
        replicasPerNamespace: 1
        tuningSet: fast
        objects: [{basename: cm, template: configmap.yaml, params: {value: x}}]
`)
	run := &results.Run{ID: "failing-1"}
	runner.Run(context.Background(), runner.Config{Scenario: s, RunID: "failing-1", Rest: cp.Config, Log: zap.NewNop(),
		DeleteNamespaces: true, CleanupTimeout: time.Minute}, run)
	if !run.Partial || run.ExitCode() != results.ExitFailed {
		t.Errorf("partial %v, exit %d, error %q", run.Partial, run.ExitCode(), run.Error)
	}
	gathered := false
	for _, m := range run.Measurements {
		if m.Identifier == "api" {
			gathered = true
			for _, c := range m.Checks {
				if !c.Partial {
					t.Errorf("check %s not marked partial", c.SLO)
				}
			}
		}
	}
	if !gathered {
		t.Error("APIResponsiveness was started but not gathered")
	}
}

func TestARunDeletesOnlyTheNamespacesItCreated(t *testing.T) {
	cp := shared.Get(t)
	client := kubernetes.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	mine := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "clash-2"}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, mine, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s := load(t, `name: clash
namespaces:
  count: 2
tuningSets:
  - {name: fast, qps: 50}
steps:
  - name: create
    phases:
      - namespaceRange: {min: 1, max: 2}
        replicasPerNamespace: 1
        tuningSet: fast
        objects: [{basename: cm, template: configmap.yaml, params: {value: x}}]
`)
	run := &results.Run{ID: "clash-1"}
	runner.Run(ctx, runner.Config{Scenario: s, RunID: "clash-1", Rest: cp.Config, Log: zap.NewNop(),
		DeleteNamespaces: true, CleanupTimeout: time.Minute}, run)
	if !strings.Contains(run.Error, "creating namespace clash-2") {
		t.Errorf("error %q, want the clash named", run.Error)
	}
	if _, err := client.CoreV1().Namespaces().Get(ctx, "clash-2", metav1.GetOptions{}); err != nil {
		t.Errorf("someone else's namespace was deleted: %v", err)
	}
	if _, err := client.CoreV1().Namespaces().Get(ctx, "clash-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the run's own namespace is still there: %v", err)
	}
}

func TestWaitTimeoutNamesStuckPodsAndWhy(t *testing.T) {
	cp := shared.Get(t)
	deployment := map[string]string{"deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: x, labels: {group: stuck}}
spec:
  replicas: 2
  selector: {matchLabels: {app: '{{.Name}}'}}
  template:
    metadata: {labels: {app: '{{.Name}}', group: stuck}}
    spec: {containers: [{name: c, image: registry.k8s.io/pause:3.10}]}
`}
	s := load(t, `name: stuck
namespaces:
  count: 1
tuningSets:
  - {name: fast, qps: 50}
steps:
  - name: create
    phases:
      - namespaceRange: {min: 1, max: 1}
        replicasPerNamespace: 1
        tuningSet: fast
        objects: [{basename: web, template: deployment.yaml}]
  - name: wait
    measurements:
      - {identifier: w, method: WaitForControlledPodsRunning, action: wait, params: {labelSelector: group=stuck, timeout: 5s}}
`, deployment)
	run := &results.Run{ID: "stuck-1"}
	// The shared control plane has no nodes: the pods cannot be scheduled.
	runner.Run(context.Background(), runner.Config{Scenario: s, RunID: "stuck-1", Rest: cp.Config, Log: zap.NewNop(),
		DeleteNamespaces: true, CleanupTimeout: time.Minute}, run)
	for _, want := range []string{"not running after 5s", "0 of 2 wanted pods running", "stuck pods: stuck-1/web-0-", "unschedulable"} {
		if !strings.Contains(run.Error, want) {
			t.Errorf("error %q lacks %q", run.Error, want)
		}
	}
}

// TestUnsupportedAndSleepLetTheRunGoOn: unsupported measurements, in both
// forms, are recorded as skipped checks; the run passes on the rest.
func TestUnsupportedAndSleepLetTheRunGoOn(t *testing.T) {
	cp := shared.Get(t)
	s := load(t, `name: unsupported
namespaces:
  count: 1
steps:
  - name: start
    measurements:
      - {identifier: npl, method: Unsupported, action: start, params: {measurement: NetworkProgrammingLatency}}
  - name: pause
    measurements:
      - {identifier: nap, method: Sleep, action: wait, params: {duration: 100ms}}
      - {identifier: dns, method: Unsupported, action: wait, params: {measurement: DnsLookupLatency, reason: no DNS here}}
  - name: gather
    measurements:
      - {identifier: npl, method: Unsupported, action: gather}
`)
	run := &results.Run{ID: "unsupported-1"}
	runner.Run(context.Background(), runner.Config{Scenario: s, RunID: "unsupported-1", Rest: cp.Config, Log: zap.NewNop(),
		DeleteNamespaces: true, CleanupTimeout: time.Minute}, run)
	if run.Error != "" || run.ExitCode() != results.ExitPassed {
		t.Fatalf("exit %d, error %q", run.ExitCode(), run.Error)
	}
	skipped := map[string]string{}
	for _, c := range run.Checks() {
		skipped[c.SLO] = c.Skipped
	}
	if skipped["NetworkProgrammingLatency"] != "not supported by hollowmark" || skipped["DnsLookupLatency"] != "no DNS here" || len(skipped) != 2 {
		t.Errorf("checks %+v", run.Checks())
	}
	dir := t.TempDir()
	if err := run.Write(dir); err != nil {
		t.Fatal(err)
	}
	junit, err := os.ReadFile(dir + "/junit.xml")
	if err != nil || strings.Count(string(junit), "<skipped ") != 2 {
		t.Errorf("junit.xml: %v\n%s", err, junit)
	}
}

// TestControlledPodsGatherFailsNamingStuckPods: the start and gather form,
// through the runner, around the phase that makes the controllers.
func TestControlledPodsGatherFailsNamingStuckPods(t *testing.T) {
	cp := shared.Get(t)
	deployment := map[string]string{"deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: x, labels: {group: watched}}
spec:
  replicas: 1
  selector: {matchLabels: {app: '{{.Name}}'}}
  template:
    metadata: {labels: {app: '{{.Name}}', group: watched}}
    spec: {containers: [{name: c, image: registry.k8s.io/pause:3.10}]}
`}
	s := load(t, `name: watched
namespaces:
  count: 1
tuningSets:
  - {name: fast, qps: 50}
steps:
  - name: watch
    measurements:
      - {identifier: pods, method: WaitForControlledPodsRunning, action: start,
         params: {apiVersion: apps/v1, kind: Deployment, labelSelector: group=watched, timeout: 3s}}
  - name: create
    phases:
      - namespaceRange: {min: 1, max: 1}
        replicasPerNamespace: 1
        tuningSet: fast
        objects: [{basename: web, template: deployment.yaml}]
  - name: wait
    measurements:
      - {identifier: pods, method: WaitForControlledPodsRunning, action: gather}
`, deployment)
	run := &results.Run{ID: "watched-1"}
	// The shared control plane has no nodes: the pods cannot be scheduled.
	runner.Run(context.Background(), runner.Config{Scenario: s, RunID: "watched-1", Rest: cp.Config, Log: zap.NewNop(),
		DeleteNamespaces: true, CleanupTimeout: time.Minute}, run)
	for _, want := range []string{"step 3 of 3 (wait): gather pods", "not running 3s after the last change", "stuck pods: watched-1/web-0-", "unschedulable"} {
		if !strings.Contains(run.Error, want) {
			t.Errorf("error %q lacks %q", run.Error, want)
		}
	}
	for _, m := range run.Measurements {
		if m.Identifier == "pods" {
			t.Errorf("a barrier recorded findings: %+v", m)
		}
	}
}

// randomSizes creates Deployments of a fixed size, then scales them twice
// to random sizes with the same parameters: each scale draws anew.
const randomSizes = `name: random
namespaces:
  count: 1
tuningSets:
  - {name: fast, qps: 100}
steps:
  - name: create
    phases:
      - namespaceRange: {min: 1, max: 1}
        replicasPerNamespace: 8
        tuningSet: fast
        objects: [{basename: web, template: random.yaml, params: {min: 4, max: 4}}]
  - name: scale to random sizes
    phases:
      - namespaceRange: {min: 1, max: 1}
        replicasPerNamespace: 8
        tuningSet: fast
        objects: [{basename: web, template: random.yaml, params: {min: 2, max: 20}}]
  - name: scale to random sizes again
    phases:
      - namespaceRange: {min: 1, max: 1}
        replicasPerNamespace: 8
        tuningSet: fast
        objects: [{basename: web, template: random.yaml, params: {min: 2, max: 20}}]
`

var randomTemplate = map[string]string{"random.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  replicas: {{RandIntRange .Params.min .Params.max}}
  selector: {matchLabels: {app: '{{.Name}}'}}
  template:
    metadata: {labels: {app: '{{.Name}}'}}
    spec: {containers: [{name: c, image: registry.k8s.io/pause:3.10}]}
`}

// A replica that stays is applied again when it draws a new size, even
// with unchanged parameters; the sizes are the seed's.
func TestRandomSizesAreAppliedAndRepeatable(t *testing.T) {
	cp := shared.Get(t)
	client := kubernetes.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	run := func(id string, seed uint64) (sizes []int32, applies int) {
		t.Helper()
		res := &results.Run{ID: id}
		runner.Run(ctx, runner.Config{Scenario: load(t, randomSizes, randomTemplate), RunID: id, Rest: cp.Config, Log: zap.NewNop(), Seed: seed}, res)
		if res.Error != "" {
			t.Fatalf("run %s: %s", id, res.Error)
		}
		for i := range 8 {
			d, err := client.AppsV1().Deployments("random-1").Get(ctx, fmt.Sprintf("web-%d", i), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, *d.Spec.Replicas)
		}
		for _, m := range res.Measurements {
			if m.Identifier == "ClientAPICalls" {
				for _, row := range m.Summary.Tables["client_calls.csv"][1:] {
					if row[1] == "APPLY" && row[2] == "deployments" && row[4] == "" {
						applies++
					}
				}
			}
		}
		return sizes, applies
	}
	first, applies := run("random-a", 5)
	for _, n := range first {
		if n < 2 || n > 20 {
			t.Errorf("sizes %v, want each in [2, 20]", first)
		}
	}
	// 8 created, 8 scaled (new parameters), then those whose second draw
	// differs from the first: at least one of eight from 19 sizes.
	if applies <= 16 || applies > 24 {
		t.Errorf("%d applies of Deployments, want 8 created, 8 scaled and some of 8 scaled again", applies)
	}
	again, _ := run("random-b", 5)
	other, _ := run("random-c", 6)
	if !slices.Equal(first, again) {
		t.Errorf("seed 5 drew sizes %v, then %v", first, again)
	}
	if slices.Equal(first, other) {
		t.Errorf("seeds 5 and 6 drew the same sizes %v", first)
	}
}

// clusterScoped makes PriorityClasses with a phase without a namespace
// range, deletes one, and leaves two for the cleanup of an attached run.
const clusterScoped = `name: cluster
namespaces:
  count: 1
tuningSets:
  - {name: fast, qps: 50}
steps:
  - name: create
    phases:
      - replicasPerNamespace: 3
        tuningSet: fast
        objects: [{basename: cluster-prio, template: priorityclass.yaml}]
  - name: scale down
    phases:
      - replicasPerNamespace: 2
        tuningSet: fast
        objects: [{basename: cluster-prio, template: priorityclass.yaml}]
`

func TestClusterScopedPhasesAndTheirCleanup(t *testing.T) {
	cp := shared.Get(t)
	client := kubernetes.NewForConfigOrDie(cp.Config)
	s := load(t, clusterScoped, map[string]string{"priorityclass.yaml": "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: x}\nvalue: {{.Index}}\n"})
	run := &results.Run{ID: "cluster-1"}
	runner.Run(context.Background(), runner.Config{Scenario: s, RunID: "cluster-1", Rest: cp.Config, Log: zap.NewNop(),
		DeleteNamespaces: true, CleanupTimeout: time.Minute}, run)
	if run.Error != "" || len(run.Warnings) > 0 {
		t.Fatalf("run: error %q, warnings %q", run.Error, run.Warnings)
	}
	calls := map[string]int{}
	for _, m := range run.Measurements {
		if m.Identifier == "ClientAPICalls" {
			for _, row := range m.Summary.Tables["client_calls.csv"][1:] {
				if row[2] == "priorityclasses" && row[4] == "" {
					calls[row[1]]++
				}
			}
		}
	}
	// Three made, one deleted by the phase, two by the cleanup.
	if calls["APPLY"] != 3 || calls["DELETE"] != 1 {
		t.Errorf("calls on priority classes during the run: %v", calls)
	}
	for i := range 3 {
		name := fmt.Sprintf("cluster-prio-%d", i)
		if _, err := client.SchedulingV1().PriorityClasses().Get(context.Background(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s after the run: %v, want it deleted", name, err)
		}
	}
}
