// Package chaos fails hollow nodes on purpose while a scenario runs, as
// ClusterLoader2's chaos monkey fails a cluster's nodes, and records what
// it did.
package chaos

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Actions, named as ClusterLoader2's NodeKiller records them.
const (
	StopServices = "stopService"
	RebootNode   = "rebootNode"
)

// NodeFailure is when and how many nodes fail (see scenarios.NodeFailure).
type NodeFailure struct {
	FailureRate       float64
	Interval          time.Duration
	JitterFactor      float64
	SimulatedDowntime time.Duration
}

// Nodes are the hollow nodes that may be failed.
type Nodes interface {
	Names() []string
	FailNode(name string) error
	RebootNode(ctx context.Context, name string) error
}

// Event is one failure or reboot.
type Event struct {
	Time   time.Time
	Action string
	Node   string
}

// Killer fails nodes until its context ends, then reboots the nodes still
// down, so that a run leaves its cluster whole.
type Killer struct {
	Spec   NodeFailure
	Nodes  Nodes
	Client kubernetes.Interface
	Rand   *rand.Rand
	Log    *zap.Logger
	// Sleep waits d or until ctx ends, whichever is first; false when ctx
	// ended. Nil: the wall clock.
	Sleep func(ctx context.Context, d time.Duration) bool
	// Now stamps events; nil: time.Now.
	Now func() time.Time

	mu     sync.Mutex
	events []Event
	failed map[string]bool
}

// Run fails nodes as CL2's NodeKiller does: it first waits a jittered
// interval, then picks ceil(rate × candidates) nodes, fails them all at
// once, waits the downtime, reboots them, and waits a jittered interval
// again (the interval slides: it counts from the reboots). It returns
// when ctx ends, once every failed node is rebooted.
func (k *Killer) Run(ctx context.Context) {
	if k.failed == nil {
		k.failed = map[string]bool{}
	}
	for k.sleep(ctx, k.jitter()) {
		names, err := k.pick(ctx)
		if err != nil {
			k.Log.Warn("node failures: cannot pick nodes", zap.Error(err))
			continue
		}
		k.fail(ctx, names)
	}
}

// jitter is CL2's wait.Jitter: the interval plus up to factor times it, a
// factor of 0 or less meaning 1.
func (k *Killer) jitter() time.Duration {
	f := k.Spec.JitterFactor
	if f <= 0 {
		f = 1
	}
	return k.Spec.Interval + time.Duration(k.Rand.Float64()*f*float64(k.Spec.Interval))
}

func (k *Killer) sleep(ctx context.Context, d time.Duration) bool {
	if k.Sleep != nil {
		return k.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// pick chooses the nodes to fail: ours, Ready, schedulable and untainted,
// not failed before, shuffled, ceil(rate × their number) of them.
func (k *Killer) pick(ctx context.Context) ([]string, error) {
	list, err := k.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	ours := map[string]bool{}
	for _, n := range k.Nodes.Names() {
		ours[n] = true
	}
	var names []string
	for i := range list.Items {
		n := &list.Items[i]
		if ours[n.Name] && !k.failed[n.Name] && schedulable(n) {
			names = append(names, n.Name)
		}
	}
	slices.Sort(names) // the list's order is the server's; the seed decides
	k.Rand.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	want := int(math.Ceil(k.Spec.FailureRate * float64(len(names))))
	k.Log.Info("node failures: picking nodes", zap.Int("candidates", len(names)), zap.Int("failing", min(want, len(names))))
	return names[:min(want, len(names))], nil
}

// schedulable is CL2's IsNodeSchedulableAndUntainted: Ready, network
// available, not cordoned, no NoSchedule or NoExecute taint.
func schedulable(n *corev1.Node) bool {
	if n.Spec.Unschedulable {
		return false
	}
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return false
		}
	}
	ready := false
	for _, c := range n.Status.Conditions {
		switch c.Type {
		case corev1.NodeReady:
			ready = c.Status == corev1.ConditionTrue
		case corev1.NodeNetworkUnavailable:
			if c.Status == corev1.ConditionTrue {
				return false
			}
		}
	}
	return ready
}

// fail fails names at once, waits the downtime (cut short when ctx ends),
// and reboots them.
func (k *Killer) fail(ctx context.Context, names []string) {
	var down []string
	for _, name := range names {
		k.failed[name] = true
		if err := k.Nodes.FailNode(name); err != nil {
			k.Log.Warn("node failures: failing a node", zap.String("node", name), zap.Error(err))
			continue
		}
		k.record(StopServices, name)
		down = append(down, name)
	}
	if len(down) == 0 {
		return
	}
	k.sleep(ctx, k.Spec.SimulatedDowntime)
	for _, name := range down {
		// The reboot is owed even when the run is ending: a separate
		// context, bounded.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		err := k.Nodes.RebootNode(rctx, name)
		cancel()
		if err != nil {
			k.Log.Warn("node failures: rebooting a node", zap.String("node", name), zap.Error(err))
			continue
		}
		k.record(RebootNode, name)
	}
}

func (k *Killer) record(action, node string) {
	now := time.Now
	if k.Now != nil {
		now = k.Now
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.events = append(k.events, Event{Time: now(), Action: action, Node: node})
	k.Log.Info("node failures: "+action, zap.String("node", node))
}

// Events are the failures and reboots so far, in order.
func (k *Killer) Events() []Event {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.events)
}
