package hollow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// WaitForNodesReady waits until at least MinCount nodes matching a label
// selector are Ready and schedulable: a pool waits for its own nodes with
// it, and scenarios for the cluster's (the WaitForNodesReady action).
type WaitForNodesReady struct {
	Client        kubernetes.Interface
	LabelSelector string
	// Names, if set, limits the wait to these nodes.
	Names    []string
	MinCount int
	Timeout  time.Duration
	// Progress, if set, hears the ready count after every poll.
	Progress func(ready, total int)
}

// nodePollInterval is gentle: a LIST of thousands of nodes is not free.
const nodePollInterval = 2 * time.Second

// Wait polls the nodes until enough are ready, or fails after Timeout
// naming nodes that are not ready and why.
func (w *WaitForNodesReady) Wait(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	var notReady []string
	var lastErr error
	names := map[string]bool{}
	for _, n := range w.Names {
		names[n] = true
	}
	for {
		nodes, err := w.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: w.LabelSelector, ResourceVersion: "0"})
		switch {
		case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || apierrors.IsBadRequest(err):
			return fmt.Errorf("listing nodes: %w", err) // waiting will not help
		case err != nil:
			lastErr = err
		default:
			lastErr = nil
			var ready int
			items := nodes.Items
			if w.Names != nil {
				items = slices.DeleteFunc(items, func(n corev1.Node) bool { return !names[n.Name] })
			}
			ready, notReady = readyNodes(items)
			if w.Progress != nil {
				w.Progress(ready, len(items))
			}
			if ready >= w.MinCount {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("waiting for %d ready nodes: %w; last attempt to list them: %v", w.MinCount, ctx.Err(), lastErr)
			}
			return fmt.Errorf("waiting for %d ready nodes: %w; not ready: %s", w.MinCount, ctx.Err(), firstNames(notReady, 10))
		case <-time.After(nodePollInterval):
		}
	}
}

// readyNodes counts Ready, schedulable nodes, and says why the others are not.
func readyNodes(nodes []corev1.Node) (int, []string) {
	ready := 0
	var not []string
	for _, n := range nodes {
		why := "no Ready condition yet"
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				why = fmt.Sprintf("Ready=%s %s", c.Status, c.Reason)
				if c.Status == corev1.ConditionTrue {
					why = ""
				}
			}
		}
		if why == "" && n.Spec.Unschedulable {
			why = "cordoned"
		}
		if why == "" {
			ready++
		} else {
			not = append(not, n.Name+": "+why)
		}
	}
	return ready, not
}

func firstNames(items []string, n int) string {
	if len(items) == 0 {
		return "none"
	}
	slices.Sort(items)
	if len(items) > n {
		return strings.Join(items[:n], "; ") + fmt.Sprintf("; and %d more", len(items)-n)
	}
	return strings.Join(items, "; ")
}
