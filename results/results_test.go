package results

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPerfDataHasPerfDashShape(t *testing.T) {
	doc := NewPerfData(LatencyItem(1500*time.Microsecond, 2*time.Second, 4*time.Second, map[string]string{"Metric": "pod_startup"}))
	path := filepath.Join(t.TempDir(), "PodStartupLatency.json")
	if err := doc.Write(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"version": "v1",
		"dataItems": []any{map[string]any{
			"data":   map[string]any{"Perc50": 1.5, "Perc90": 2000.0, "Perc99": 4000.0},
			"unit":   "ms",
			"labels": map[string]any{"Metric": "pod_startup"},
		}},
	}
	if gotJSON, wantJSON := mustJSON(t, got), mustJSON(t, want); gotJSON != wantJSON {
		t.Errorf("got %s\nwant %s", gotJSON, wantJSON)
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestJUnitHasOneCasePerCheck(t *testing.T) {
	checks := []Check{
		{SLO: "PodStartupLatency (stateless)", Thresholds: Thresholds{P50: 5 * time.Second, P90: 5 * time.Second, P99: 5 * time.Second},
			Measured: Percentiles{Count: 500, P50: 800 * time.Millisecond, P90: time.Second, P99: 1200 * time.Millisecond}},
		{SLO: "APIResponsiveness PATCH pods/status (resource)", Thresholds: Thresholds{P99: time.Second},
			Measured: Percentiles{Count: 9000, P50: 20 * time.Millisecond, P90: 300 * time.Millisecond, P99: 1300 * time.Millisecond}},
		{SLO: "PodStartupLatency (stateful)", Thresholds: Thresholds{P99: 5 * time.Second}},
		{SLO: "NetworkProgrammingLatency", Skipped: "not supported by hollowmark"},
		{SLO: "APIResponsiveness GET pods (resource)", Thresholds: Thresholds{P99: time.Second}, NotEnforced: "enforce: false",
			Measured: Percentiles{Count: 9000, P50: 20 * time.Millisecond, P90: 300 * time.Millisecond, P99: 1300 * time.Millisecond}},
	}
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := WriteJUnit(path, "hollowmark density", checks, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got junitSuites
	if err := xml.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	s := got.Suites[0]
	if s.Name != "hollowmark density" || s.Tests != 5 || s.Failures != 2 || s.Skipped != 1 || s.Time != "90.000" || len(s.Cases) != 5 {
		t.Fatalf("suite %+v", s)
	}
	if s.Cases[0].Failure != nil || s.Cases[0].Name != "PodStartupLatency (stateless): p50, p90, p99 <= 5s" {
		t.Errorf("passing check: %+v", s.Cases[0])
	}
	if f := s.Cases[1].Failure; f == nil || f.Type != "SLOViolation" || f.Message != "APIResponsiveness PATCH pods/status (resource) violated: p99 = 1.3s > 1s over 9000 samples" {
		t.Errorf("violated check: %+v", s.Cases[1].Failure)
	}
	if f := s.Cases[2].Failure; f == nil {
		t.Error("a check without samples passed")
	}
	if c := s.Cases[3]; c.Failure != nil || c.Skipped == nil || c.Skipped.Message != "not supported by hollowmark" || c.Name != "NetworkProgrammingLatency" {
		t.Errorf("skipped check: %+v", c)
	}
	// Not enforced: the case passes, its output says why.
	if c := s.Cases[4]; c.Failure != nil || c.Skipped != nil || !strings.HasSuffix(c.SystemOut, "(not enforced: enforce: false)") {
		t.Errorf("check not enforced: %+v", c)
	}
	if !strings.Contains(string(data), `<skipped message="not supported by hollowmark"></skipped>`) {
		t.Errorf("junit.xml has no <skipped/> element:\n%s", data)
	}
}
