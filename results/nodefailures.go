package results

import (
	"fmt"
	"slices"
	"time"
)

// NodeFailuresFile holds the failures and reboots a run caused on purpose,
// one row each.
const NodeFailuresFile = "NodeFailures_events.csv"

// NodeFailures are the nodes a run failed on purpose (the scenario's
// chaos.nodeFailure, ClusterLoader2's chaosMonkey.nodeFailure).
type NodeFailures struct {
	Events []NodeFailureEvent `json:"events"`
	// Failed and Rebooted count the events of each action; Nodes are the
	// nodes failed, sorted.
	Failed   int      `json:"failed"`
	Rebooted int      `json:"rebooted"`
	Nodes    []string `json:"nodes"`
	File     string   `json:"file"`
}

// NodeFailureEvent is one failure (stopService: kubelet and runtime
// stopped) or reboot (rebootNode), named as CL2's NodeKiller names them.
type NodeFailureEvent struct {
	Time   time.Time `json:"time"`
	Action string    `json:"action"`
	Node   string    `json:"node"`
}

// Actions of NodeFailureEvent.
const (
	ActionStopServices = "stopService"
	ActionRebootNode   = "rebootNode"
)

// SetNodeFailures records the run's failures on purpose; call it before
// SetNodeReadiness, which tells the NotReady nodes failed on purpose from
// the others.
func (r *Run) SetNodeFailures(events []NodeFailureEvent) {
	nf := &NodeFailures{Events: events, Nodes: []string{}, File: NodeFailuresFile}
	for _, e := range events {
		switch e.Action {
		case ActionStopServices:
			nf.Failed++
			nf.Nodes = append(nf.Nodes, e.Node)
		case ActionRebootNode:
			nf.Rebooted++
		}
	}
	slices.Sort(nf.Nodes)
	nf.Nodes = slices.Compact(nf.Nodes)
	r.NodeFailures = nf
}

// Line is the one-line account for the terminal and summary.md.
func (nf *NodeFailures) Line() string {
	if nf.Failed == 0 {
		return "no node was failed"
	}
	return fmt.Sprintf("%s failed on purpose, %d rebooted: %s", plural(nf.Failed, "node"), nf.Rebooted, namesList(nf.Nodes, 10))
}

func (nf *NodeFailures) table() [][]string {
	rows := [][]string{{"time", "action", "node"}}
	for _, e := range nf.Events {
		rows = append(rows, []string{e.Time.UTC().Format(time.RFC3339Nano), e.Action, e.Node})
	}
	return rows
}

// splitOnPurpose parts the NotReady nodes into those failed on purpose and
// the others.
func (nr *NodeReadiness) splitOnPurpose(nf *NodeFailures) {
	if nf == nil {
		return
	}
	nr.FailedOnPurpose, nr.NotOnPurpose = []string{}, []string{}
	for _, n := range nr.Nodes {
		if slices.Contains(nf.Nodes, n) {
			nr.FailedOnPurpose = append(nr.FailedOnPurpose, n)
		} else {
			nr.NotOnPurpose = append(nr.NotOnPurpose, n)
		}
	}
}

// purposeNote says which NotReady nodes were failed on purpose, when the
// run failed any.
func (nr *NodeReadiness) purposeNote() string {
	if nr.FailedOnPurpose == nil || nr.Count == 0 {
		return ""
	}
	note := func(names []string) string {
		if len(names) == 0 {
			return "none"
		}
		return namesList(names, 10)
	}
	return fmt.Sprintf(" (failed on purpose: %s; not failed on purpose: %s)", note(nr.FailedOnPurpose), note(nr.NotOnPurpose))
}
