package report

import (
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hollowmark/hollowmark/results"
)

// writeRun writes a results directory with pod startup rows and two checks,
// one of them violated, and no other measurement.
func writeRun(t *testing.T) string {
	t.Helper()
	start := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	ts := func(d time.Duration) string { return start.Add(d).Format(time.RFC3339Nano) }
	rows := [][]string{{"namespace", "name", "uid", "node", "stateless", "created", "scheduled", "run", "watch",
		"kubelet_seen", "kubelet_sandbox_ready", "kubelet_containers_started", "kubelet_running", "kubelet_status_posted"}}
	for i := range 20 {
		d := time.Duration(i) * 100 * time.Millisecond
		rows = append(rows, []string{"ns", fmt.Sprintf("p%d", i), fmt.Sprint(i), "n", "true", ts(0), ts(time.Second), ts(time.Second),
			ts(time.Second + 300*time.Millisecond + d), ts(time.Second + 10*time.Millisecond), "", ts(time.Second + 100*time.Millisecond),
			ts(time.Second + 110*time.Millisecond), ts(time.Second + 200*time.Millisecond + d)})
	}
	r := &results.Run{ID: "tiny-1", Scenario: "tiny", Started: start, Ended: start.Add(time.Minute)}
	r.Add("PodStartupLatency", "PodStartupLatency", &results.Summary{PerfData: results.NewPerfData(),
		Checks: []results.Check{
			{SLO: "PodStartupLatency (stateless)", Thresholds: results.Thresholds{P99: 2 * time.Second}, Measured: results.Percentiles{Count: 20, P99: 3200 * time.Millisecond}},
			{SLO: "Made up <check> & more", Thresholds: results.Thresholds{P99: time.Second}, Measured: results.Percentiles{Count: 1, P99: time.Millisecond}},
		},
		Tables: map[string][][]string{"pods.csv": rows}, Notes: []string{noteOfTheRun}})
	dir := t.TempDir()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// noteOfTheRun is a measurement's note, which summary and report must show.
const noteOfTheRun = "The kubelet_* columns are empty: the pods ran on nodes of <another> process."

func TestReportListsEveryCheckAndSaysWhichPlotsAreMissing(t *testing.T) {
	dir := writeRun(t)
	figures, err := Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		t.Fatal(err)
	}
	run, err := results.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range run.Checks() {
		if !strings.Contains(string(page), "<td>"+html.EscapeString(c.SLO)+"</td>") {
			t.Errorf("report lacks check %q", c.SLO)
		}
	}
	if !strings.Contains(string(page), html.EscapeString(noteOfTheRun)) {
		t.Error("report lacks the measurement's note")
	}
	drawn := map[string]bool{}
	for _, f := range figures {
		if f.Missing == "" {
			drawn[f.File] = true
			if _, err := os.Stat(filepath.Join(dir, f.File)); err != nil {
				t.Errorf("plot %s not written: %v", f.File, err)
			}
		} else if !strings.Contains(string(page), "Not drawn: "+f.Missing) {
			t.Errorf("report does not say why %s is missing", f.File)
		}
	}
	for _, want := range []string{"pod_startup_cdf.png", "pod_startup_phases.png", "pod_timeline.png"} {
		if !drawn[want] {
			t.Errorf("%s not drawn: %+v", want, figures)
		}
	}
	if drawn["cpu.png"] || drawn["api_call_p99.png"] {
		t.Error("plots drawn for measurements the run did not make")
	}
	summary, err := os.ReadFile(filepath.Join(dir, results.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(summary), "# tiny-1: FAIL") || !strings.Contains(string(summary), "- [Pod startup latency CDF](pod_startup_cdf.png)") ||
		!strings.Contains(string(summary), noteOfTheRun) {
		t.Errorf("summary.md:\n%s", summary)
	}
	// Written twice, the summary does not grow.
	if _, err := Write(dir); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(dir, results.SummaryFile))
	if string(again) != string(summary) {
		t.Error("a second report changed summary.md")
	}
}
