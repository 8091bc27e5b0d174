package results

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// A run that failed nodes on purpose counts the failures and reboots,
// writes them as CSV, and tells the NotReady nodes it failed from those
// it did not, on the terminal, in summary.md, run.json and the NotReady CSV.
func TestNodeFailuresAreReportedAndToldFromOtherNotReadyNodes(t *testing.T) {
	start := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	events := []NodeFailureEvent{{start.Add(time.Minute), ActionStopServices, "hollow-node-2"}, {start.Add(2 * time.Minute), ActionRebootNode, "hollow-node-2"}}
	tests := []struct {
		name        string
		events      []NodeFailureEvent
		transitions []NotReadyTransition
		lines       []string
		onPurpose   []string // failed_on_purpose column of the NotReady CSV
	}{
		{"failed node and another NotReady", events,
			[]NotReadyTransition{{Node: "hollow-node-2", Status: "Unknown"}, {Node: "hollow-node-4", Status: "Unknown"}},
			[]string{"Node failures: 1 node failed on purpose, 1 rebooted: hollow-node-2.",
				"Nodes: 2 NotReady transitions on 2 nodes: hollow-node-2, hollow-node-4 (failed on purpose: hollow-node-2; not failed on purpose: hollow-node-4)."},
			[]string{"true", "false"}},
		{"only the failed node", events, []NotReadyTransition{{Node: "hollow-node-2", Status: "Unknown"}},
			[]string{"(failed on purpose: hollow-node-2; not failed on purpose: none)"}, []string{"true"}},
		{"none failed yet", nil, nil, []string{"Node failures: no node was failed.", "Nodes: no node went NotReady while the run watched."}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Run{ID: "x", Started: start, Ended: start.Add(5 * time.Minute)}
			r.SetNodeFailures(tt.events)
			r.SetNodeReadiness(start, r.Ended, tt.transitions)
			dir := t.TempDir()
			if err := r.Write(dir); err != nil {
				t.Fatal(err)
			}
			summary, err := os.ReadFile(filepath.Join(dir, SummaryFile))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.lines {
				if !strings.Contains(r.VerdictTable(), want) {
					t.Errorf("terminal lacks %q:\n%s", want, r.VerdictTable())
				}
				if trimmed := strings.TrimSuffix(strings.SplitN(want, ": ", 2)[len(strings.SplitN(want, ": ", 2))-1], "."); !strings.Contains(string(summary), trimmed) {
					t.Errorf("summary.md lacks %q", trimmed)
				}
			}
			back, err := ReadRun(dir)
			if err != nil {
				t.Fatal(err)
			}
			nf := back.NodeFailures
			if nf == nil || nf.Failed != len(tt.events)/2 || nf.Rebooted != len(tt.events)/2 || len(nf.Events) != len(tt.events) {
				t.Fatalf("run.json node failures %+v", nf)
			}
			rows, err := ReadCSV(filepath.Join(dir, NodeFailuresFile))
			if err != nil || len(rows) != 1+len(tt.events) {
				t.Fatalf("%s: %v, %v", NodeFailuresFile, rows, err)
			}
			for i, e := range tt.events {
				if want := []string{e.Time.Format(time.RFC3339Nano), e.Action, e.Node}; !slices.Equal(rows[i+1], want) {
					t.Errorf("row %d %v, want %v", i+1, rows[i+1], want)
				}
			}
			nr, err := ReadCSV(filepath.Join(dir, NotReadyFile))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, row := range nr[1:] {
				got = append(got, row[len(row)-1])
			}
			if !slices.Equal(got, tt.onPurpose) {
				t.Errorf("failed_on_purpose column %v, want %v", got, tt.onPurpose)
			}
		})
	}
}
