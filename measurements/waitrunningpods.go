package measurements

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// WaitForRunningPodsName names the barrier.
const WaitForRunningPodsName = "WaitForRunningPods"

// Scopes of the barriers that look at any object: the run's namespaces,
// every namespace, or cluster-scoped objects.
const (
	ScopeRun     = "run"
	ScopeAll     = "all"
	ScopeCluster = "cluster"
)

// defaultRunningPodsTimeout is ClusterLoader2's default for the same wait.
const defaultRunningPodsTimeout = time.Minute

func waitForRunningPodsMethod() Method {
	selector := SelectorParam("labelSelector", "the pods counted")
	fieldSelector := StringParam("fieldSelector", "", "a field selector the pods must match too, e.g. spec.nodeName=node-1")
	desired := IntParam("desiredPodCount", 0, "how many pods must be running").Require()
	scope := EnumParam("scope", ScopeRun, []string{ScopeRun, ScopeAll},
		"the run's namespaces, or every namespace (ClusterLoader2's default when it names none)")
	timeout := DurationParam("timeout", defaultRunningPodsTimeout, "how long to wait (ClusterLoader2's default)")
	return Method{
		Name: WaitForRunningPodsName,
		Doc: "as ClusterLoader2: until exactly `desiredPodCount` of the selected pods are running and Ready, and every other " +
			"one has finished (Succeeded or Failed); a pending, unready or terminating pod keeps it waiting; the timeout error " +
			"names them and why",
		Params: []ParamSpec{selector, fieldSelector, desired, scope, timeout},
		Wait: func(p Params, d Deps) (Barrier, error) {
			fs := fieldSelector.Get(p)
			if _, err := fields.ParseSelector(fs); err != nil {
				return nil, fmt.Errorf("fieldSelector %q: %w", fs, err)
			}
			progress := progressLog(d.log(), "pods running and ready")
			w := &WaitForRunningPods{Client: d.Client, LabelSelector: selector.Get(p), FieldSelector: fs,
				DesiredCount: desired.Get(p), Timeout: timeout.Get(p), Progress: func(c RunningPods) {
					progress(zap.Int("running", c.Running), zap.Int("want", c.Desired), zap.Int("exist", c.Exist))
				}}
			if scope.Get(p) == ScopeRun {
				w.Namespaces = d.Namespaces
			}
			return noFindings(w.Wait), nil
		},
	}
}

// WaitForRunningPods waits, as ClusterLoader2's barrier of that name, until
// exactly DesiredCount of the pods matching the selectors are running and
// Ready and the others have finished.
type WaitForRunningPods struct {
	Client                       kubernetes.Interface
	LabelSelector, FieldSelector string
	// Namespaces limits the wait to pods in them; nil means every
	// namespace.
	Namespaces   []string
	DesiredCount int
	Timeout      time.Duration
	// Progress, if set, hears the counts about every second.
	Progress func(RunningPods)
}

// RunningPods is where the wait stands.
type RunningPods struct {
	Desired, Exist, Running, Finished int
	// Stuck are the pods neither running and Ready nor finished, with why.
	Stuck []string
}

// Done is ClusterLoader2's condition: the desired count running and Ready,
// everything else finished.
func (c RunningPods) Done() bool { return c.Running == c.Desired && c.Running+c.Finished == c.Exist }

// CountRunningPods says where a wait for desired pods stands.
func CountRunningPods(pods []*corev1.Pod, desired int) RunningPods {
	c := RunningPods{Desired: desired, Exist: len(pods)}
	for _, pod := range pods {
		switch {
		case pod.DeletionTimestamp != nil:
			c.Stuck = append(c.Stuck, fmt.Sprintf("%s/%s: terminating since %s", pod.Namespace, pod.Name, pod.DeletionTimestamp.UTC().Format(time.RFC3339)))
		case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
			c.Finished++
		case pod.Status.Phase == corev1.PodRunning && podReady(pod):
			c.Running++
		case pod.Status.Phase == corev1.PodRunning:
			c.Stuck = append(c.Stuck, fmt.Sprintf("%s/%s: running, not Ready", pod.Namespace, pod.Name))
		default:
			c.Stuck = append(c.Stuck, fmt.Sprintf("%s/%s: %s", pod.Namespace, pod.Name, whyNotRunning(pod)))
		}
	}
	return c
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Wait returns nil once the pods are there, or an error naming the others
// and why when Timeout passes.
func (w *WaitForRunningPods) Wait(ctx context.Context) error {
	stop := make(chan struct{})
	defer close(stop)
	factory := informers.NewSharedInformerFactoryWithOptions(w.Client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector, o.FieldSelector = w.LabelSelector, w.FieldSelector
	}))
	inf := factory.Core().V1().Pods().Informer()
	factory.Start(stop)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("watching pods: %w", ctx.Err())
	}
	deadline := time.NewTimer(w.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		c := CountRunningPods(w.pods(inf.GetStore()), w.DesiredCount)
		if w.Progress != nil {
			w.Progress(c)
		}
		if c.Done() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d running pods of %s: %w (%s)", w.DesiredCount, w.selectors(), ctx.Err(), c.describe())
		case <-deadline.C:
			return fmt.Errorf("%d running pods of %s not there after %s: %s", w.DesiredCount, w.selectors(), w.Timeout, c.describe())
		case <-tick.C:
		}
	}
}

func (w *WaitForRunningPods) pods(store cache.Store) []*corev1.Pod {
	var out []*corev1.Pod
	for _, obj := range store.List() {
		pod := obj.(*corev1.Pod)
		if w.Namespaces == nil || slices.Contains(w.Namespaces, pod.Namespace) {
			out = append(out, pod)
		}
	}
	return out
}

func (w *WaitForRunningPods) selectors() string {
	out := fmt.Sprintf("labels %q", w.LabelSelector)
	if w.FieldSelector != "" {
		out += fmt.Sprintf(", fields %q", w.FieldSelector)
	}
	if w.Namespaces == nil {
		return out + " in all namespaces"
	}
	return out + " in the run's namespaces"
}

func (c RunningPods) describe() string {
	return fmt.Sprintf("%d running and Ready, %d finished, %d pods exist; others: %s", c.Running, c.Finished, c.Exist, firstOf(c.Stuck, 10))
}
