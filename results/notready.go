package results

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// NodeReadiness is what a run saw of its nodes' Ready condition: every
// time a node's Ready left True, while the run watched.
type NodeReadiness struct {
	// From and To bound what was watched: from when the scenario started
	// to when the run ended.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Transitions are in the order they were seen.
	Transitions []NotReadyTransition `json:"transitions"`
	// Count is len(Transitions); Nodes are the nodes they happened to,
	// sorted, each once.
	Count int      `json:"notReadyCount"`
	Nodes []string `json:"notReadyNodes"`
	// File is the raw CSV, one row per transition.
	File string `json:"file"`
	// FailedOnPurpose and NotOnPurpose part Nodes when the run failed
	// nodes on purpose (see NodeFailures); nil when it failed none.
	FailedOnPurpose []string `json:"failedOnPurpose,omitempty"`
	NotOnPurpose    []string `json:"notFailedOnPurpose,omitempty"`
	// Heartbeats are how late this run's hollow nodes' heartbeats were
	// answered while the run watched; empty without hollow nodes.
	Heartbeats []HeartbeatDelays `json:"heartbeats,omitempty"`
}

// HeartbeatDelays is how late one kind of heartbeat was answered, from when
// it was due (hollowmark_heartbeat_delay_seconds).
type HeartbeatDelays struct {
	Kind     string `json:"kind"` // lease or node-status
	Answered uint64 `json:"answered"`
	// Late were answered more than LateAfter after they were due.
	Late      uint64        `json:"late"`
	LateAfter time.Duration `json:"lateAfter"`
	// P50 and P99 are interpolated within the histogram's buckets, as
	// Prometheus' histogram_quantile does (nanoseconds).
	P50 time.Duration `json:"p50"`
	P99 time.Duration `json:"p99"`
}

func (h HeartbeatDelays) String() string {
	return fmt.Sprintf("%s: %d answered, late by p50 %s, p99 %s; %d more than %s late",
		h.Kind, h.Answered, FormatDuration(h.P50), FormatDuration(h.P99), h.Late, h.LateAfter)
}

// NotReadyTransition is one node's Ready condition going from True to False
// or Unknown.
type NotReadyTransition struct {
	Node string `json:"node"`
	// Seen is when our watch saw it; Since is the condition's
	// lastTransitionTime (the API keeps seconds).
	Seen    time.Time `json:"seen"`
	Since   time.Time `json:"since"`
	Status  string    `json:"status"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	// ReadyAgain is when our watch saw the node Ready again, if it did
	// before the run ended.
	ReadyAgain *time.Time `json:"readyAgain,omitempty"`
	// Lease is the node's lease as a hollow node of this run saw it when
	// the transition was seen; nil for other nodes.
	Lease *LeaseAtTransition `json:"lease,omitempty"`
}

// LeaseAtTransition is a hollow node's own view of its lease.
type LeaseAtTransition struct {
	// Renewed is when its last renewal succeeded (zero: never).
	Renewed time.Time `json:"renewed"`
	// LastDelay is how late, from when it was due, that renewal was
	// answered (nanoseconds).
	LastDelay time.Duration `json:"lastDelay"`
	// Paused says its heartbeats were held on purpose (a fault).
	Paused bool `json:"heartbeatsPaused"`
}

// NotReadyFile holds the transitions, one row each.
const NotReadyFile = "NodeNotReady_transitions.csv"

// SetNodeReadiness records what the run saw of its nodes, and says in the
// warnings when any went NotReady.
func (r *Run) SetNodeReadiness(from, to time.Time, transitions []NotReadyTransition) {
	nr := &NodeReadiness{From: from, To: to, Transitions: transitions, Count: len(transitions),
		Nodes: NotReadyNodes(transitions), File: NotReadyFile}
	nr.splitOnPurpose(r.NodeFailures)
	r.NodeReadiness = nr
	if nr.Count > 0 {
		r.Warnings = append(r.Warnings, nr.Warning())
	}
}

// NotReadyNodes are the nodes of transitions, sorted, each once.
func NotReadyNodes(transitions []NotReadyTransition) []string {
	nodes := []string{}
	for _, t := range transitions {
		nodes = append(nodes, t.Node)
	}
	slices.Sort(nodes)
	return slices.Compact(nodes)
}

// Warning says what a run with NotReady nodes must not hide.
func (nr *NodeReadiness) Warning() string {
	return fmt.Sprintf("%s on %s (%s)%s: the figures may be distorted "+
		"(pods on a NotReady node are not scheduled there, are marked not ready and may be evicted), see %s",
		plural(nr.Count, "node NotReady transition"), plural(len(nr.Nodes), "node"), namesList(nr.Nodes, 10), nr.purposeNote(), nr.File)
}

// Line is the one-line account for the terminal and summary.md.
func (nr *NodeReadiness) Line() string {
	if nr.Count == 0 {
		return "no node went NotReady while the run watched"
	}
	return fmt.Sprintf("%s on %s: %s%s", plural(nr.Count, "NotReady transition"), plural(len(nr.Nodes), "node"), namesList(nr.Nodes, 10), nr.purposeNote())
}

// plural is n things, with an s unless n is 1.
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

func (nr *NodeReadiness) heartbeatsLine() string {
	parts := make([]string, len(nr.Heartbeats))
	for i, h := range nr.Heartbeats {
		parts[i] = h.String()
	}
	return strings.Join(parts, "; ")
}

// namesList lists up to n names and counts the rest.
func namesList(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
}

// table is the raw CSV.
func (nr *NodeReadiness) table() [][]string {
	rows := [][]string{{"node", "seen", "since", "status", "reason", "message", "ready_again",
		"hollow", "lease_renewed", "lease_age_s", "last_lease_delay_s", "heartbeats_paused", "failed_on_purpose"}}
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	for _, t := range nr.Transitions {
		row := []string{t.Node, stamp(t.Seen), stamp(t.Since), t.Status, t.Reason, t.Message, "", "false", "", "", "", "",
			strconv.FormatBool(slices.Contains(nr.FailedOnPurpose, t.Node))}
		if t.ReadyAgain != nil {
			row[6] = stamp(*t.ReadyAgain)
		}
		if l := t.Lease; l != nil {
			row[7], row[8], row[11] = "true", stamp(l.Renewed), strconv.FormatBool(l.Paused)
			if !l.Renewed.IsZero() {
				row[9] = strconv.FormatFloat(t.Seen.Sub(l.Renewed).Seconds(), 'f', 3, 64)
			}
			row[10] = strconv.FormatFloat(l.LastDelay.Seconds(), 'f', 3, 64)
		}
		rows = append(rows, row)
	}
	return rows
}
