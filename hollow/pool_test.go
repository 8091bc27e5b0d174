package hollow_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/internal/testenv"
)

var shared testenv.Shared

func TestMain(m *testing.M) { os.Exit(shared.Run(m)) }

// fastConfig makes the fake runtime quick and predictable.
func fastConfig() hollow.NodeConfig {
	cfg := hollow.DefaultNodeConfig()
	must := func(s string) hollow.Latency {
		l, err := hollow.ParseLatency(s)
		if err != nil {
			panic(err)
		}
		return l
	}
	cfg.SandboxLatency, cfg.StartLatency, cfg.StopLatency = must("10ms"), must("10ms"), must("10ms")
	cfg.PullLatency, cfg.CrashAfter, cfg.JobRunTime = must("50ms"), must("300ms"), must("500ms")
	return cfg
}

type cluster struct {
	cp      *controlplane.ControlPlane
	client  kubernetes.Interface
	probes  *hollow.ProbeMemory
	pool    *hollow.Pool
	metrics *hollow.Metrics
}

func startPool(t *testing.T, prefix string, count int, cfg hollow.NodeConfig) *cluster {
	t.Helper()
	cp := shared.Get(t)
	creds, err := hollow.CredentialsFromConfig(cp.Config, cp.Authority)
	if err != nil {
		t.Fatal(err)
	}
	probes := &hollow.ProbeMemory{}
	metrics := hollow.NewMetrics()
	pool, err := hollow.StartPool(context.Background(), creds, hollow.PoolConfig{
		Count: count, Shards: 1, NamePrefix: prefix, Concurrency: 4, Node: cfg,
	}, metrics, probes, zap.NewNop(), nil)
	if err != nil {
		t.Fatalf("starting pool: %v", err)
	}
	client := kubernetes.NewForConfigOrDie(cp.Config)
	t.Cleanup(func() {
		pool.Stop()
		if err := hollow.DeleteNodes(context.Background(), client, pool.Names()); err != nil {
			t.Errorf("deleting nodes: %v", err)
		}
	})
	return &cluster{cp: cp, client: client, probes: probes, pool: pool, metrics: metrics}
}

func waitFor(t testing.TB, what string, timeout time.Duration, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func TestNodesRegisterAndBecomeReady(t *testing.T) {
	c := startPool(t, "reg-", 3, fastConfig())
	ctx := context.Background()
	for i := range 3 {
		name := fmt.Sprintf("reg-%d", i)
		// Registered NotReady, as a starting kubelet; Ready once its
		// runtime is up, about a second later.
		var node *corev1.Node
		waitFor(t, name+" Ready", 30*time.Second, func(ctx context.Context) (bool, error) {
			n, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			node = n
			return err == nil && nodeReady(n), nil
		})
		if _, err := c.client.StorageV1().CSINodes().Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("%s has no CSINode: %v", name, err)
		}
		if len(node.Status.Images) != hollow.DefaultNodeConfig().StatusImages || len(node.Status.RuntimeHandlers) == 0 {
			t.Errorf("%s lists %d images, %d runtime handlers", name, len(node.Status.Images), len(node.Status.RuntimeHandlers))
		}
		if node.Status.NodeInfo.KubeletVersion != "v1.36.3" || node.Labels["kubernetes.io/hostname"] != name {
			t.Errorf("%s: kubelet version %q, labels %v", name, node.Status.NodeInfo.KubeletVersion, node.Labels)
		}
		if node.Status.Allocatable.Pods().Value() != 110 {
			t.Errorf("%s allocatable pods %v", name, node.Status.Allocatable.Pods())
		}
	}
	// The lease exists, is held by the node, and is renewed.
	lease, err := c.client.CoordinationV1().Leases("kube-node-lease").Get(ctx, "reg-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *lease.Spec.HolderIdentity != "reg-0" || *lease.Spec.LeaseDurationSeconds != 40 || lease.OwnerReferences[0].Kind != "Node" {
		t.Errorf("lease %+v", lease.Spec)
	}
	first := lease.Spec.RenewTime.Time
	waitFor(t, "a lease renewal", 15*time.Second, func(ctx context.Context) (bool, error) {
		l, err := c.client.CoordinationV1().Leases("kube-node-lease").Get(ctx, "reg-0", metav1.GetOptions{})
		return err == nil && l.Spec.RenewTime.After(first), nil
	})
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// testLogger sends the pool's logs, debug included, to the test log.
func testLogger(t *testing.T) *zap.Logger {
	return zaptest.NewLogger(t, zaptest.Level(zap.DebugLevel))
}
