// Package notready watches a cluster's Nodes during a run and records every
// time a node's Ready condition leaves True: when it was seen, what the
// node lifecycle controller (or the kubelet) said, when the node was Ready
// again, and, for hollow nodes, the node's own view of its lease.
package notready

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/hollowmark/hollowmark/results"
)

// Options configure a Watcher.
type Options struct {
	// Config reaches the cluster.
	Config *rest.Config
	// Lease, if set, gives a hollow node's own view of its lease, or nil
	// for a node that is not one of ours.
	Lease func(node string) *results.LeaseAtTransition
	// Seen, if set, hears each transition when it is seen.
	Seen func(results.NotReadyTransition)
	Log  *zap.Logger
}

// syncTimeout bounds the first listing of the Nodes.
const syncTimeout = time.Minute

// Watcher follows the Nodes' Ready conditions.
type Watcher struct {
	opts   Options
	cancel context.CancelFunc
	done   chan struct{}

	mu          sync.Mutex
	ready       map[string]bool // each node's Ready, as last seen
	open        map[string]int  // a NotReady node's transition, by index
	transitions []results.NotReadyTransition
}

// Start lists the Nodes and watches them until Stop. Nodes that are not
// Ready when first seen count only once they have been Ready.
func Start(ctx context.Context, o Options) (*Watcher, error) {
	cfg := rest.CopyConfig(o.Config)
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w := &Watcher{opts: o, cancel: cancel, done: make(chan struct{}), ready: map[string]bool{}, open: map[string]int{}}
	// Only the Ready condition is kept: thousands of full Nodes would cost
	// megabytes.
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(slim))
	inf := factory.Core().V1().Nodes().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.observe(obj) },
		UpdateFunc: func(_, obj any) { w.observe(obj) },
		DeleteFunc: w.forget,
	}); err != nil {
		cancel()
		return nil, fmt.Errorf("watching nodes: %w", err)
	}
	go func() {
		defer close(w.done)
		inf.RunWithContext(runCtx)
	}()
	syncCtx, cancelSync := context.WithTimeout(ctx, syncTimeout)
	defer cancelSync()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		w.Stop()
		return nil, fmt.Errorf("listing nodes: not done within %s: %w", syncTimeout, context.Cause(syncCtx))
	}
	return w, nil
}

// Stop ends the watch and returns the transitions seen, in order.
func (w *Watcher) Stop() []results.NotReadyTransition {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]results.NotReadyTransition(nil), w.transitions...)
}

// slim keeps a Node's name and Ready condition.
func slim(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	out := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, ResourceVersion: n.ResourceVersion}}
	if c := readyCondition(n); c != nil {
		out.Status.Conditions = []corev1.NodeCondition{*c}
	}
	return out, nil
}

func readyCondition(n *corev1.Node) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// observe notes a node's Ready condition as now seen.
func (w *Watcher) observe(obj any) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	c := readyCondition(n)
	ready := c != nil && c.Status == corev1.ConditionTrue
	now := time.Now()
	w.mu.Lock()
	was, known := w.ready[n.Name]
	w.ready[n.Name] = ready
	var seen *results.NotReadyTransition
	switch {
	case known && was && !ready:
		t := transition(n.Name, c, now)
		if w.opts.Lease != nil {
			t.Lease = w.opts.Lease(n.Name)
		}
		w.open[n.Name] = len(w.transitions)
		w.transitions = append(w.transitions, t)
		seen = &t
	case ready && !was:
		if i, ok := w.open[n.Name]; ok {
			w.transitions[i].ReadyAgain = &now
			delete(w.open, n.Name)
		}
	}
	w.mu.Unlock()
	if seen != nil {
		w.opts.Log.Debug("node went NotReady", zap.String("node", seen.Node), zap.String("status", seen.Status),
			zap.String("reason", seen.Reason), zap.String("message", seen.Message))
		if w.opts.Seen != nil {
			w.opts.Seen(*seen)
		}
	}
}

func transition(node string, c *corev1.NodeCondition, seen time.Time) results.NotReadyTransition {
	if c == nil {
		return results.NotReadyTransition{Node: node, Seen: seen, Status: string(corev1.ConditionUnknown), Reason: "NoReadyCondition",
			Message: "the Node has no Ready condition"}
	}
	return results.NotReadyTransition{Node: node, Seen: seen, Since: c.LastTransitionTime.Time, Status: string(c.Status),
		Reason: c.Reason, Message: c.Message}
}

func (w *Watcher) forget(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	n, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.ready, n.Name)
	delete(w.open, n.Name)
}
