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
	for _, want := range []string{"# tiny-1: FAIL", "| PodStartupLatency (stateless) | p99 <= 5s | 1.5ms | 6s | 6s | 2 | p99 at 120% | **FAIL** |",
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
	reported := violated
	reported.SLO, reported.NotEnforced = "APIResponsiveness GET pods (resource)", "enforce: false"
	tests := []struct {
		name    string
		checks  []Check
		exit    int
		outcome string
		rows    []string // in order
	}{
		{"held and skipped", []Check{skipped, held}, ExitPassed, "all 1 SLO checks held, 1 skipped (not supported)",
			[]string{"| NetworkProgrammingLatency | – | | | | | | skipped: not supported by hollowmark |", "| PodStartupLatency (stateless) |"}},
		{"violated and skipped", []Check{held, skipped, violated}, ExitViolated, "1 of 2 SLO checks violated, 1 skipped (not supported)",
			[]string{"| PodStartupLatency (stateful) |", "| NetworkProgrammingLatency |", "| PodStartupLatency (stateless) |"}},
		// A violation not enforced is shown after the enforced ones and
		// changes no verdict.
		{"not enforced", []Check{held, reported, skipped}, ExitPassed, "1 of 2 SLO checks held, 1 violated but not enforced, 1 skipped (not supported)",
			[]string{"| APIResponsiveness GET pods (resource) |", "violated, not enforced (enforce: false) |", "| NetworkProgrammingLatency |", "| PodStartupLatency (stateless) |"}},
		{"violated and not enforced", []Check{reported, violated, held, skipped}, ExitViolated, "1 of 3 SLO checks violated, 1 violated but not enforced, 1 skipped (not supported)",
			[]string{"| PodStartupLatency (stateful) |", "**FAIL** |", "| APIResponsiveness GET pods (resource) |", "| NetworkProgrammingLatency |"}},
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

// TestVerdictsWithinNoise: a check whose threshold lies inside the
// confidence interval of its percentile says so in its row and in a
// warning under the table, whichever way it went; one clear of it does not.
func TestVerdictsWithinNoise(t *testing.T) {
	ci := func(low, high time.Duration, open bool) *Intervals {
		return &Intervals{P99: Interval{Low: low, High: high, Open: open}}
	}
	check := func(p99 time.Duration, iv *Intervals) Check {
		return Check{SLO: "APIResponsiveness PATCH pods/status (resource)", Thresholds: Thresholds{P99: time.Second},
			Measured: Percentiles{Count: 11420, P50: 60 * time.Millisecond, P90: 200 * time.Millisecond, P99: p99}, Intervals: iv}
	}
	tests := []struct {
		name    string
		check   Check
		row     string
		warning string // "" for none
	}{
		{"clear pass", check(400*time.Millisecond, ci(350*time.Millisecond, 450*time.Millisecond, false)),
			"| 11420 | p99 at 40% (95% CI 35–45%) | pass |", ""},
		{"pass within noise", check(950*time.Millisecond, ci(900*time.Millisecond, 1100*time.Millisecond, false)),
			"| 11420 | p99 at 95% (95% CI 90–110%) | pass (within noise) |",
			"held by less than its noise over 11420 samples: p99 = 950ms, 95% CI 900ms to 1.1s, threshold 1s"},
		{"failure within noise", check(1070*time.Millisecond, ci(930*time.Millisecond, 1200*time.Millisecond, false)),
			"| 11420 | p99 at 107% (95% CI 93–120%) | **FAIL** (within noise) |",
			"was violated by less than its noise over 11420 samples: p99 = 1.07s, 95% CI 930ms to 1.2s"},
		{"clear failure", check(1500*time.Millisecond, ci(1300*time.Millisecond, 1700*time.Millisecond, false)),
			"| 11420 | p99 at 150% (95% CI 130–170%) | **FAIL** |", ""},
		{"too few samples to bound", check(400*time.Millisecond, ci(300*time.Millisecond, 500*time.Millisecond, true)),
			"| 11420 | p99 at 40% (95% CI 30–?) | pass |", ""},
		{"failure on too few samples", check(1200*time.Millisecond, ci(900*time.Millisecond, 1300*time.Millisecond, true)),
			"| 11420 | p99 at 120% (95% CI 90–?) | **FAIL** (within noise) |", "95% CI 900ms to unbounded (too few samples)"},
		{"no intervals recorded", check(400*time.Millisecond, nil), "| 11420 | p99 at 40% | pass |", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Run{ID: "x"}
			r.Add("m", "m", &Summary{Checks: []Check{tt.check}, PerfData: NewPerfData()})
			table := r.VerdictTable()
			if !strings.Contains(table, tt.row) {
				t.Errorf("table lacks %q:\n%s", tt.row, table)
			}
			if got := strings.Contains(table, "**warning**"); got != (tt.warning != "") || !strings.Contains(table, tt.warning) {
				t.Errorf("warning %v, want %q:\n%s", got, tt.warning, table)
			}
			few := tt.check.Intervals != nil && tt.check.Intervals.P99.Open && tt.check.Passed()
			if got := strings.Contains(table, "Too few samples to bound the percentile from above"); got != few {
				t.Errorf("too-few-samples note %v, want %v:\n%s", got, few, table)
			}
		})
	}
}

// TestChecksNameTheirIdentifier: one method gathered under two
// identifiers (ClusterLoader2's APIResponsivenessPrometheus and …Simple)
// gives checks told apart by the identifier; a method under its own name
// keeps the plain SLO name.
func TestChecksNameTheirIdentifier(t *testing.T) {
	check := Check{SLO: "APIResponsiveness GET pods (resource)", Thresholds: Thresholds{P99: time.Second},
		Measured: Percentiles{Count: 3, P50: time.Millisecond, P90: time.Millisecond, P99: 2 * time.Second}}
	r := &Run{ID: "x"}
	for _, id := range []string{"APIResponsiveness", "APIResponsivenessPrometheusSimple"} {
		r.Add(id, "APIResponsiveness", &Summary{Checks: []Check{check}, PerfData: NewPerfData()})
	}
	r.Add("TestMetrics", "Unsupported", &Summary{Checks: []Check{{SLO: "TestMetrics", Skipped: "not supported"}}, PerfData: NewPerfData()})
	if c := r.Checks()[2]; c.Name() != "TestMetrics" {
		t.Errorf("an unsupported measurement's check is named %q", c.Name())
	}
	md := r.Markdown()
	for _, row := range []string{"| APIResponsiveness GET pods (resource) | p99", "| APIResponsiveness GET pods (resource) [APIResponsivenessPrometheusSimple] | p99"} {
		if !strings.Contains(md, row) {
			t.Errorf("summary lacks %q:\n%s", row, md)
		}
	}
	if v := r.Checks()[1].Verdict(); !strings.HasPrefix(v, "APIResponsiveness GET pods (resource) [APIResponsivenessPrometheusSimple] violated") {
		t.Errorf("verdict %q", v)
	}
}
