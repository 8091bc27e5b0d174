package hollow_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A kubelet registers its Node once per start (registrationCompleted in
// kubelet_node_status.go): when the Node is deleted, its status ticks find
// it gone from the lister and read it from the API server, 4 times every
// 10 s, and it never comes back; nor does the Lease the Node owned.
func TestDeletedNodeIsNotRegisteredAgain(t *testing.T) {
	c := startPool(t, "gone-", 1, fastConfig())
	const name = "gone-0"
	waitFor(t, name+" Ready", 30*time.Second, func(ctx context.Context) (bool, error) {
		n, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		return err == nil && nodeReady(n), nil
	})
	if err := c.client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Two ticks' worth of tries: the first may come before the watch has
	// told the kubelet.
	waitFor(t, "status ticks to find the Node gone", time.Minute, func(context.Context) (bool, error) {
		return heartbeats(t, c, "node-status", "not-found") >= 8, nil
	})
	if _, err := c.client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Node after its deletion and two status ticks: %v, want not found", err)
	}
	// The garbage collector takes the Lease the Node owned. The lease
	// controller then finds no Node to own a new one, and makes none.
	leases := c.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	waitFor(t, "the garbage collector to take the Lease", time.Minute, func(ctx context.Context) (bool, error) {
		_, err := leases.Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	// A renewal answered as the Lease went may still be counted.
	time.Sleep(time.Second)
	seen, renewed := heartbeats(t, c, "node-status", "not-found"), heartbeats(t, c, "lease", "ok")
	waitFor(t, "two more status ticks", time.Minute, func(context.Context) (bool, error) {
		return heartbeats(t, c, "node-status", "not-found") >= seen+8, nil
	})
	if l, err := leases.Get(context.Background(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Lease two lease syncs after the Node's was collected: %v %v, want not found", l.GetOwnerReferences(), err)
	}
	if now := heartbeats(t, c, "lease", "ok"); now != renewed {
		t.Errorf("%v lease calls succeeded after the Lease was collected, want none: a lease was made again", now-renewed)
	}
}
