package hollow_test

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A kubelet registers its Node once per start (registrationCompleted in
// kubelet_node_status.go): when the Node is deleted, its status ticks find
// it gone from the lister and read it from the API server, 4 times every
// 10 s, and it never comes back.
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
}
