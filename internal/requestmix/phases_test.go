package requestmix

import (
	"strings"
	"testing"
	"time"
)

func TestPhasesDivideEachRowByItsUnit(t *testing.T) {
	p := Phases{Nodes: 2, Pods: 10, NodesWithPods: 1,
		Register:    Delta{Requests: map[string]float64{"POST nodes": 2}},
		Idle:        Delta{Duration: 3 * time.Minute, Requests: map[string]float64{"PUT leases.coordination.k8s.io": 36}},
		Start:       Delta{Requests: map[string]float64{"GET pods": 30}},
		Delete:      Delta{Requests: map[string]float64{"DELETE pods": 10}},
		WatchesIdle: map[string]float64{"WATCH nodes": 4},
		WatchesPods: map[string]float64{"WATCH configmaps": 1},
	}
	for _, c := range []struct {
		phase, request string
		want           float64
	}{
		{"registration, per node", "POST nodes", 1},
		{"idle, per node per minute", "PUT leases.coordination.k8s.io", 6},
		{"pod start, per pod", "GET pods", 3},
		{"pod deletion, per pod", "DELETE pods", 1},
		{"watches, per node", "WATCH nodes", 2},
		{"watches, per node with pods", "WATCH configmaps", 1},
	} {
		got, err := p.Measured(c.phase, c.request)
		if err != nil || got != c.want {
			t.Errorf("%s %s = %v, %v; want %v", c.phase, c.request, got, err, c.want)
		}
	}
	if _, err := p.Check([]Expectation{{Phase: "per moon", Request: "GET pods", Line: 7}}); err == nil || !strings.Contains(err.Error(), "line 7") {
		t.Errorf("unknown phase: error %v, want one naming line 7", err)
	}
}

func TestPerPodLeavesOutTheWorkloadsOwnRequests(t *testing.T) {
	d := Delta{Requests: map[string]float64{"POST pods": 10, "LIST pods": 40,
		"WATCH pods": 3, "GET pods": 30, "PATCH pods/status": 30}}
	if got := PerPod(d, 10); got != 6 {
		t.Errorf("PerPod = %v, want 6", got)
	}
}
