package history

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hollowmark/hollowmark/results"
)

// writeRun writes a results directory with a pod startup check of the
// given p99 under the timestamp source src ("" for a run from before the
// choice), a skipped check (never a violation), and a scheduling
// throughput item.
func writeRun(t *testing.T, dir, id string, started time.Time, p99 time.Duration, src string) {
	t.Helper()
	r := &results.Run{ID: id, Scenario: "density", Started: started, Ended: started.Add(time.Minute), Cluster: results.Cluster{Nodes: 100}}
	r.Add("PodStartupLatency", "PodStartupLatency", &results.Summary{PerfData: results.NewPerfData(),
		Checks: []results.Check{{SLO: "PodStartupLatency (stateless)", Thresholds: results.Thresholds{P99: 5 * time.Second},
			Measured: results.Percentiles{Count: 500, P50: p99 / 2, P90: p99 * 9 / 10, P99: p99}}}, Definitions: definitions(src)})
	r.Add("NetworkProgrammingLatency", "Unsupported", &results.Summary{PerfData: results.NewPerfData(),
		Checks: []results.Check{{SLO: "NetworkProgrammingLatency", Skipped: "not supported by hollowmark"}}})
	r.Add("SchedulingThroughput", "SchedulingThroughput", &results.Summary{PerfData: results.NewPerfData(results.DataItem{
		Data: map[string]float64{"Perc50": 120}, Unit: "1/s", Labels: map[string]string{"Metric": "SchedulingThroughput"}})})
	if err := r.Write(filepath.Join(dir, id)); err != nil {
		t.Fatal(err)
	}
}

func definitions(src string) map[string]string {
	if src == "" {
		return nil
	}
	return map[string]string{"timestampSource": src}
}

func TestHistoryOrdersRunsAndMarksViolations(t *testing.T) {
	dir := t.TempDir()
	day := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
	// Written out of order: history sorts by start time.
	writeRun(t, dir, "night-3", day.Add(48*time.Hour), 1200*time.Millisecond, "watch")
	writeRun(t, dir, "night-1", day, 1100*time.Millisecond, "")
	writeRun(t, dir, "night-2", day.Add(24*time.Hour), 6*time.Second, "watch")
	if err := os.MkdirAll(filepath.Join(dir, "not-a-run"), 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[0].Run.ID != "night-1" || entries[2].Run.ID != "night-3" {
		t.Fatalf("entries %v", entries)
	}
	if len(entries[1].Violated) != 1 || entries[0].SchedulingP50 != 120 {
		t.Errorf("entry %+v", entries[1])
	}
	table := Markdown(entries)
	// night-1 is from before watch times: its pod startup is marked.
	for _, want := range []string{"3 runs, 1 of them violated", "| 2 | night-2 | 2026-11-21 02:00 | 100 | **FAIL**: PodStartupLatency (stateless) | 3s | 5.4s | 6s |",
		"| 550ms † | 990ms † | 1.1s † |", "† pod startup from the API's timestamps"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	files, err := Plot(dir, entries)
	if err != nil {
		t.Fatal(err)
	}
	// Pod startup and scheduling were measured; API calls and resources not.
	if len(files) != 2 || filepath.Base(files[0]) != "history_pod_startup.png" {
		t.Errorf("plots %v", files)
	}
}

func TestHistoryOfADirectoryWithoutRuns(t *testing.T) {
	if _, err := Read(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no runs") {
		t.Errorf("error %v", err)
	}
}
