package benchpeers

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Transition is a Node that stopped being Ready: its Ready condition went
// from True to False or Unknown (the node lifecycle controller sets Unknown
// when the node's lease or status is not renewed within its grace period).
type Transition struct {
	At     time.Time
	Node   string
	Status corev1.ConditionStatus
	Reason string
	// Phase is the run's step when it happened, e.g. "pods".
	Phase string
}

// nodeTracker follows the Nodes through a watch: how many are Ready, and
// every Ready True -> not True transition.
type nodeTracker struct {
	mu          sync.Mutex
	ready       map[string]bool
	transitions []Transition
	phase       string
}

func newNodeTracker() *nodeTracker { return &nodeTracker{ready: map[string]bool{}} }

// setPhase names the run's step that transitions are attributed to.
func (t *nodeTracker) setPhase(p string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.phase = p
}

// observe records a Node's latest state; a Node that was Ready and is not
// any more is a transition.
func (t *nodeTracker) observe(n *corev1.Node, at time.Time) {
	status, reason := readiness(n)
	t.mu.Lock()
	defer t.mu.Unlock()
	was, seen := t.ready[n.Name]
	now := status == corev1.ConditionTrue
	if seen && was && !now {
		t.transitions = append(t.transitions, Transition{At: at, Node: n.Name, Status: status, Reason: reason, Phase: t.phase})
	}
	t.ready[n.Name] = now
}

func (t *nodeTracker) forget(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.ready, name)
}

// readyNodes is how many Nodes are Ready now.
func (t *nodeTracker) readyNodes() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, r := range t.ready {
		if r {
			n++
		}
	}
	return n
}

// transitionsSince returns the transitions at or after from.
func (t *nodeTracker) transitionsSince(from time.Time) []Transition {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Transition
	for _, tr := range t.transitions {
		if !tr.At.Before(from) {
			out = append(out, tr)
		}
	}
	return out
}

// readiness is the status and reason of a Node's Ready condition; a Node
// without one (not yet initialized) is Unknown.
func readiness(n *corev1.Node) (corev1.ConditionStatus, string) {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status, c.Reason
		}
	}
	return corev1.ConditionUnknown, ""
}

// podCounts are the benchmark's pods at one moment. Created, Bound and
// Deleted count pods ever seen so (first ADDED, first with a node, gone);
// Running and Existing are the pods in phase Running and all pods now.
type podCounts struct {
	Created, Bound, Running, Existing, Deleted int
}

type podState struct{ bound, running bool }

// podTracker counts pods through a watch.
type podTracker struct {
	mu     sync.Mutex
	pods   map[types.UID]podState
	counts podCounts
}

func newPodTracker() *podTracker { return &podTracker{pods: map[types.UID]podState{}} }

func (t *podTracker) observe(p *corev1.Pod) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, seen := t.pods[p.UID]
	now := podState{bound: p.Spec.NodeName != "", running: p.Status.Phase == corev1.PodRunning}
	if !seen {
		t.counts.Created++
		t.counts.Existing++
	}
	if now.bound && !old.bound {
		t.counts.Bound++
	}
	switch {
	case now.running && !old.running:
		t.counts.Running++
	case old.running && !now.running:
		t.counts.Running--
	}
	t.pods[p.UID] = now
}

func (t *podTracker) remove(p *corev1.Pod) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, seen := t.pods[p.UID]
	if !seen {
		return
	}
	delete(t.pods, p.UID)
	t.counts.Existing--
	t.counts.Deleted++
	if old.running {
		t.counts.Running--
	}
}

func (t *podTracker) snapshot() podCounts {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counts
}

// watchNodes follows every Node into t until ctx ends; it returns once the
// first list is in.
func watchNodes(ctx context.Context, client kubernetes.Interface, t *nodeTracker) error {
	lw := cache.NewListWatchFromClient(client.CoreV1().RESTClient(), "nodes", "", fields.Everything())
	return runInformer(ctx, "nodes", lw, &corev1.Node{}, cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { t.observe(obj.(*corev1.Node), time.Now()) },
		UpdateFunc: func(_, obj any) { t.observe(obj.(*corev1.Node), time.Now()) },
		DeleteFunc: func(obj any) {
			if n, ok := unwrap(obj).(*corev1.Node); ok {
				t.forget(n.Name)
			}
		},
	})
}

// watchPods follows the pods of namespace into t until ctx ends; it
// returns once the first list is in.
func watchPods(ctx context.Context, client kubernetes.Interface, namespace string, t *podTracker) error {
	lw := cache.NewListWatchFromClient(client.CoreV1().RESTClient(), "pods", namespace, fields.Everything())
	return runInformer(ctx, "pods", lw, &corev1.Pod{}, cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { t.observe(obj.(*corev1.Pod)) },
		UpdateFunc: func(_, obj any) { t.observe(obj.(*corev1.Pod)) },
		DeleteFunc: func(obj any) {
			if p, ok := unwrap(obj).(*corev1.Pod); ok {
				t.remove(p)
			}
		},
	})
}

// unwrap returns the object a deletion was about, also when the informer
// only learnt of it by relisting.
func unwrap(obj any) any {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return d.Obj
	}
	return obj
}

// runInformer starts an informer, re-listing and re-watching as a
// controller's does when the server drops the watch, and waits for its
// first list.
func runInformer(ctx context.Context, what string, lw cache.ListerWatcher, obj runtime.Object, h cache.ResourceEventHandler) error {
	_, ctrl := cache.NewInformerWithOptions(cache.InformerOptions{ListerWatcher: lw, ObjectType: obj, Handler: h})
	go ctrl.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), ctrl.HasSynced) {
		return fmt.Errorf("listing %s: %w", what, context.Cause(ctx))
	}
	return nil
}
