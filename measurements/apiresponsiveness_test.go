package measurements_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

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
	m := &measurements.APIResponsiveness{Client: client, ScrapeInterval: 100 * time.Millisecond}
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
	col := columnIndex(rows[0])
	found := map[string]int{}
	for _, r := range rows[1:] {
		span, verb, resource, scope, count := r[col["span"]], r[col["verb"]], r[col["resource"]], r[col["scope"]], r[col["count"]]
		if verb == "WATCH" {
			t.Errorf("WATCH is outside the SLO but was reported: %v", r)
		}
		if resource == "configmaps" {
			n, _ := strconv.Atoi(count)
			found[span+" "+verb+" "+scope] = n
		}
	}
	// The controller-manager writes configmaps too (kube-root-ca.crt in
	// every namespace of a fresh cluster), so ours are a lower bound.
	// A run shorter than a window is one window: both spans agree.
	for _, span := range []string{measurements.SpanWorstWindow, measurements.SpanWholeRun} {
		if found[span+" POST resource"] < n || found[span+" LIST namespace"] < 1 {
			t.Errorf("configmap calls seen: %v, want %d POSTs and a namespaced LIST in %s", found, n, span)
		}
	}
	for _, c := range sum.Checks {
		if !c.Passed() {
			t.Errorf("an idle loopback API server violated: %s", c.Verdict())
		}
	}
	if len(sum.Tables["api_buckets.csv"]) < len(rows)/2 || len(sum.Tables["api_intervals.csv"]) < len(rows)/2 {
		t.Error("no raw buckets to recompute the percentiles from")
	}
	if len(sum.Tables["api_windows.csv"]) < 2 {
		t.Error("no windows")
	}
	// The intervals between scrapes add up to the whole run.
	intervals := 0
	col = columnIndex(sum.Tables["api_intervals.csv"][0])
	for _, r := range sum.Tables["api_intervals.csv"][1:] {
		if r[col["verb"]] == "POST" && r[col["resource"]] == "configmaps" && r[col["le_seconds"]] == "+Inf" {
			n, _ := strconv.Atoi(r[col["cumulative_count"]])
			intervals += n
		}
	}
	if intervals != found[measurements.SpanWholeRun+" POST resource"] {
		t.Errorf("intervals sum to %d configmap POSTs, the whole run has %d", intervals, found[measurements.SpanWholeRun+" POST resource"])
	}
}

func columnIndex(header []string) map[string]int {
	out := map[string]int{}
	for i, h := range header {
		out[h] = i
	}
	return out
}
