package requestmix

import (
	"fmt"
	"strings"
)

// Phases is what a request-mix measurement took, each phase between two
// scrapes with the control plane's own traffic subtracted: nodes
// registering, idle, pods starting and pods deleted; and the watches open
// once the nodes idled and once they ran pods. The hollow nodes' check and
// the real-kubelet reference compute their rows from it alike.
type Phases struct {
	Nodes, Pods, NodesWithPods    int
	Register, Idle, Start, Delete Delta
	// WatchesIdle is the change in open watches from before the nodes
	// started to the end of the idle window; WatchesPods over the pods'
	// start.
	WatchesIdle, WatchesPods map[string]float64
}

// Measured is the figure of a phase row of the expected table: per node,
// per node per minute, per node with pods or per pod.
func (p Phases) Measured(phase, request string) (float64, error) {
	switch phase {
	case "idle, per node per minute":
		return p.Idle.Requests[request] / float64(p.Nodes) / p.Idle.Duration.Minutes(), nil
	case "watches, per node":
		return p.WatchesIdle[request] / float64(p.Nodes), nil
	case "watches, per node with pods":
		return p.WatchesPods[request] / float64(p.NodesWithPods), nil
	case "pod start, per pod":
		return p.Start.Requests[request] / float64(p.Pods), nil
	case "pod deletion, per pod":
		return p.Delete.Requests[request] / float64(p.Pods), nil
	case "registration, per node":
		return p.Register.Requests[request] / float64(p.Nodes), nil
	}
	return 0, fmt.Errorf("unknown phase %q", phase)
}

// Check measures every expectation; an error names the row's line.
func (p Phases) Check(expected []Expectation) ([]Result, error) {
	results := make([]Result, 0, len(expected))
	for _, e := range expected {
		got, err := p.Measured(e.Phase, e.Request)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", e.Line, err)
		}
		results = append(results, Result{Expectation: e, Got: got})
	}
	return results, nil
}

// PerPod sums every request kind in d but the workload's own (creating the
// pods, listing them; its collection delete, which the API server counts
// as a DELETE, the caller takes off) and watches (counted when they end),
// per pod.
func PerPod(d Delta, pods int) float64 {
	var sum float64
	for k, v := range d.Requests {
		switch k {
		case "POST pods", "LIST pods":
			continue
		}
		if strings.HasPrefix(k, "WATCH ") {
			continue
		}
		sum += v
	}
	return sum / float64(pods)
}
