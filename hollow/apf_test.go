package hollow_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/hollow"
)

// Hollow kubelets authenticate as system:node:<name> in group
// system:nodes, so the API server's priority and fairness puts their
// leases in the node-high priority level (flow schema system-node-high),
// ahead of pod traffic, as it does a real kubelet's: every lease renewal
// the nodes made while idle was dispatched there.
func TestLeasesAreDispatchedAtNodeHighPriority(t *testing.T) {
	const nodes = 3
	c := startPool(t, "apf-", nodes, fastConfig())
	waitFor(t, "the first renewals", time.Minute, func(context.Context) (bool, error) {
		return leaseRenewals(t, c) >= nodes, nil
	})
	dispatched0, level := nodeHighDispatched(t, c.client)
	renewed0 := leaseRenewals(t, c)
	time.Sleep(25 * time.Second)
	renewed := leaseRenewals(t, c) - renewed0
	dispatched, _ := nodeHighDispatched(t, c.client)
	dispatched -= dispatched0
	if level != "node-high" {
		t.Errorf("flow schema system-node-high dispatches to priority level %q, want node-high", level)
	}
	// A renewal answered after the first reading may have been dispatched
	// before it: one per node at most.
	if renewed < 2*nodes || dispatched < renewed-nodes {
		t.Errorf("%v lease renewals answered, %v requests dispatched by system-node-high: the leases went elsewhere", renewed, dispatched)
	}
}

// leaseRenewals is the pool's count of successful lease calls.
func leaseRenewals(t *testing.T, c *cluster) float64 {
	t.Helper()
	return heartbeats(t, c, "lease", "ok")
}

// heartbeats is the pool's count of heartbeat calls of kind with result.
func heartbeats(t *testing.T, c *cluster, kind, result string) float64 {
	t.Helper()
	return heartbeatCount(t, c.metrics, kind, result)
}

// heartbeatCount reads hollowmark_heartbeats_total{kind, result} from metrics.
func heartbeatCount(tb testing.TB, metrics *hollow.Metrics, kind, result string) float64 {
	tb.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "hollowmark_heartbeats_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == kind && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// nodeHighDispatched reads how many requests the API server dispatched by
// flow schema system-node-high, and to which priority level.
func nodeHighDispatched(t *testing.T, client kubernetes.Interface) (float64, string) {
	t.Helper()
	raw, err := client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	level := ""
	for _, m := range families["apiserver_flowcontrol_dispatched_requests_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["flow_schema"] == "system-node-high" {
			n += m.GetCounter().GetValue()
			level = labels["priority_level"]
		}
	}
	return n, level
}
