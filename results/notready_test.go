package results

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// A run with NotReady nodes names them, counts them and warns, in the
// terminal's table, summary.md, run.json and the raw CSV; one without says
// so in one line.
func TestNodeReadinessIsReported(t *testing.T) {
	start := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	again := start.Add(90 * time.Second)
	paused := NotReadyTransition{Node: "hollow-node-3", Seen: start.Add(55 * time.Second), Since: start.Add(54 * time.Second),
		Status: "Unknown", Reason: "NodeStatusUnknown", Message: "Kubelet stopped posting node status.", ReadyAgain: &again,
		Lease: &LeaseAtTransition{Renewed: start.Add(2 * time.Second), LastDelay: 30 * time.Millisecond, Paused: true}}
	other := NotReadyTransition{Node: "real-node", Seen: start.Add(70 * time.Second), Status: "False", Reason: "KubeletNotReady"}
	tests := []struct {
		name        string
		transitions []NotReadyTransition
		line        string
		warned      bool
		csv         [][]string // rows after the header, selected columns: node, ready_again, hollow, lease_age_s, heartbeats_paused
	}{
		{"none", nil, "Nodes: no node went NotReady while the run watched.", false, nil},
		{"two nodes, three transitions", []NotReadyTransition{paused, other, paused}, "Nodes: 3 NotReady transitions on 2 nodes: hollow-node-3, real-node.", true,
			[][]string{{"hollow-node-3", again.Format(time.RFC3339Nano), "true", "53.000", "true"}, {"real-node", "", "false", "", ""},
				{"hollow-node-3", again.Format(time.RFC3339Nano), "true", "53.000", "true"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Run{ID: "x", Started: start, Ended: start.Add(2 * time.Minute)}
			r.SetNodeReadiness(start, r.Ended, tt.transitions)
			r.NodeReadiness.Heartbeats = []HeartbeatDelays{{Kind: "lease", Answered: 30, Late: 1, LateAfter: 10 * time.Second,
				P50: 12 * time.Millisecond, P99: 9 * time.Second}}
			hb := "lease: 30 answered, late by p50 12ms, p99 9s; 1 more than 10s late"
			table := r.VerdictTable()
			if !strings.Contains(table, tt.line) || !strings.Contains(table, "Hollow heartbeats: "+hb+".") || strings.Contains(table, "**warning**") != tt.warned {
				t.Errorf("terminal table lacks %q or warns %v:\n%s", tt.line, !tt.warned, table)
			}
			dir := t.TempDir()
			if err := r.Write(dir); err != nil {
				t.Fatal(err)
			}
			summary, _ := os.ReadFile(filepath.Join(dir, SummaryFile))
			if !strings.Contains(string(summary), "| node readiness | "+strings.TrimSuffix(strings.TrimPrefix(tt.line, "Nodes: "), ".")+" ("+NotReadyFile+") |") ||
				!strings.Contains(string(summary), "| hollow heartbeats | "+hb+" |") || strings.Contains(string(summary), "| warning | ") != tt.warned {
				t.Errorf("summary.md:\n%s", summary)
			}
			back, err := ReadRun(dir)
			if err != nil {
				t.Fatal(err)
			}
			nr := back.NodeReadiness
			if nr == nil || nr.Count != len(tt.transitions) || !slices.Equal(nr.Nodes, NotReadyNodes(tt.transitions)) {
				t.Fatalf("run.json node readiness %+v", nr)
			}
			rows, err := ReadCSV(filepath.Join(dir, NotReadyFile))
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(tt.csv)+1 {
				t.Fatalf("%d CSV rows, want a header and %d", len(rows), len(tt.csv))
			}
			for i, want := range tt.csv {
				row := rows[i+1]
				if got := []string{row[0], row[6], row[7], row[9], row[11]}; !slices.Equal(got, want) {
					t.Errorf("CSV row %d: %v, want %v", i+1, got, want)
				}
			}
		})
	}
}
