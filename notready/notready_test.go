package notready_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/internal/testenv"
	"github.com/hollowmark/hollowmark/notready"
	"github.com/hollowmark/hollowmark/results"
)

// Nodes whose Ready condition changes on a real API server: only a change
// from True counts, each one is counted, and a node Ready again says when.
func TestTransitionsFromReady(t *testing.T) {
	cp := testenv.StartControlPlane(t, controlplane.Options{})
	client := kubernetes.NewForConfigOrDie(cp.Config)
	ctx := context.Background()
	ours := &results.LeaseAtTransition{LastDelay: time.Second}
	setReady(t, client, "was-ready", corev1.ConditionTrue, true)
	setReady(t, client, "never-ready", corev1.ConditionFalse, true)
	seen := make(chan results.NotReadyTransition, 100)
	w, err := notready.Start(ctx, notready.Options{Config: cp.Config, Log: zap.NewNop(),
		Seen: func(t results.NotReadyTransition) { seen <- t },
		Lease: func(node string) *results.LeaseAtTransition {
			if node == "was-ready" {
				return ours
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop() })
	steps := []struct {
		node   string
		status corev1.ConditionStatus
	}{
		{"never-ready", corev1.ConditionUnknown}, // was never Ready: no transition
		{"was-ready", corev1.ConditionUnknown},   // 1
		{"was-ready", corev1.ConditionFalse},     // still not Ready
		{"was-ready", corev1.ConditionTrue},      // Ready again
		{"never-ready", corev1.ConditionTrue},
		{"never-ready", corev1.ConditionFalse}, // 2
		{"was-ready", corev1.ConditionFalse},   // 3
	}
	for _, s := range steps {
		setReady(t, client, s.node, s.status, false)
	}
	// A marker node's transition, made last, is seen last: the watch is
	// in order.
	setReady(t, client, "marker", corev1.ConditionTrue, true)
	setReady(t, client, "marker", corev1.ConditionFalse, false)
	for n := 0; ; n++ {
		select {
		case tr := <-seen:
			if tr.Node != "marker" {
				continue
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("the marker's transition not seen after %d others", n)
		}
		break
	}
	got := w.Stop()
	names := []string{}
	for _, tr := range got {
		names = append(names, tr.Node+" "+tr.Status)
	}
	want := []string{"was-ready Unknown", "never-ready False", "was-ready False", "marker False"}
	if !slices.Equal(names, want) {
		t.Fatalf("transitions %v, want %v", names, want)
	}
	first := got[0]
	if first.ReadyAgain == nil || got[2].ReadyAgain != nil || first.Reason != "Test" || first.Lease != ours || got[1].Lease != nil {
		t.Errorf("first transition %+v, third %+v", first, got[2])
	}
	if first.Since.IsZero() || first.Seen.Before(first.Since.Add(-time.Second)) {
		t.Errorf("seen %v, since %v", first.Seen, first.Since)
	}
}

// setReady creates the node (create) or sets its Ready condition.
func setReady(t *testing.T, client kubernetes.Interface, name string, status corev1.ConditionStatus, create bool) {
	t.Helper()
	ctx := context.Background()
	cond := corev1.NodeCondition{Type: corev1.NodeReady, Status: status, Reason: "Test", Message: "set by the test",
		LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}
	if create {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{cond}}}
		if _, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return
	}
	// The control plane's controllers write new Nodes too (CIDRs, taints).
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		node.Status.Conditions = []corev1.NodeCondition{cond}
		_, err = client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
