package measurements_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/internal/testenv"
	"github.com/hollowmark/hollowmark/measurements"
)

var shared testenv.Shared

func TestMain(m *testing.M) { os.Exit(shared.Run(m)) }

// runPods starts a node with the given container start latency, creates
// pods on it and measures their startup.
func runPods(t *testing.T, name, startLatency string, pods int) *measurements.Summary {
	return runPodsAfter(t, name, startLatency, 0, pods)
}

// runPodsAfter gets `before` pods running before the measurement
// starts, then `pods` more.
func runPodsAfter(t *testing.T, name, startLatency string, before, pods int) *measurements.Summary {
	t.Helper()
	cp := shared.Get(t)
	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(cp.Config)
	cfg := hollow.DefaultNodeConfig()
	var err error
	if cfg.StartLatency, err = hollow.ParseLatency(startLatency); err != nil {
		t.Fatal(err)
	}
	cfg.SandboxLatency, _ = hollow.ParseLatency("10ms")
	creds, err := hollow.CredentialsFromConfig(cp.Config, cp.Authority)
	if err != nil {
		t.Fatal(err)
	}
	probes := &hollow.ProbeMemory{}
	pool, err := hollow.StartPool(ctx, creds, hollow.PoolConfig{Count: 1, Shards: 1, NamePrefix: name + "-", Concurrency: 1, Node: cfg},
		hollow.NewMetrics(), probes, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Stop()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	m := &measurements.PodStartupLatency{Client: client, LabelSelector: "measured=" + name,
		Probes: probes.All}
	createRunning(t, client, name, "pre", before, before, probes)
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	createRunning(t, client, name, "p", pods, before+pods, probes)
	// The watch sees the last status a moment after the poll does.
	time.Sleep(500 * time.Millisecond)
	sum, err := m.Gather(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// createRunning creates n pods named prefix-i on the node of name and
// waits until `total` pods of the namespace run and have probes.
func createRunning(t *testing.T, client kubernetes.Interface, name, prefix string, n, total int, probes *hollow.ProbeMemory) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s%d", prefix, i), Labels: map[string]string{"measured": name}},
			Spec: corev1.PodSpec{NodeSelector: map[string]string{"kubernetes.io/hostname": name + "-0"},
				Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
		}
		if _, err := client.CoreV1().Pods(name).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := client.CoreV1().Pods(name).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		running := 0
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == total && len(probes.All()) == total, nil
	})
	if err != nil {
		t.Fatalf("pods did not run: %v", err)
	}
}

func TestPodsRunningBeforeStartAreNotMeasured(t *testing.T) {
	sum := runPodsAfter(t, "pre", "20ms", 2, 3)
	if rows := sum.Tables["pods.csv"]; len(rows) != 1+3 {
		t.Errorf("%d pods measured, want the 3 created after Start: %v", len(rows)-1, rows)
	}
}

func checkOutcomes(t *testing.T, sum *measurements.Summary, wantPass bool) {
	t.Helper()
	stateless := 0
	for _, c := range sum.Checks {
		if !strings.HasSuffix(c.SLO, "(stateless)") {
			continue
		}
		stateless++
		if c.Passed() != wantPass {
			t.Errorf("%s: passed %v, want %v", c.Verdict(), c.Passed(), wantPass)
		}
	}
	if stateless != 1 {
		t.Errorf("%d stateless checks, want 1", stateless)
	}
}

func TestFastRuntimeMeetsPodStartupSLO(t *testing.T) {
	sum := runPods(t, "fast", "20ms", 10)
	checkOutcomes(t, sum, true)
	recompute(t, sum)
}

func TestSlowRuntimeViolatesPodStartupSLO(t *testing.T) {
	sum := runPods(t, "slow", "6s", 5)
	checkOutcomes(t, sum, false)
	recompute(t, sum)
}

// recompute derives pod_startup's percentiles from the per-pod rows alone
// (watch_running - watch_created, the watch definition) and compares them
// with what the measurement reported.
func recompute(t *testing.T, sum *measurements.Summary) {
	t.Helper()
	rows := sum.Tables["pods.csv"]
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var samples []time.Duration
	for _, r := range rows[1:] {
		created, err1 := time.Parse(time.RFC3339Nano, r[col["watch_created"]])
		watched, err2 := time.Parse(time.RFC3339Nano, r[col["watch_running"]])
		if err1 != nil || err2 != nil {
			t.Fatalf("row %v: %v %v", r, err1, err2)
		}
		if r[col["kubelet_status_posted"]] == "" {
			t.Errorf("row %v lacks the kubelet's probes", r)
		}
		samples = append(samples, watched.Sub(created))
	}
	want, err := measurements.NearestRank(samples)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range sum.Checks {
		if c.SLO == "PodStartupLatency (stateless)" {
			found = true
			if c.Measured != want {
				t.Errorf("reported %+v, recomputed from the rows %+v", c.Measured, want)
			}
		}
	}
	if !found {
		t.Error("no stateless pod startup check")
	}
}
