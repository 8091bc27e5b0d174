package hollow_test

import (
	"bytes"
	"context"
	"maps"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/internal/testenv"
)

// openWatches reads the API server's count of open watches per resource.
func openWatches(t *testing.T, client kubernetes.Interface) map[string]float64 {
	t.Helper()
	raw, err := client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, m := range families["apiserver_longrunning_requests"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["verb"] == "WATCH" {
			out[labels["resource"]] += m.GetGauge().GetValue()
		}
	}
	return out
}

// Each hollow node holds its own watches, as in a real cluster: the API
// server must count them.
func TestEveryNodeHoldsItsOwnWatches(t *testing.T) {
	cp := shared.Get(t)
	client := kubernetes.NewForConfigOrDie(cp.Config)
	// The control plane's own controllers open watches for a while after
	// start; count from a moment when theirs stand still.
	var before map[string]float64
	waitFor(t, "the control plane's watches to settle", time.Minute, func(context.Context) (bool, error) {
		prev := before
		time.Sleep(time.Second)
		before = openWatches(t, client)
		return maps.Equal(prev, before), nil
	})
	const nodes = 4
	startPool(t, "watch-", nodes, fastConfig())
	// kubelet: pods, its node, services; proxy: services, endpointslices, its node.
	want := map[string]float64{"pods": nodes, "nodes": 2 * nodes, "services": 2 * nodes, "endpointslices": nodes}
	var got map[string]float64
	waitFor(t, "the nodes' watches", 30*time.Second, func(context.Context) (bool, error) {
		got = openWatches(t, client)
		for res, n := range want {
			if got[res]-before[res] < n {
				return false, nil
			}
		}
		return true, nil
	})
	for res, n := range want {
		if d := got[res] - before[res]; d != n {
			t.Errorf("%s: %v more watches, want %v", res, d, n)
		}
	}
}

func TestNodeCannotPatchAnotherNodesPod(t *testing.T) {
	c := startPool(t, "nr-", 2, fastConfig())
	ns := c.namespace(t, "node-restriction")
	ctx := context.Background()
	if _, err := c.client.CoreV1().Pods(ns).Create(ctx, podOn("victim", "nr-1", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitPod(t, ns, "victim", "the pod to run", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	// nr-0's identity, exactly as the hollow kubelet presents it.
	pair, err := c.cp.Authority.IssueClient("system:node:nr-0", "system:nodes")
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(c.cp.Config)
	cfg.CertData, cfg.KeyData = pair.CertPEM, pair.KeyPEM
	node0 := kubernetes.NewForConfigOrDie(cfg)
	patch := []byte(`{"status":{"conditions":[{"type":"Ready","status":"False"}]}}`)
	_, err = node0.CoreV1().Pods(ns).Patch(ctx, "victim", types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if !apierrors.IsForbidden(err) {
		t.Fatalf("nr-0 patching a pod of nr-1: got %v, want Forbidden", err)
	}
}

// After an API server restart nodes reconnect: leases resume, watches come
// back (new pods run, deleted pods go) and no pod status is lost.
func TestNodesRecoverFromAPIServerRestart(t *testing.T) {
	cp := testenv.StartControlPlane(t, controlplane.Options{})
	creds, err := hollow.CredentialsFromConfig(cp.Config, cp.Authority)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := hollow.StartPool(context.Background(), creds, hollow.PoolConfig{Count: 2, Shards: 1, NamePrefix: "rs-", Concurrency: 2, Node: fastConfig()},
		hollow.NewMetrics(), nil, testLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Stop)
	c := &cluster{cp: cp, client: kubernetes.NewForConfigOrDie(cp.Config)}
	ns := c.namespace(t, "restart")
	ctx := context.Background()
	for _, name := range []string{"before", "racing"} {
		if _, err := c.client.CoreV1().Pods(ns).Create(ctx, podOn(name, "rs-0", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if name == "before" {
			c.waitPod(t, ns, name, "the pod to run", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		}
	}
	// "racing" is being started while the API server goes away.
	if err := cp.Restart(ctx, controlplane.APIServer); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	c.waitPod(t, ns, "racing", "the pod started during the restart to run", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && condition(p, corev1.PodReady) == corev1.ConditionTrue
	})
	if _, err := c.client.CoreV1().Pods(ns).Create(ctx, podOn("after", "rs-1", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitPod(t, ns, "after", "a pod created after the restart to run", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	if err := c.client.CoreV1().Pods(ns).Delete(ctx, "before", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deleted pod to go", 30*time.Second, func(ctx context.Context) (bool, error) {
		_, err := c.client.CoreV1().Pods(ns).Get(ctx, "before", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	waitFor(t, "lease renewals after the restart", 30*time.Second, func(ctx context.Context) (bool, error) {
		for _, n := range []string{"rs-0", "rs-1"} {
			l, err := c.client.CoordinationV1().Leases("kube-node-lease").Get(ctx, n, metav1.GetOptions{})
			if err != nil || !l.Spec.RenewTime.After(restarted) {
				return false, nil
			}
		}
		return true, nil
	})
}
