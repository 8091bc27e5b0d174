package measurements_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/measurements"
)

func pod(ns, name string, phase corev1.PodPhase, ready bool, deleting bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Status: corev1.PodStatus{Phase: phase}}
	if ready {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	if deleting {
		p.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	}
	p.Spec.NodeName = "n"
	return p
}

// TestCountRunningPods is ClusterLoader2's rule: exactly the desired count
// running and Ready, every other pod finished.
func TestCountRunningPods(t *testing.T) {
	running := func(name string) *corev1.Pod { return pod("ns", name, corev1.PodRunning, true, false) }
	tests := []struct {
		name    string
		pods    []*corev1.Pod
		desired int
		done    bool
		stuck   string
	}{
		{"all running", []*corev1.Pod{running("a"), running("b")}, 2, true, ""},
		{"finished ones do not count", []*corev1.Pod{running("a"), pod("ns", "b", corev1.PodSucceeded, false, false),
			pod("ns", "c", corev1.PodFailed, false, false)}, 1, true, ""},
		{"too few", []*corev1.Pod{running("a")}, 2, false, ""},
		{"too many", []*corev1.Pod{running("a"), running("b")}, 1, false, ""},
		{"running, not ready", []*corev1.Pod{running("a"), pod("ns", "b", corev1.PodRunning, false, false)}, 1, false, "ns/b: running, not Ready"},
		{"terminating", []*corev1.Pod{running("a"), pod("ns", "b", corev1.PodRunning, true, true)}, 1, false, "ns/b: terminating"},
		{"pending", []*corev1.Pod{running("a"), pod("ns", "b", corev1.PodPending, false, false)}, 1, false, "ns/b: phase Pending"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := measurements.CountRunningPods(tt.pods, tt.desired)
			if c.Done() != tt.done {
				t.Errorf("done %v, want %v (%+v)", c.Done(), tt.done, c)
			}
			if tt.stuck != "" && (len(c.Stuck) != 1 || !strings.HasPrefix(c.Stuck[0], tt.stuck)) {
				t.Errorf("stuck %v, want %q", c.Stuck, tt.stuck)
			}
		})
	}
}

// TestCountConditions: an object counts by the first of its conditions that
// is listed, successful or failed.
func TestCountConditions(t *testing.T) {
	obj := func(name string, conds ...string) *unstructured.Unstructured {
		var list []any
		for _, c := range conds {
			typ, status, _ := strings.Cut(c, "=")
			list = append(list, map[string]any{"type": typ, "status": status})
		}
		u := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"conditions": list}}}
		u.SetName(name)
		return u
	}
	objects := []*unstructured.Unstructured{obj("a", "Ready=True"), obj("b", "Scheduled=True", "Failed=True"),
		obj("c", "Failed=True", "Ready=True"), obj("d", "Ready=False"), obj("e")}
	c := measurements.CountConditions(objects, []string{"Ready=True"}, []string{"Failed=True"})
	if c.Count != 5 || strings.Join(c.Successful, ",") != "a" || strings.Join(c.Failed, ",") != "b,c" {
		t.Errorf("got %+v", c)
	}
}

// barrierCluster is a namespace and one hollow node on the shared control
// plane, with pods in three groups: "ok" (3 running), "mixed" (2 running,
// one that cannot be scheduled), and nothing else.
type barrierCluster struct {
	client    kubernetes.Interface
	dynamic   dynamic.Interface
	ns, node  string
	deps      measurements.Deps
	registry  *measurements.Registry
	unplaced  string // a node selector no node matches
	placedSel map[string]string
}

func newBarrierCluster(t *testing.T, prefix string) *barrierCluster {
	t.Helper()
	cp := shared.Get(t)
	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(cp.Config)
	ns, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := hollow.CredentialsFromConfig(cp.Config, cp.Authority)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := hollow.StartPool(ctx, creds, hollow.PoolConfig{Count: 1, Shards: 1, NamePrefix: ns.Name + "-", Concurrency: 1, Node: hollow.DefaultNodeConfig()},
		hollow.NewMetrics(), &hollow.ProbeMemory{}, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Stop)
	c := &barrierCluster{client: client, dynamic: dynamic.NewForConfigOrDie(cp.Config), ns: ns.Name, node: ns.Name + "-0",
		registry: measurements.NewRegistry()}
	c.placedSel = map[string]string{"kubernetes.io/hostname": c.node}
	c.deps = measurements.Deps{Client: client, Dynamic: c.dynamic, Namespaces: []string{c.ns}, Log: zap.NewNop()}
	return c
}

func (c *barrierCluster) podSpec(placed bool) corev1.PodSpec {
	sel := c.placedSel
	if !placed {
		sel = map[string]string{"kubernetes.io/hostname": "no-such-node"}
	}
	return corev1.PodSpec{NodeSelector: sel, Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}}
}

func (c *barrierCluster) createPod(t *testing.T, name, group string, placed bool) {
	t.Helper()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"group": group}}, Spec: c.podSpec(placed)}
	if _, err := c.client.CoreV1().Pods(c.ns).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (c *barrierCluster) createDeployment(t *testing.T, name, group string, replicas int32, placed bool) {
	t.Helper()
	labels := map[string]string{"group": group, "app": name}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: c.podSpec(placed)}}}
	if _, err := c.client.AppsV1().Deployments(c.ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// settle waits until the pods of group are as many as want, the placed
// ones Ready and the others marked unschedulable, so that the barriers
// below see a cluster that no longer moves.
func (c *barrierCluster) settle(t *testing.T, group string, want int) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := c.client.CoreV1().Pods(c.ns).List(ctx, metav1.ListOptions{LabelSelector: "group=" + group})
		if err != nil || len(pods.Items) != want {
			return false, nil
		}
		for _, p := range pods.Items {
			// A placed pod created before its node is Ready is unschedulable
			// for a while too: only Ready settles it.
			by := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse}
			if p.Spec.NodeSelector["kubernetes.io/hostname"] == c.node {
				by = corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}
			}
			settled := false
			for _, cond := range p.Status.Conditions {
				settled = settled || cond.Type == by.Type && cond.Status == by.Status
			}
			if !settled {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("pods of %s did not settle: %v", group, err)
	}
}

func (c *barrierCluster) wait(t *testing.T, method string, ps measurements.Params) error {
	t.Helper()
	b, err := c.registry.Barrier(method, ps, c.deps)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := b(context.Background())
	if sum != nil {
		t.Errorf("%s recorded %+v", method, sum)
	}
	return err
}

// TestPodAndObjectBarriers runs WaitForRunningPods and
// WaitForGenericK8sObjects, through the registry, on pods that run and pods
// that cannot be scheduled.
func TestPodAndObjectBarriers(t *testing.T) {
	c := newBarrierCluster(t, "barriers")
	for i := range 3 {
		c.createPod(t, fmt.Sprintf("ok-%d", i), "ok", true)
	}
	c.createPod(t, "mixed-0", "mixed", true)
	c.createPod(t, "mixed-1", "mixed", true)
	c.createPod(t, "mixed-stuck", "mixed", false)
	c.settle(t, "ok", 3)
	c.settle(t, "mixed", 3)

	generic := func(group string, extra measurements.Params) measurements.Params {
		ps := measurements.Params{"objectVersion": "v1", "objectResource": "pods", "labelSelector": "group=" + group}
		for k, v := range extra {
			ps[k] = v
		}
		return ps
	}
	conditions := measurements.Params{"successfulConditions": []any{"Ready=True"}, "failedConditions": []any{"PodScheduled=False"}}
	with := func(ps measurements.Params, k string, v any) measurements.Params {
		out := measurements.Params{k: v}
		for key, val := range ps {
			out[key] = val
		}
		return out
	}
	tests := []struct {
		name   string
		method string
		params measurements.Params
		want   string // substring of the error; "" for none
	}{
		{"running pods there", "WaitForRunningPods", measurements.Params{"labelSelector": "group=ok", "desiredPodCount": 3}, ""},
		{"more running pods wanted", "WaitForRunningPods", measurements.Params{"labelSelector": "group=ok", "desiredPodCount": 4},
			"3 running and Ready, 0 finished, 3 pods exist"},
		{"an unschedulable pod keeps it waiting", "WaitForRunningPods", measurements.Params{"labelSelector": "group=mixed", "desiredPodCount": 2},
			"mixed-stuck: unschedulable"},
		{"all namespaces", "WaitForRunningPods", measurements.Params{"labelSelector": "group=ok", "desiredPodCount": 3, "scope": "all"}, ""},
		{"objects successful", "WaitForGenericK8sObjects", generic("ok", with(conditions, "minDesiredObjectCount", 3)), ""},
		{"too many failed", "WaitForGenericK8sObjects", generic("mixed", with(conditions, "minDesiredObjectCount", 3)),
			"1 objects failed, at most 0 may: " + c.ns + "/mixed-stuck"},
		{"failures tolerated", "WaitForGenericK8sObjects", generic("mixed", with(with(conditions, "minDesiredObjectCount", 3), "maxFailedObjectCount", 1)), ""},
		{"too few decided", "WaitForGenericK8sObjects", generic("ok", with(conditions, "minDesiredObjectCount", 4)),
			"3 successful, 0 failed, 3 exist"},
		{"no conditions: objects exist", "WaitForGenericK8sObjects", generic("mixed", measurements.Params{"minDesiredObjectCount": 3}), ""},
		{"cluster-scoped objects", "WaitForGenericK8sObjects", measurements.Params{"objectVersion": "v1", "objectResource": "nodes", "scope": "cluster",
			"labelSelector": "kubernetes.io/hostname=" + c.node, "successfulConditions": []any{"Ready=True"}, "minDesiredObjectCount": 1}, ""},
		{"a resource nobody serves", "WaitForGenericK8sObjects", measurements.Params{"objectGroup": "example.com", "objectVersion": "v1",
			"objectResource": "widgets", "minDesiredObjectCount": 1}, "is it served?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The barriers only read, so they share the settled pods. One
			// that should pass returns when it sees them, however slow a
			// loaded machine makes the watch; one that should fail must
			// still see them settled when its time is up.
			t.Parallel()
			timeout := "1m"
			if tt.want != "" {
				timeout = "10s"
			}
			err := c.wait(t, tt.method, with(tt.params, "timeout", timeout))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestControlledPodsStartAndGather: ClusterLoader2's form watches from
// start, waits at gather, and follows only the kind it is given.
func TestControlledPodsStartAndGather(t *testing.T) {
	c := newBarrierCluster(t, "controlled")
	ctx := context.Background()
	// A bare pod that cannot run, in the group of the Deployment that can:
	// the Deployment's wait ignores it, the wait for everything does not.
	c.createPod(t, "bare-stuck", "web", false)
	// The wait that should pass gets time to spare on a loaded machine; it
	// returns as soon as its pods run.
	start := func(group, timeout string) measurements.Measurement {
		t.Helper()
		m, err := c.registry.Measurement("WaitForControlledPodsRunning", measurements.Params{"apiVersion": "apps/v1", "kind": "Deployment",
			"labelSelector": "group=" + group, "timeout": timeout}, c.deps)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return m
	}
	web, stuck := start("web", "1m"), start("stuck", "5s")
	c.createDeployment(t, "web", "web", 2, true)
	c.createDeployment(t, "stuck", "stuck", 2, false)

	if sum, err := web.Gather(ctx); sum != nil || err != nil {
		t.Errorf("gathering the Deployment that runs: %v, %v", sum, err)
	}
	_, err := stuck.Gather(ctx)
	for _, want := range []string{"not running 5s after the last change to a watched controller", "0 of 2 wanted pods running", "stuck pods: " + c.ns + "/stuck-", "unschedulable"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("gathering the stuck Deployment: error %v lacks %q", err, want)
		}
	}
	if err := c.wait(t, "WaitForControlledPodsRunning", measurements.Params{"labelSelector": "group=web", "timeout": "2s"}); err == nil ||
		!strings.Contains(err.Error(), "bare-stuck: unschedulable") {
		t.Errorf("waiting for every pod of the group: %v, want the bare pod named", err)
	}
	// Gathered the moment it is created, before the watch can have seen it:
	// the gather waits for the watch to catch up, and then for the pods.
	late := start("late", "5s")
	c.createDeployment(t, "late", "late", 1, false)
	if _, err := late.Gather(ctx); err == nil || !strings.Contains(err.Error(), "0 of 1 wanted pods running") {
		t.Errorf("gathering a Deployment created just before: %v, want its pod waited for", err)
	}
	if _, err := c.registry.Measurement("WaitForControlledPodsRunning", measurements.Params{"apiVersion": "batch/v1", "kind": "Deployment"}, c.deps); err == nil ||
		!strings.Contains(err.Error(), `apiVersion "batch/v1": Deployment is apps/v1`) {
		t.Errorf("a kind of the wrong API version: %v", err)
	}
}
