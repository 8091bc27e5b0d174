package results

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckLimitAndVerdict(t *testing.T) {
	sec := time.Second
	measured := Percentiles{Count: 10, P50: 1 * sec, P90: 3 * sec, P99: 6 * sec}
	tests := []struct {
		name       string
		thresholds Thresholds
		measured   Percentiles
		limit      string
		passed     bool
	}{
		{"shared threshold", Thresholds{5 * sec, 5 * sec, 5 * sec}, measured, "p50, p90, p99 <= 5s", false},
		{"p99 only", Thresholds{P99: 6 * sec}, measured, "p99 <= 6s", true},
		{"own thresholds", Thresholds{P50: 2 * sec, P99: 10 * sec}, measured, "p50 <= 2s, p99 <= 10s", true},
		{"p90 over", Thresholds{P90: 2 * sec}, measured, "p90 <= 2s", false},
		{"no samples", Thresholds{P99: time.Hour}, Percentiles{}, "p99 <= 1h0m0s", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Check{SLO: "X", Thresholds: tt.thresholds, Measured: tt.measured}
			if got := c.Limit(); got != tt.limit {
				t.Errorf("limit %q, want %q", got, tt.limit)
			}
			if c.Passed() != tt.passed {
				t.Errorf("passed %v, want %v (%s)", c.Passed(), tt.passed, c.Verdict())
			}
		})
	}
}

func TestRunWritesItsResultsDirectory(t *testing.T) {
	start := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	r := &Run{ID: "tiny-1", Scenario: "tiny", Parameters: map[string]any{"nodes": 3}, Started: start, Ended: start.Add(time.Minute),
		Files: map[string][]byte{"scenario.yaml": []byte("name: tiny\n")}}
	r.Add("PodStartupLatency", "PodStartupLatency", &Summary{
		Checks: []Check{{SLO: "PodStartupLatency (stateless)", Thresholds: Thresholds{P99: 5 * time.Second},
			Measured: Percentiles{Count: 2, P50: 1500 * time.Microsecond, P90: 6 * time.Second, P99: 6 * time.Second}}},
		PerfData: NewPerfData(LatencyItem(time.Millisecond, 2*time.Millisecond, 3*time.Millisecond, map[string]string{"Metric": "pod_startup"})),
		Tables:   map[string][][]string{"pods.csv": {{"name"}, {"a"}, {"b"}}},
	})
	// The same identifier gathered again gets files of its own.
	r.Add("Again", "APIResponsiveness", &Summary{PerfData: NewPerfData(), Tables: map[string][][]string{"api_calls.csv": {{"verb"}}}})
	r.Add("Again", "APIResponsiveness", &Summary{PerfData: NewPerfData(), Tables: map[string][][]string{"api_calls.csv": {{"verb"}}}})
	dir := t.TempDir()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"run.json", "summary.md", "junit.xml", "PodStartupLatency.json", "PodStartupLatency_pods.csv", "scenario.yaml",
		"Again.json", "Again_api_calls.csv", "Again-2.json", "Again-2_api_calls.csv"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	rows, err := ReadCSV(filepath.Join(dir, "PodStartupLatency_pods.csv"))
	if err != nil || len(rows) != 3 {
		t.Errorf("pods.csv rows %v, %v", rows, err)
	}
	summary, _ := os.ReadFile(filepath.Join(dir, "summary.md"))
	for _, want := range []string{"# tiny-1: FAIL", "| PodStartupLatency (stateless) | p99 <= 5s | 1.5ms | 6s | 6s | 2 | **FAIL** |",
		"| pod_startup | 1.000 | 2.000 | 3.000 | ms |", "Raw data: PodStartupLatency.json, PodStartupLatency_pods.csv"} {
		if !strings.Contains(string(summary), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, summary)
		}
	}
	back, err := ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.ExitCode() != ExitViolated || len(back.Checks()) != 1 || back.Checks()[0].Measured.P50 != 1500*time.Microsecond {
		t.Errorf("read back %+v", back)
	}
	if again := back.Markdown(); again != string(summary) {
		t.Errorf("summary of the run read back differs:\n%s\nwant\n%s", again, summary)
	}
	r.Error = "interrupted"
	if r.ExitCode() != ExitFailed {
		t.Errorf("failed run exits %d", r.ExitCode())
	}
}

// TestSkippedChecksAreNeitherHeldNorViolated: a run with a skipped check
// passes on its other checks, and says the skipped one apart.
func TestSkippedChecksAreNeitherHeldNorViolated(t *testing.T) {
	held := Check{SLO: "PodStartupLatency (stateless)", Thresholds: Thresholds{P99: 5 * time.Second},
		Measured: Percentiles{Count: 3, P50: time.Second, P90: time.Second, P99: time.Second}}
	violated := held
	violated.SLO, violated.Measured.P99 = "PodStartupLatency (stateful)", 6*time.Second
	skipped := Check{SLO: "NetworkProgrammingLatency", Skipped: "not supported by hollowmark"}
	tests := []struct {
		name    string
		checks  []Check
		exit    int
		outcome string
		rows    []string // in order
	}{
		{"held and skipped", []Check{skipped, held}, ExitPassed, "all 1 SLO checks held, 1 skipped (not supported)",
			[]string{"| NetworkProgrammingLatency | – | | | | | skipped: not supported by hollowmark |", "| PodStartupLatency (stateless) |"}},
		{"violated and skipped", []Check{held, skipped, violated}, ExitViolated, "1 of 2 SLO checks violated, 1 skipped (not supported)",
			[]string{"| PodStartupLatency (stateful) |", "| NetworkProgrammingLatency |", "| PodStartupLatency (stateless) |"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Run{ID: "x"}
			r.Add("m", "m", &Summary{Checks: tt.checks, PerfData: NewPerfData()})
			if r.ExitCode() != tt.exit || r.Skipped() != 1 {
				t.Errorf("exit %d, skipped %d", r.ExitCode(), r.Skipped())
			}
			md := r.Markdown()
			if !strings.Contains(md, "| result | "+tt.outcome+" |") {
				t.Errorf("summary lacks outcome %q:\n%s", tt.outcome, md)
			}
			at := 0
			for _, row := range tt.rows {
				i := strings.Index(md[at:], row)
				if i < 0 {
					t.Fatalf("summary lacks %q after offset %d:\n%s", row, at, md)
				}
				at += i
			}
		})
	}
}
