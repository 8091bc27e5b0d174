package measurements

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// WaitForControlledPodsRunning waits until the controllers matching a label
// selector (Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs) in the
// given namespaces have exactly the pods they want, all running: after a
// scale-down or a delete that means the surplus pods are gone. Bare pods
// matching the selector are waited for too.
type WaitForControlledPodsRunning struct {
	Client        kubernetes.Interface
	Namespaces    []string
	LabelSelector string
	Timeout       time.Duration
	// Progress, if set, hears the counts about every second.
	Progress func(PodCounts)
}

// PodCounts is where the wait stands. Unsettled counts controllers that
// have not yet acted on their latest spec.
type PodCounts struct {
	Want, Running, Exist, Unsettled int
}

func (c PodCounts) done() bool { return c.Unsettled == 0 && c.Running == c.Want && c.Exist == c.Want }

// Wait returns nil once the pods are there, or an error naming the stuck
// pods and why when Timeout passes.
func (w *WaitForControlledPodsRunning) Wait(ctx context.Context) error {
	selector, err := labels.Parse(w.LabelSelector)
	if err != nil {
		return fmt.Errorf("label selector %q: %w", w.LabelSelector, err)
	}
	stop := make(chan struct{})
	defer close(stop)
	factory := informers.NewSharedInformerFactoryWithOptions(w.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector.String() }))
	listers := []cache.SharedIndexInformer{
		factory.Core().V1().Pods().Informer(), factory.Apps().V1().Deployments().Informer(),
		factory.Apps().V1().ReplicaSets().Informer(), factory.Apps().V1().StatefulSets().Informer(),
		factory.Apps().V1().DaemonSets().Informer(), factory.Batch().V1().Jobs().Informer(),
	}
	factory.Start(stop)
	synced := make([]cache.InformerSynced, len(listers))
	for i, l := range listers {
		synced[i] = l.HasSynced
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("watching pods and controllers: %w", ctx.Err())
	}
	ns := map[string]bool{}
	for _, n := range w.Namespaces {
		ns[n] = true
	}
	// Reasons are spelt out only for the error: formatting one per stuck
	// pod every second would be most of the work while thousands start.
	state := func(explain bool) *podState { return newPodState(ns, listers, explain) }
	deadline := time.NewTimer(w.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		s := state(false)
		if w.Progress != nil {
			w.Progress(s.counts)
		}
		if s.counts.done() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for pods of %s: %w (%s)", w.LabelSelector, ctx.Err(), state(true).describe())
		case <-deadline.C:
			return fmt.Errorf("pods of %s not running after %s: %s", w.LabelSelector, w.Timeout, state(true).describe())
		case <-tick.C:
		}
	}
}

// podState is a snapshot: how many pods the controllers want, and the
// pods there are.
type podState struct {
	counts PodCounts
	short  []string // controllers with fewer pods than wanted
	stuck  []string // pods that exist but are not running, with why
}

// newPodState counts; with explain it also says why pods and controllers
// are not there yet.
func newPodState(ns map[string]bool, informers []cache.SharedIndexInformer, explain bool) *podState {
	s := &podState{}
	// A Deployment's pods belong to its ReplicaSets: count them for both.
	deploymentOf := map[string]string{}
	for _, obj := range informers[2].GetStore().List() {
		rs := obj.(*appsv1.ReplicaSet)
		if ref := metav1.GetControllerOf(rs); ref != nil && ref.Kind == "Deployment" {
			deploymentOf[string(rs.UID)] = string(ref.UID)
		}
	}
	pods := map[string]int{} // controller UID -> existing pods
	for _, obj := range informers[0].GetStore().List() {
		pod := obj.(*corev1.Pod)
		if !ns[pod.Namespace] || pod.Status.Phase == corev1.PodSucceeded && ownedByJob(pod) {
			continue
		}
		s.counts.Exist++
		if ref := metav1.GetControllerOf(pod); ref != nil {
			pods[string(ref.UID)]++
			if d, ok := deploymentOf[string(ref.UID)]; ok {
				pods[d]++
			}
		} else if pod.DeletionTimestamp == nil {
			s.counts.Want++ // a bare pod wants itself
		}
		switch {
		case running(pod) && pod.DeletionTimestamp == nil:
			s.counts.Running++
		case !explain:
		case pod.DeletionTimestamp != nil:
			s.stuck = append(s.stuck, fmt.Sprintf("%s/%s: terminating since %s", pod.Namespace, pod.Name, pod.DeletionTimestamp.UTC().Format(time.RFC3339)))
		default:
			s.stuck = append(s.stuck, fmt.Sprintf("%s/%s: %s", pod.Namespace, pod.Name, whyNotRunning(pod)))
		}
	}
	for _, inf := range informers[1:] {
		for _, obj := range inf.GetStore().List() {
			c := obj.(metav1.Object)
			if !ns[c.GetNamespace()] || c.GetDeletionTimestamp() != nil || metav1.GetControllerOf(c) != nil {
				continue // a ReplicaSet of a Deployment counts through its Deployment
			}
			want := wantedPods(obj)
			s.counts.Want += want
			why := unsettled(obj)
			if why != "" {
				s.counts.Unsettled++
			}
			if !explain {
				continue
			}
			name := fmt.Sprintf("%s %s/%s", kindOf(obj), c.GetNamespace(), c.GetName())
			if have := pods[string(c.GetUID())]; have < want {
				s.short = append(s.short, fmt.Sprintf("%s has %d of %d pods", name, have, want))
			}
			if why != "" {
				s.short = append(s.short, name+" "+why)
			}
		}
	}
	return s
}

// unsettled says why a controller has not yet acted on its latest spec,
// or "" when it has: right after an update, its old pods may match the
// wanted count while the rollout has not even started.
func unsettled(obj any) string {
	observed := func(status, generation int64) string {
		if status < generation {
			return fmt.Sprintf("has not observed generation %d yet", generation)
		}
		return ""
	}
	switch c := obj.(type) {
	case *appsv1.Deployment:
		if why := observed(c.Status.ObservedGeneration, c.Generation); why != "" {
			return why
		}
		if want := wantedPods(c); int(c.Status.UpdatedReplicas) < want {
			return fmt.Sprintf("has updated %d of %d pods", c.Status.UpdatedReplicas, want)
		}
	case *appsv1.ReplicaSet:
		return observed(c.Status.ObservedGeneration, c.Generation)
	case *appsv1.StatefulSet:
		if why := observed(c.Status.ObservedGeneration, c.Generation); why != "" {
			return why
		}
		if c.Status.UpdateRevision != c.Status.CurrentRevision {
			return fmt.Sprintf("is rolling out revision %s", c.Status.UpdateRevision)
		}
	case *appsv1.DaemonSet:
		if why := observed(c.Status.ObservedGeneration, c.Generation); why != "" {
			return why
		}
		if c.Status.UpdatedNumberScheduled < c.Status.DesiredNumberScheduled {
			return fmt.Sprintf("has updated %d of %d pods", c.Status.UpdatedNumberScheduled, c.Status.DesiredNumberScheduled)
		}
	}
	return ""
}

func wantedPods(obj any) int {
	replicas := func(r *int32) int {
		if r == nil {
			return 1
		}
		return int(*r)
	}
	switch c := obj.(type) {
	case *appsv1.Deployment:
		return replicas(c.Spec.Replicas)
	case *appsv1.ReplicaSet:
		return replicas(c.Spec.Replicas)
	case *appsv1.StatefulSet:
		return replicas(c.Spec.Replicas)
	case *appsv1.DaemonSet:
		return int(c.Status.DesiredNumberScheduled)
	case *batchv1.Job:
		// Pods still to run, at most parallelism at once; finished ones
		// are not counted.
		left := replicas(c.Spec.Completions) - int(c.Status.Succeeded)
		return max(0, min(replicas(c.Spec.Parallelism), left))
	}
	return 0
}

func kindOf(obj any) string {
	switch obj.(type) {
	case *appsv1.Deployment:
		return "Deployment"
	case *appsv1.ReplicaSet:
		return "ReplicaSet"
	case *appsv1.StatefulSet:
		return "StatefulSet"
	case *appsv1.DaemonSet:
		return "DaemonSet"
	case *batchv1.Job:
		return "Job"
	}
	return "object"
}

func ownedByJob(pod *corev1.Pod) bool {
	ref := metav1.GetControllerOf(pod)
	return ref != nil && ref.Kind == "Job"
}

// whyNotRunning is the most specific reason a pod gives.
func whyNotRunning(pod *corev1.Pod) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
			return fmt.Sprintf("unschedulable: %s", strings.TrimSpace(c.Message))
		}
	}
	if pod.Spec.NodeName == "" {
		return "not scheduled yet"
	}
	for _, cs := range slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses) {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return fmt.Sprintf("container %s waiting: %s %s", cs.Name, w.Reason, w.Message)
		}
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return fmt.Sprintf("container %s terminated: %s (exit code %d)", cs.Name, t.Reason, t.ExitCode)
		}
	}
	return fmt.Sprintf("phase %s on node %s", pod.Status.Phase, pod.Spec.NodeName)
}

// describe lists what keeps the wait from ending, the first few of each.
func (s *podState) describe() string {
	out := fmt.Sprintf("%d of %d wanted pods running, %d pods exist", s.counts.Running, s.counts.Want, s.counts.Exist)
	if len(s.stuck) > 0 {
		out += "; stuck pods: " + firstOf(s.stuck, 10)
	}
	if len(s.short) > 0 {
		out += "; controllers short of pods: " + firstOf(s.short, 10)
	}
	return out
}

// running is the barrier's "running": phase Running with every container
// running, so that a wait ends only when the workload is fully up.
func running(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodRunning || len(pod.Status.ContainerStatuses) != len(pod.Spec.Containers) {
		return false
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return true
}

func firstOf(items []string, n int) string {
	if len(items) == 0 {
		return "none"
	}
	slices.Sort(items)
	if len(items) > n {
		return strings.Join(items[:n], "; ") + fmt.Sprintf("; and %d more", len(items)-n)
	}
	return strings.Join(items, "; ")
}
