package analysis

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hollowmark/hollowmark/measurements"
	"github.com/hollowmark/hollowmark/results"
)

func writeRun(t *testing.T, tables map[string]map[string][][]string) string {
	t.Helper()
	return writeRunDefined(t, tables, nil)
}

// writeRunDefined writes a results directory whose measurements have the
// given tables and definitions, by method.
func writeRunDefined(t *testing.T, tables map[string]map[string][][]string, defs map[string]map[string]string) string {
	t.Helper()
	start := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	r := &results.Run{ID: "x-1", Scenario: "x", Started: start, Ended: start.Add(time.Minute)}
	for _, method := range []string{"PodStartupLatency", "APIResponsiveness", "SchedulingThroughput", "ResourceUsage"} {
		if tables[method] != nil {
			r.Add(method, method, &results.Summary{PerfData: results.NewPerfData(), Tables: tables[method], Definitions: defs[method]})
		}
	}
	dir := t.TempDir()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLoadReadsEveryTable reads tables as written before watch times and
// windows: the per-pod times are the API's, and the run's definition is api.
func TestLoadReadsEveryTable(t *testing.T) {
	dir := writeRun(t, map[string]map[string][][]string{
		"PodStartupLatency": {"pods.csv": {
			{"namespace", "name", "uid", "node", "stateless", "created", "scheduled", "run", "watch", "kubelet_seen", "kubelet_sandbox_ready", "kubelet_containers_started", "kubelet_running", "kubelet_status_posted"},
			{"ns", "p0", "u0", "n0", "true", "2026-11-22T01:00:00Z", "2026-11-22T01:00:01Z", "2026-11-22T01:00:01Z", "2026-11-22T01:00:01.5Z", "2026-11-22T01:00:01.1Z", "", "2026-11-22T01:00:01.2Z", "2026-11-22T01:00:01.3Z", "2026-11-22T01:00:01.4Z"},
			{"ns", "p1", "u1", "", "false", "2026-11-22T01:00:00Z", "", "", "", "", "", "", "", ""},
		}},
		"APIResponsiveness": {
			"api_calls.csv": {{"verb", "group", "version", "resource", "subresource", "scope", "count", "slow", "p50_ms", "p90_ms", "p99_ms", "threshold_ms"},
				{"GET", "", "v1", "pods", "", "resource", "10", "0", "25.000", "45.000", "49.500", "1000.000"},
				{"POST", "events.k8s.io", "v1", "events", "", "namespace", "3", "0", "25.000", "45.000", "49.500", "1000.000"}},
			"api_buckets.csv": {{"verb", "group", "version", "resource", "subresource", "scope", "le_seconds", "cumulative_count"},
				{"GET", "", "v1", "pods", "", "resource", "0.05", "10"}, {"GET", "", "v1", "pods", "", "resource", "+Inf", "10"}},
		},
		"SchedulingThroughput": {
			"scheduled_pods.csv":        {{"namespace", "name", "uid", "scheduled"}, {"ns", "p0", "u0", "2026-11-22T01:00:01Z"}},
			"scheduling_throughput.csv": {{"interval_start", "interval_end", "pods", "pods_per_second"}, {"2026-11-22T01:00:01Z", "2026-11-22T01:00:02Z", "1", "1"}},
		},
		"ResourceUsage": {"resource_usage.csv": {{"time", "component", "pid", "cpu_seconds_total", "rss_bytes", "cpu_cores"},
			{"2026-11-22T01:00:00Z", "etcd", "7", "1.5", "1048576", ""}, {"2026-11-22T01:00:05Z", "etcd", "7", "2", "2097152", "0.1"}}},
	})
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Pods) != 2 || !r.Pods[0].Stateless || r.Pods[1].Stateless {
		t.Fatalf("pods %+v", r.Pods)
	}
	if r.PodTimestamps != measurements.APITimes {
		t.Errorf("results from before the choice have definition %q, want api", r.PodTimestamps)
	}
	if d, ok := r.Pods[0].Startup(r.PodTimestamps); !ok || d != 1500*time.Millisecond {
		t.Errorf("startup %v %v", d, ok)
	}
	if _, ok := r.Pods[1].Startup(r.PodTimestamps); ok {
		t.Error("a pod never running has a startup latency")
	}
	if got := r.Pods[0].ContainersStarted.Sub(r.Pods[0].KubeletSeen); got != 100*time.Millisecond {
		t.Errorf("probes %v", got)
	}
	want := measurements.CallKind{Verb: "GET", Resource: "pods", Scope: "resource"}
	if len(r.APICalls) != 2 || r.APICalls[0].Kind != want || r.APICalls[0].P99 != 49500*time.Microsecond ||
		len(r.APICalls[0].Histogram.Buckets) != 2 || r.APICalls[0].Histogram.Count != 10 {
		t.Errorf("api calls %+v", r.APICalls)
	}
	if q := r.APICalls[0].Histogram.Quantile(0.99); q != 49500*time.Microsecond {
		t.Errorf("quantile from the loaded buckets %v", q)
	}
	// Before call kinds were CL2's, each API group had its rows: they stay apart.
	if got := r.APICalls[1].Kind.Resource; got != "events.events.k8s.io" {
		t.Errorf("an old row of group events.k8s.io reads as resource %q", got)
	}
	if len(r.Scheduled) != 1 || len(r.Throughput) != 1 || r.Throughput[0].PerSecond != 1 {
		t.Errorf("throughput %+v %+v", r.Scheduled, r.Throughput)
	}
	if len(r.Usage) != 2 || r.Usage[0].HasCPU || !r.Usage[1].HasCPU || r.Usage[1].CPUCores != 0.1 || r.Usage[1].RSSBytes != 2097152 {
		t.Errorf("usage %+v", r.Usage)
	}
}

func TestLoadReadsWatchTimesAndWindows(t *testing.T) {
	dir := writeRunDefined(t, map[string]map[string][][]string{
		"PodStartupLatency": {"pods.csv": {
			{"namespace", "name", "uid", "node", "stateless", "watch_created", "watch_scheduled", "watch_running", "api_created", "api_scheduled", "api_run"},
			{"ns", "p0", "u0", "n0", "true", "2026-11-22T01:00:00.4Z", "2026-11-22T01:00:00.5Z", "2026-11-22T01:00:00.7Z", "2026-11-22T01:00:00Z", "2026-11-22T01:00:00Z", "2026-11-22T01:00:00Z"},
		}},
		"APIResponsiveness": {"api_calls.csv": {
			{"span", "window_start", "window_end", "verb", "resource", "subresource", "scope", "count", "slow", "p50_ms", "p90_ms", "p99_ms", "threshold_ms"},
			{"worst_window", "2026-11-22T01:00:00Z", "2026-11-22T01:05:00Z", "GET", "pods", "", "resource", "4", "0", "30.000", "60.000", "90.000", "1000.000"},
			{"whole_run", "2026-11-22T01:00:00Z", "2026-11-22T01:09:00Z", "GET", "pods", "", "resource", "10", "0", "25.000", "45.000", "49.500", "1000.000"},
		}},
	}, map[string]map[string]string{"PodStartupLatency": {"timestampSource": "watch"}})
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.PodTimestamps != measurements.WatchTimes {
		t.Errorf("definition %q, want watch", r.PodTimestamps)
	}
	if d, ok := r.Pods[0].Startup(r.PodTimestamps); !ok || d != 300*time.Millisecond {
		t.Errorf("watch startup %v %v, want 300ms", d, ok)
	}
	if d, _ := r.Pods[0].Startup(measurements.APITimes); d != 700*time.Millisecond {
		t.Errorf("api startup %v, want 700ms", d)
	}
	if len(r.APICalls) != 1 || r.APICalls[0].Count != 10 || len(r.APIWorst) != 1 || r.APIWorst[0].P99 != 90*time.Millisecond ||
		r.APIWorst[0].End.Sub(r.APIWorst[0].Start) != 5*time.Minute {
		t.Errorf("whole run %+v, worst %+v", r.APICalls, r.APIWorst)
	}
}

func TestLoadNamesTheBadCell(t *testing.T) {
	dir := writeRun(t, map[string]map[string][][]string{"ResourceUsage": {"resource_usage.csv": {
		{"time", "component", "pid", "cpu_seconds_total", "rss_bytes", "cpu_cores"},
		{"2026-11-22T01:00:00Z", "etcd", "7", "lots", "1", ""}}}})
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "ResourceUsage_resource_usage.csv: line 2, column cpu_seconds_total") {
		t.Errorf("error %v", err)
	}
}

func TestLoadOfAMissingDirectory(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v", err)
	}
}
