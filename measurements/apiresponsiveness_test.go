package measurements_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/measurements"
)

func TestAPIResponsivenessCountsTheRunsCalls(t *testing.T) {
	cp := shared.Get(t)
	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(cp.Config)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "api-calls"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	m := &measurements.APIResponsiveness{Client: client}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 25
	for i := range n {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm%d", i)}}
		if _, err := client.CoreV1().ConfigMaps("api-calls").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.CoreV1().ConfigMaps("api-calls").List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	sum, err := m.Gather(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows := sum.Tables["api_calls.csv"]
	found := map[string]int{}
	for _, r := range rows[1:] {
		if r[0] == "WATCH" {
			t.Errorf("WATCH is outside the SLO but was reported: %v", r)
		}
		if r[3] == "configmaps" {
			count, _ := strconv.Atoi(r[6])
			found[r[0]+" "+r[5]] = count
		}
	}
	// The controller-manager writes configmaps too (kube-root-ca.crt in
	// every namespace of a fresh cluster), so ours are a lower bound.
	if found["POST resource"] < n || found["LIST namespace"] < 1 {
		t.Errorf("configmap calls seen: %v, want %d POSTs and a namespaced LIST", found, n)
	}
	for _, c := range sum.Checks {
		if !c.Passed() {
			t.Errorf("an idle loopback API server violated: %s", c.Verdict())
		}
	}
	if len(sum.Tables["api_buckets.csv"]) < len(rows) {
		t.Error("no raw buckets to recompute the percentiles from")
	}
}
