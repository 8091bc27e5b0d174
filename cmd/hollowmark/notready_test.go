package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/results"
)

func TestParsePauses(t *testing.T) {
	names := []string{"hollow-node-0", "hollow-node-1", "hollow-node-2", "hollow-node-3"}
	tests := []struct {
		values []string
		want   []heartbeatPause
		err    string
	}{
		{nil, nil, ""},
		{[]string{"hollow-node-1=90s", "hollow-node-3=2m"}, []heartbeatPause{{"hollow-node-1", 90 * time.Second}, {"hollow-node-3", 2 * time.Minute}}, ""},
		{[]string{"hollow-node-1"}, nil, `--pause-heartbeats "hollow-node-1": want NODE=DURATION`},
		{[]string{"hollow-node-1=soon"}, nil, `--pause-heartbeats "hollow-node-1=soon": want NODE=DURATION`},
		{[]string{"hollow-node-1=-5s"}, nil, "with a positive duration"},
		{[]string{"node-9=5s"}, nil, `"node-9" is not one of the hollow nodes this process runs (hollow-node-0, hollow-node-1, hollow-node-2, … 4 in all)`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.values, ","), func(t *testing.T) {
			got, err := parsePauses(tt.values, names)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("%v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// pauseScenario only waits: long enough for a node whose heartbeats pause
// to go NotReady and come back.
const pauseScenario = `name: pause
namespaces: {count: 1, prefix: pause}
steps:
  - name: wait while a node misses its leases
    measurements:
      - {identifier: Wait, method: Sleep, action: wait, params: {duration: 100s}}
`

// A hollow node whose heartbeats are paused past the node lifecycle
// controller's grace period goes NotReady on the real control plane: the
// run counts and names it on the terminal, in summary.md, run.json and the
// raw CSV, with the node's own view of its lease; the late renewal after
// the pause is logged in the run directory's log, not on the terminal.
func TestRunCountsAndNamesNotReadyNodes(t *testing.T) {
	// Mostly waiting (75 s of paused heartbeats): it runs beside the other
	// waiting test, each with a control plane of its own.
	t.Parallel()
	dir := t.TempDir()
	scenario := filepath.Join(dir, "pause.yaml")
	if err := os.WriteFile(scenario, []byte(pauseScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	runDir, out := t.TempDir(), filepath.Join(t.TempDir(), "results")
	code, stdout, stderr := hollowmark(t, "run", "--scenario", scenario, "--nodes", "3", "--etcd-unsafe-no-fsync",
		"--pause-heartbeats", "hollow-node-1=75s", "--run-dir", runDir, "--out", out)
	if code != results.ExitPassed {
		t.Fatalf("exit %d, want 0 (a NotReady node warns, it is not an SLO)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"Nodes: 1 NotReady transition on 1 node: hollow-node-1.", "**warning**: 1 node NotReady transition on 1 node (hollow-node-1): the figures may be distorted"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("terminal lacks %q:\n%s", want, stdout)
		}
	}
	run, err := results.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	nr := run.NodeReadiness
	if nr == nil || nr.Count != 1 || !slices.Equal(nr.Nodes, []string{"hollow-node-1"}) {
		t.Fatalf("run.json node readiness %+v", nr)
	}
	tr := nr.Transitions[0]
	if tr.Status != "Unknown" || tr.Reason != "NodeStatusUnknown" || tr.ReadyAgain == nil || tr.Lease == nil || !tr.Lease.Paused {
		t.Errorf("transition %+v, lease %+v: want Unknown by the node controller, Ready again, heartbeats paused", tr, tr.Lease)
	}
	if hb := nr.Heartbeats; len(hb) != 2 || hb[0].Kind != "lease" || hb[0].Late < 1 || hb[0].Answered < 15 ||
		!strings.Contains(stdout, "Hollow heartbeats: lease: ") {
		t.Errorf("heartbeat delays %+v: want the paused renewal among the late ones; terminal:\n%s", hb, stdout)
	}
	if age := tr.Seen.Sub(tr.Lease.Renewed); age < 40*time.Second {
		t.Errorf("lease last renewed %v before the node was seen NotReady; the grace period is 50 s", age)
	}
	summary, err := os.ReadFile(filepath.Join(out, results.SummaryFile))
	if err != nil || !strings.Contains(string(summary), "| node readiness | 1 NotReady transition on 1 node: hollow-node-1 ("+results.NotReadyFile+") |") {
		t.Errorf("summary.md (%v):\n%s", err, summary)
	}
	if rows, err := results.ReadCSV(filepath.Join(out, results.NotReadyFile)); err != nil || len(rows) != 2 || rows[1][0] != "hollow-node-1" {
		t.Errorf("%s: %v, %v", results.NotReadyFile, rows, err)
	}
	log, err := os.ReadFile(filepath.Join(runDir, "hollowmark.log"))
	if err != nil || !strings.Contains(string(log), `"msg":"lease renewal answered late","node":"hollow-node-1"`) {
		t.Errorf("hollowmark.log lacks the late renewal of hollow-node-1 (%v)", err)
	}
	if strings.Contains(stdout+stderr, "lease renewal answered late") {
		t.Error("the late renewal was logged on the terminal")
	}
}

// What the pool's delay histograms counted between two readings: counts,
// late ones, and percentiles of the window only.
func TestHeartbeatDelaysOfTheWindow(t *testing.T) {
	bounds := []float64{0.1, 1, 10, 60}
	before := map[string]hollow.DelayHistogram{"lease": {Bounds: bounds, Counts: []uint64{90, 100, 100, 100}, Count: 100}}
	after := map[string]hollow.DelayHistogram{
		"lease":       {Bounds: bounds, Counts: []uint64{188, 198, 199, 200}, Count: 200},
		"node-status": {Bounds: bounds, Counts: []uint64{3, 4, 4, 4}, Count: 4},
	}
	got := heartbeatDelays(before, after)
	if len(got) != 2 {
		t.Fatalf("%+v", got)
	}
	lease, status := got[0], got[1]
	if lease.Kind != "lease" || lease.Answered != 100 || lease.Late != 1 || lease.LateAfter != 10*time.Second {
		t.Errorf("lease %+v: want 100 answered in the window, 1 more than 10 s late", lease)
	}
	// 98 of the window's 100 within 0.1 s: the median interpolates to
	// 0.1 × 50/98; the 99th (rank 99) falls in (1 s, 10 s].
	if lease.P50 < 50*time.Millisecond || lease.P50 > 52*time.Millisecond || lease.P99 <= time.Second || lease.P99 > 10*time.Second {
		t.Errorf("lease p50 %v, p99 %v", lease.P50, lease.P99)
	}
	if status.Kind != "node-status" || status.Answered != 4 || status.Late != 0 {
		t.Errorf("node status %+v: want all 4 since the pool started", status)
	}
}
