package hollow_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func readyStatus(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return ""
}

// A failed node (kubelet and runtime stopped) goes Unknown through the
// node lifecycle controller; rebooted, it is Ready again as the same Node,
// with a new boot ID, and its pod runs again with one restart more.
func TestFailedNodeGoesUnknownAndComesBackAfterReboot(t *testing.T) {
	c := startPool(t, "fail-", 2, fastConfig())
	ns := c.namespace(t, "fail")
	ctx := context.Background()
	if _, err := c.client.CoreV1().Pods(ns).Create(ctx, podOn("victim", "fail-0", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitPod(t, ns, "victim", "the pod to run", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && condition(p, corev1.PodReady) == corev1.ConditionTrue
	})
	before, err := c.client.CoreV1().Nodes().Get(ctx, "fail-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.pool.FailNode("fail-0"); err != nil {
		t.Fatal(err)
	}
	if err := c.pool.FailNode("fail-0"); err == nil {
		t.Error("failing a failed node again: no error")
	}
	if err := c.pool.RebootNode(ctx, "fail-1"); err == nil {
		t.Error("rebooting a node that has not failed: no error")
	}
	// The lease's 40 s and the controller's 50 s grace period.
	waitFor(t, "the failed node to go Unknown", 2*time.Minute, func(ctx context.Context) (bool, error) {
		n, err := c.client.CoreV1().Nodes().Get(ctx, "fail-0", metav1.GetOptions{})
		return err == nil && readyStatus(n) == corev1.ConditionUnknown, nil
	})
	c.waitPod(t, ns, "victim", "the controller to mark the pod not Ready", func(p *corev1.Pod) bool {
		return condition(p, corev1.PodReady) == corev1.ConditionFalse
	})
	if err := c.pool.RebootNode(ctx, "fail-0"); err != nil {
		t.Fatal(err)
	}
	var after *corev1.Node
	waitFor(t, "the rebooted node to be Ready", time.Minute, func(ctx context.Context) (bool, error) {
		n, err := c.client.CoreV1().Nodes().Get(ctx, "fail-0", metav1.GetOptions{})
		after = n
		return err == nil && readyStatus(n) == corev1.ConditionTrue, nil
	})
	if after.UID != before.UID {
		t.Errorf("node UID %s after the reboot, %s before", after.UID, before.UID)
	}
	if after.Status.NodeInfo.BootID == before.Status.NodeInfo.BootID {
		t.Error("the boot ID did not change with the reboot")
	}
	p := c.waitPod(t, ns, "victim", "the pod to run again", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && condition(p, corev1.PodReady) == corev1.ConditionTrue
	})
	for _, cs := range p.Status.ContainerStatuses {
		if cs.RestartCount != 1 || cs.LastTerminationState.Terminated == nil {
			t.Errorf("container %s: %d restarts, last termination %+v: want 1, the container the reboot took", cs.Name, cs.RestartCount, cs.LastTerminationState.Terminated)
		}
	}
}
