//go:build faults

// The fault suite (`make test-faults`, run by CI): control-plane components
// killed again and again under `hollowmark up` with hollow nodes and pods
// churning. Each case takes minutes, so they are not in make test.

package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/hollowmark/hollowmark/controlplane"
)

const (
	faultNodes = 5
	// nodesBackWithin is how soon after a component's return every node
	// must be Ready again (issue 12's bar).
	nodesBackWithin = 30 * time.Second
	// settleWithin bounds the wait for the churned Deployments to settle
	// once the faults end.
	settleWithin = 3 * time.Minute
)

// TestKilledComponentsComeBackUnderChurn kills a component several times
// while pods churn; after each return every node is Ready within 30 s, and
// at the end no pod is lost or stuck.
func TestKilledComponentsComeBackUnderChurn(t *testing.T) {
	tests := []struct {
		component string
		kills     int
	}{
		{controlplane.APIServer, 5},
		{controlplane.Etcd, 2},
	}
	for _, tt := range tests {
		t.Run(tt.component, func(t *testing.T) {
			runDir := t.TempDir()
			c := startHollowmark(t, "up", "--nodes", fmt.Sprint(faultNodes), "--etcd-unsafe-no-fsync",
				"--restart-crashed-components", fmt.Sprint(tt.kills), "--run-dir", runDir)
			c.waitFor(t, "press Ctrl-C", 4*time.Minute)
			cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(runDir, "kubeconfig"))
			if err != nil {
				t.Fatal(err)
			}
			cfg.Timeout = 10 * time.Second
			client := kubernetes.NewForConfigOrDie(cfg)

			ctx, stopChurn := context.WithCancel(context.Background())
			churned := startChurn(ctx, t, client)
			for i := 1; i <= tt.kills; i++ {
				time.Sleep(10 * time.Second) // churn between the faults
				killed := componentPID(t, runDir, tt.component)
				if err := syscall.Kill(killed, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killedAt := time.Now()
				back := waitRestarted(t, runDir, cfg, tt.component, killed)
				ready := waitNodesReady(t, client, back)
				t.Logf("kill %d of %s: cluster ready again %s after the kill; all %d nodes Ready %s after that",
					i, tt.component, back.Sub(killedAt).Round(time.Millisecond), faultNodes, ready.Round(time.Millisecond))
				if ready > nodesBackWithin {
					t.Errorf("kill %d: nodes Ready %s after %s returned, want within %s", i, ready, tt.component, nodesBackWithin)
				}
			}
			stopChurn()
			ops := churned.wait()
			t.Logf("churn: %d Deployments created, %d scaled, %d deleted (%d calls refused during the faults)",
				ops.created, ops.scaled, ops.deleted, ops.failed)
			checkSettled(t, client)

			if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			if code, terminal := c.wait(t, 2*time.Minute); code != 0 {
				t.Errorf("up exited %d after the faults:\n%s", code, terminal)
			}
		})
	}
}

// waitRestarted waits until the supervisor has started the component
// anew and the API server says it is ready (its readyz checks etcd), and
// returns when.
func waitRestarted(t *testing.T, runDir string, cfg *rest.Config, component string, killed int) time.Time {
	t.Helper()
	rc, err := rest.RESTClientFor(withCodec(cfg))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if componentPID(t, runDir, component) != killed {
			var code int
			err := rc.Get().AbsPath("/readyz").Do(context.Background()).StatusCode(&code).Error()
			if err == nil && code == http.StatusOK {
				return time.Now()
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not back within 2 minutes of its kill", component)
	return time.Time{}
}

func withCodec(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &corev1.SchemeGroupVersion
	c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	return c
}

// waitNodesReady waits until every hollow node is Ready and returns how
// long after since that was; at the deadline it names the nodes that are
// not, with their Ready condition.
func waitNodesReady(t *testing.T, client kubernetes.Interface, since time.Time) time.Duration {
	t.Helper()
	deadline := since.Add(2 * time.Minute)
	var notReady []string
	for time.Now().Before(deadline) {
		var err error
		if notReady, err = nodesNotReady(client); err == nil && len(notReady) == 0 {
			return time.Since(since)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("nodes not Ready 2 minutes after the cluster came back: %v", notReady)
	return 0
}

func nodesNotReady(client kubernetes.Interface) ([]string, error) {
	nodes, err := client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	if len(nodes.Items) != faultNodes {
		return []string{fmt.Sprintf("%d nodes, want %d", len(nodes.Items), faultNodes)}, nil
	}
	var out []string
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status != corev1.ConditionTrue {
				out = append(out, fmt.Sprintf("%s: Ready %s (%s) since %s", n.Name, c.Status, c.Reason, c.LastTransitionTime.Format(time.RFC3339)))
			}
		}
	}
	return out, nil
}

const churnNamespace = "churn"

// churn creates, scales and deletes Deployments until its context ends,
// through every fault; calls refused while a component is down are
// counted, not retried: the end state is judged from what the API holds.
type churn struct {
	wg                               sync.WaitGroup
	created, scaled, deleted, failed int
}

func startChurn(ctx context.Context, t *testing.T, client kubernetes.Interface) *churn {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: churnNamespace}}
	if _, err := client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c := &churn{}
	c.wg.Go(func() {
		deployments := client.AppsV1().Deployments(churnNamespace)
		var live []string
		for i := 0; ctx.Err() == nil; i++ {
			callCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			switch {
			case len(live) > 6:
				c.count(&c.deleted, deployments.Delete(callCtx, live[0], metav1.DeleteOptions{}))
				live = live[1:]
			case i%3 == 2 && len(live) > 0:
				name := live[i%len(live)]
				scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: churnNamespace},
					Spec: autoscalingv1.ScaleSpec{Replicas: int32(1 + i%3)}}
				_, err := deployments.UpdateScale(callCtx, name, scale, metav1.UpdateOptions{})
				c.count(&c.scaled, err)
			default:
				name := fmt.Sprintf("churn-%d", i)
				_, err := deployments.Create(callCtx, churnDeployment(name), metav1.CreateOptions{})
				c.count(&c.created, err)
				live = append(live, name)
			}
			cancel()
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	})
	return c
}

func (c *churn) count(ok *int, err error) {
	if err != nil {
		c.failed++
		return
	}
	*ok++
}

func (c *churn) wait() *churn {
	c.wg.Wait()
	return c
}

func churnDeployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "pause", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
}

// checkSettled waits until the churned Deployments are what they say:
// every Deployment's replicas Running and Ready, no pod of a deleted one
// left, no pod pending or stuck terminating. What is still wrong at the
// deadline is named.
func checkSettled(t *testing.T, client kubernetes.Interface) {
	t.Helper()
	deadline := time.Now().Add(settleWithin)
	var problems []string
	for time.Now().Before(deadline) {
		var err error
		if problems, err = unsettled(client); err == nil && len(problems) == 0 {
			return
		}
		time.Sleep(time.Second)
	}
	t.Errorf("%d problems %s after the last fault:", len(problems), settleWithin)
	for _, p := range problems {
		t.Error("  " + p)
	}
}

func unsettled(client kubernetes.Interface) ([]string, error) {
	ctx := context.Background()
	deployments, err := client.AppsV1().Deployments(churnNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	pods, err := client.CoreV1().Pods(churnNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var problems []string
	want := map[string]int32{}
	for _, d := range deployments.Items {
		want[d.Name] = *d.Spec.Replicas
		if d.Status.ObservedGeneration != d.Generation || d.Status.ReadyReplicas != *d.Spec.Replicas ||
			d.Status.Replicas != *d.Spec.Replicas {
			problems = append(problems, fmt.Sprintf("deployment %s: want %d, has %d (%d ready), generation %d observed %d",
				d.Name, *d.Spec.Replicas, d.Status.Replicas, d.Status.ReadyReplicas, d.Generation, d.Status.ObservedGeneration))
		}
	}
	have := map[string]int32{}
	for _, p := range pods.Items {
		app := p.Labels["app"]
		switch {
		case p.DeletionTimestamp != nil:
			problems = append(problems, fmt.Sprintf("pod %s terminating since %s", p.Name, p.DeletionTimestamp.Format(time.RFC3339)))
		case p.Status.Phase != corev1.PodRunning:
			problems = append(problems, fmt.Sprintf("pod %s %s on node %q", p.Name, p.Status.Phase, p.Spec.NodeName))
		case !podReady(&p):
			problems = append(problems, fmt.Sprintf("pod %s Running but not Ready on node %q: %+v", p.Name, p.Spec.NodeName, p.Status.Conditions))
		}
		if _, ok := want[app]; !ok {
			problems = append(problems, fmt.Sprintf("pod %s of deleted deployment %s left", p.Name, app))
		}
		have[app]++
	}
	for name, n := range want {
		if have[name] != n {
			problems = append(problems, fmt.Sprintf("deployment %s: %d pods, want %d", name, have[name], n))
		}
	}
	return problems, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
