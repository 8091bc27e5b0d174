package hollow_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/utils/ptr"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/internal/testenv"
)

// The benchmarks measure the node pool inside this process against a real
// control plane in child processes, so RSS and CPU deltas are the pool's.
const (
	settle     = 15 * time.Second // after start, before measuring idle cost
	idleWindow = time.Minute
)

func BenchmarkIdleNodes(b *testing.B) {
	for _, c := range []struct {
		nodes    int
		fidelity hollow.Fidelity
	}{{1000, hollow.FidelityFull}, {1000, hollow.FidelityLean}, {5000, hollow.FidelityFull}} {
		b.Run(fmt.Sprintf("nodes=%d/fidelity=%s", c.nodes, c.fidelity), func(b *testing.B) {
			for range b.N {
				benchIdle(b, c.nodes, c.fidelity)
			}
		})
	}
}

func benchIdle(b *testing.B, n int, fidelity hollow.Fidelity) {
	cp := testenv.StartControlPlane(b, controlplane.Options{Nodes: n})
	client := kubernetes.NewForConfigOrDie(cp.Config)
	// An earlier sub-benchmark's pool is gone but its memory may not be
	// back with the OS yet: without this the baseline is too high.
	debug.FreeOSMemory()
	baseRSS := rssKB(b)
	ready := watchReadyNodes(b, client, n)
	begin := time.Now()
	metrics := hollow.NewMetrics()
	pool := startBenchPool(b, cp, n, fidelity, metrics)
	registered := time.Since(begin)
	<-ready
	b.ReportMetric(registered.Seconds(), "s-to-registered")
	b.ReportMetric(time.Since(begin).Seconds(), "s-to-ready")
	time.Sleep(settle)
	stopProfile := profileIdle(b, fmt.Sprintf("nodes=%d-%s", n, fidelity))
	cpu0, wall0, failed0 := cpuTime(), time.Now(), leaseFailures(b, metrics)
	time.Sleep(idleWindow)
	cores := (cpuTime() - cpu0).Seconds() / time.Since(wall0).Seconds()
	stopProfile()
	b.ReportMetric(cores*1000/float64(n), "mcores/node")
	// Nodes whose renewals fail are not idle nodes: an API server that
	// cannot keep up sets the pace, and the figures are not the pool's.
	b.ReportMetric(leaseFailures(b, metrics)-failed0, "lease-failures")
	b.ReportMetric(float64(rssKB(b)-baseRSS)/float64(n), "KB/node")
	pool.Stop()
}

// -idle-profile DIR writes a CPU profile of each idle window and a heap
// profile at its end into DIR: `go test -run - -bench IdleNodes ./hollow/
// -args -idle-profile /tmp/idle`.
var idleProfileDir = flag.String("idle-profile", "", "write CPU and heap profiles of the idle windows of BenchmarkIdleNodes into this directory")

func profileIdle(b *testing.B, name string) (stop func()) {
	if *idleProfileDir == "" {
		return func() {}
	}
	writeHeap := func(file string) {
		heap, err := os.Create(filepath.Join(*idleProfileDir, file))
		if err != nil {
			b.Fatal(err)
		}
		defer heap.Close()
		goruntime.GC()
		if err := pprof.WriteHeapProfile(heap); err != nil {
			b.Fatal(err)
		}
	}
	// The allocations of the window are the difference of the two heap
	// profiles: pprof -sample_index=alloc_space -base start end.
	writeHeap(name + ".heap-start.pprof")
	cpu, err := os.Create(filepath.Join(*idleProfileDir, name+".cpu.pprof"))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		cpu.Close()
		writeHeap(name + ".heap.pprof")
	}
}

func BenchmarkPodsRunning(b *testing.B) {
	const nodes, pods = 1000, 10000
	b.Run(fmt.Sprintf("nodes=%d/pods=%d", nodes, pods), func(b *testing.B) {
		for range b.N {
			cp := testenv.StartControlPlane(b, controlplane.Options{Nodes: nodes})
			client := kubernetes.NewForConfigOrDie(cp.Config)
			ready := watchReadyNodes(b, client, nodes)
			startBenchPool(b, cp, nodes, hollow.FidelityFull, hollow.NewMetrics())
			<-ready
			running := watchRunningPods(b, client, "bench", pods)
			begin := time.Now()
			createDeployment(b, client, "bench", pods)
			<-running
			took := time.Since(begin)
			b.ReportMetric(took.Seconds(), "s-to-running")
			b.ReportMetric(pods/took.Seconds(), "pods/s")
		}
	})
}

// startBenchPool starts n nodes as the CLI does by default for the
// fidelity: full with a connection per proxy, lean with proxies sharing.
func startBenchPool(b *testing.B, cp *controlplane.ControlPlane, n int, fidelity hollow.Fidelity, metrics *hollow.Metrics) *hollow.Pool {
	creds, err := hollow.CredentialsFromConfig(cp.Config, cp.Authority)
	if err != nil {
		b.Fatal(err)
	}
	cfg := hollow.DefaultNodeConfig()
	cfg.Fidelity = fidelity
	pool, err := hollow.StartPool(context.Background(), creds, hollow.PoolConfig{
		Count: n, Shards: 1, NamePrefix: "bench-", Concurrency: 64, Node: cfg,
		PerNodeProxyConnections: fidelity == hollow.FidelityFull,
	}, metrics, nil, zap.NewNop(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Stop)
	return pool
}

// leaseFailures counts the pool's lease renewals that did not succeed
// (errors and conflicts) so far.
func leaseFailures(b *testing.B, metrics *hollow.Metrics) float64 {
	return heartbeatCount(b, metrics, "lease", "error") + heartbeatCount(b, metrics, "lease", "conflict")
}

// watchReadyNodes closes the returned channel once n hollow nodes are Ready.
func watchReadyNodes(b *testing.B, client kubernetes.Interface, n int) <-chan struct{} {
	lw := cache.NewFilteredListWatchFromClient(client.CoreV1().RESTClient(), "nodes", metav1.NamespaceAll,
		func(o *metav1.ListOptions) { o.LabelSelector = "hollowmark.io/hollow-node=true" })
	return countUntil(b, lw, &corev1.Node{}, n, func(obj runtime.Object) (string, bool) {
		node := obj.(*corev1.Node)
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return node.Name, c.Status == corev1.ConditionTrue
			}
		}
		return node.Name, false
	})
}

func watchRunningPods(b *testing.B, client kubernetes.Interface, ns string, n int) <-chan struct{} {
	if _, err := client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	lw := cache.NewListWatchFromClient(client.CoreV1().RESTClient(), "pods", ns, fields.Everything())
	return countUntil(b, lw, &corev1.Pod{}, n, func(obj runtime.Object) (string, bool) {
		p := obj.(*corev1.Pod)
		return p.Name, p.Status.Phase == corev1.PodRunning
	})
}

// countUntil follows lw, re-watching when the server drops the watch (a
// busy API server closes slow watchers), until n distinct objects satisfy ok.
func countUntil(b *testing.B, lw cache.ListerWatcher, obj runtime.Object, n int, ok func(runtime.Object) (string, bool)) <-chan struct{} {
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	seen := map[string]bool{}
	go func() {
		_, err := watchtools.UntilWithSync(ctx, lw, obj, nil, func(ev watch.Event) (bool, error) {
			if ev.Type != watch.Added && ev.Type != watch.Modified {
				return false, nil
			}
			if name, yes := ok(ev.Object); yes {
				seen[name] = true
			}
			return len(seen) == n, nil
		})
		if err == nil {
			close(done)
		}
	}()
	return done
}

func createDeployment(b *testing.B, client kubernetes.Interface, ns string, replicas int) {
	labels := map[string]string{"app": "bench"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "bench"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "pause", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
	if _, err := client.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
}

func rssKB(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRequestMix reports the request mix of full-fidelity nodes per
// row of docs/fidelity.md, and the totals per pod start and deletion.
func BenchmarkRequestMix(b *testing.B) {
	const nodes, pods = 100, 500
	b.Run(fmt.Sprintf("nodes=%d/pods=%d", nodes, pods), func(b *testing.B) {
		for range b.N {
			run := measureMix(b, nodes, pods, 6*time.Minute)
			for _, r := range run.check(b) {
				unit := strings.ReplaceAll(strings.ReplaceAll(r.Phase+": "+r.Request, " ", "_"), ",", "")
				b.ReportMetric(r.Got, unit)
			}
			b.ReportMetric(perPod(run.start, pods), "requests/pod-start")
			b.ReportMetric(perPod(run.delete, pods), "requests/pod-delete")
		}
	})
}
