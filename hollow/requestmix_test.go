package hollow_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/internal/requestmix"
	"github.com/hollowmark/hollowmark/internal/testenv"
)

// mixRun is what the request-mix check measures: the control plane's own
// traffic, then hollow nodes registering, idle, starting pods and deleting
// them, each phase between two scrapes of the API server's counters.
type mixRun struct {
	nodes, pods, nodesWithPods          int
	base, register, idle, start, delete requestmix.Delta
	watchesIdle, watchesPods            map[string]float64
}

// measureMix runs the phases on a fresh control plane: nodes full-fidelity
// hollow nodes, idle for the given window, then pods bare pods in one
// namespace, started and deleted.
func measureMix(t testing.TB, nodes, pods int, idle time.Duration) mixRun {
	ctx := context.Background()
	cp := testenv.StartControlPlane(t, controlplane.Options{})
	client := kubernetes.NewForConfigOrDie(cp.Config)
	scrape := func() requestmix.Snapshot {
		t.Helper()
		s, err := requestmix.Scrape(ctx, client)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	run := mixRun{nodes: nodes, pods: pods}

	s0 := scrape()
	time.Sleep(time.Minute)
	s1 := scrape()
	run.base = s1.Since(s0)

	creds, err := hollow.CredentialsFromConfig(cp.Config, cp.Authority)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := hollow.StartPool(ctx, creds, hollow.PoolConfig{Count: nodes, Shards: 1, NamePrefix: "mix-", Concurrency: 8,
		Node: hollow.DefaultNodeConfig(), PerNodeProxyConnections: true}, hollow.NewMetrics(), nil, zap.NewNop(), nil)
	if err != nil {
		t.Fatalf("starting pool: %v", err)
	}
	t.Cleanup(pool.Stop)
	waitFor(t, "nodes Ready", 2*time.Minute, func(ctx context.Context) (bool, error) {
		return readyNodes(ctx, client) == nodes, nil
	})
	// Registration's stragglers (the Ready patch, CSINode) settle.
	time.Sleep(20 * time.Second)
	s2 := scrape()
	run.register = s2.Since(s1).Minus(run.base)

	time.Sleep(idle)
	s3 := scrape()
	run.idle = s3.Since(s2).Minus(run.base)
	run.watchesIdle = s3.Since(s1).Watches

	ns := createNamespaceWithServiceAccount(t, client, "request-mix")
	for i := range pods {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("mix-%d", i)},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}}}
		if _, err := client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Waiting LISTs: a GET here would count as the kubelet's.
	var running []corev1.Pod
	waitFor(t, "pods running", 3*time.Minute, func(ctx context.Context) (bool, error) {
		list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		running = slices.DeleteFunc(list.Items, func(p corev1.Pod) bool { return p.Status.Phase != corev1.PodRunning || !podReady(&p) })
		return len(running) == pods, nil
	})
	nodeSet := map[string]bool{}
	for _, p := range running {
		nodeSet[p.Spec.NodeName] = true
	}
	run.nodesWithPods = len(nodeSet)
	time.Sleep(5 * time.Second) // the last status syncs land
	s4 := scrape()
	run.start = s4.Since(s3).Minus(run.base)
	run.watchesPods = s4.Since(s3).Watches

	if err := client.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "pods gone", 3*time.Minute, func(ctx context.Context) (bool, error) {
		list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(list.Items) == 0, nil
	})
	time.Sleep(2 * time.Second)
	run.delete = scrape().Since(s4).Minus(run.base)
	// The API server counts the collection delete above as one DELETE.
	run.delete.Requests["DELETE pods"]--
	return run
}

func readyNodes(ctx context.Context, client kubernetes.Interface) int {
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0
	}
	ready := 0
	for _, n := range list.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	return ready
}

func podReady(p *corev1.Pod) bool { return condition(p, corev1.PodReady) == corev1.ConditionTrue }

// createNamespaceWithServiceAccount waits for the controller manager to
// give the namespace its default ServiceAccount: pods need it to be admitted.
func createNamespaceWithServiceAccount(t testing.TB, client kubernetes.Interface, name string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the default ServiceAccount", time.Minute, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	return name
}

// phases are the run's figures as the expected table's rows read them.
func (r mixRun) phases() requestmix.Phases {
	return requestmix.Phases{Nodes: r.nodes, Pods: r.pods, NodesWithPods: r.nodesWithPods,
		Register: r.register, Idle: r.idle, Start: r.start, Delete: r.delete,
		WatchesIdle: r.watchesIdle, WatchesPods: r.watchesPods}
}

func (r mixRun) check(t testing.TB) []requestmix.Result {
	t.Helper()
	path := filepath.Join("..", "docs", "fidelity.md")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	expected, err := requestmix.ParseExpectations(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	results, err := r.phases().Check(expected)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return results
}

// perPod sums the nodes' requests per pod: everything but the test's own
// requests and the watches' ends.
func perPod(d requestmix.Delta, pods int) float64 { return requestmix.PerPod(d, pods) }
