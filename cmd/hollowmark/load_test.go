package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hollowmark/hollowmark/results"
)

// smallLoad is the load scenario on five nodes with groups of 8, 4 and 2
// pods: 70 pods in the namespace, so one big, two medium and fifteen small
// Deployments, a StatefulSet of each size, a small and a medium Job (big
// Jobs only from 100 nodes, as ClusterLoader2), the DaemonSet.
var smallLoad = []string{"run", "--scenario", "load", "--nodes", "5", "--param", "podsPerNode=14", "--param", "bigGroupSize=8",
	"--param", "mediumGroupSize=4", "--param", "smallGroupSize=2", "--etcd-unsafe-no-fsync", "--start-latency", "20ms"}

func TestLoadCreatesScalesAndDeletesEveryKind(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results")
	code, stdout, stderr := hollowmark(t, append(smallLoad, "--run-dir", t.TempDir(), "--out", out)...)
	if code != results.ExitPassed {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	run, err := results.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if run.Partial || run.Error != "" || run.Scenario != "load" || fmt.Sprint(run.Parameters["nodes"]) != "5" {
		t.Fatalf("run record: scenario %s, partial %v, error %q, parameters %v", run.Scenario, run.Partial, run.Error, run.Parameters)
	}
	const (
		big, medium, small = 1, 2, 15 // Deployments, ConfigMaps, Secrets of each size
		services           = (big+1)/2 + (medium+1)/2 + (small+1)/2
		statefulSets       = 2 // a small and a medium, each with a headless Service
		jobs               = 2
		latencyPods        = 25 // five per node below 100 nodes
		throughputPods     = 50 // ten per node below 100 nodes
	)
	deployments := big + medium + small
	// Each workload is applied when created and again when scaled (its
	// size range changes), then deleted once; Services, ConfigMaps and
	// Secrets do not change. The latency Deployments (one pod each) and the
	// scheduler-throughput Deployment are created and deleted.
	want := map[string][2]int{ // resource -> APPLY, DELETE
		"deployments":  {2*deployments + latencyPods + 1, deployments + latencyPods + 1},
		"statefulsets": {2 * statefulSets, statefulSets},
		"daemonsets":   {2, 1},
		"jobs":         {2 * jobs, jobs},
		"services":     {services + statefulSets, services + statefulSets},
		"configmaps":   {deployments, deployments},
		"secrets":      {deployments, deployments},
	}
	got := clientCalls(t, out)
	for resource, w := range want {
		if g := [2]int{got["APPLY "+resource], got["DELETE "+resource]}; g != w {
			t.Errorf("%s: %d applied, %d deleted; want %d, %d", resource, g[0], g[1], w[0], w[1])
		}
	}
	if got["errors"] != 0 {
		t.Errorf("%d client calls failed", got["errors"])
	}
	checkLoadMeasurements(t, out, run, latencyPods, throughputPods)
}

// clientCalls counts the load generator's calls by "VERB resource", and
// failed calls as "errors".
func clientCalls(t *testing.T, dir string) map[string]int {
	t.Helper()
	rows, err := results.ReadCSV(filepath.Join(dir, "ClientAPICalls_client_calls.csv"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rows[1:] { // started, verb, resource, latency_ms, error
		if r[4] != "" {
			out["errors"]++
			continue
		}
		out[r[1]+" "+r[2]]++
	}
	return out
}

// checkLoadMeasurements finds pod startup over the latency pods, scheduler
// throughput over its pods, and the API's worst-window rows in summary.md.
func checkLoadMeasurements(t *testing.T, dir string, run *results.Run, latencyPods, throughputPods int) {
	t.Helper()
	startup := false
	for _, c := range run.Checks() {
		if c.SLO == "PodStartupLatency (stateless)" {
			startup = c.Measured.Count == latencyPods && c.Passed()
		}
	}
	if !startup {
		t.Errorf("no passing pod startup check over %d latency pods: %+v", latencyPods, run.Checks())
	}
	scheduled, err := results.ReadCSV(filepath.Join(dir, "SchedulingThroughput_scheduled_pods.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(scheduled)-1 != throughputPods {
		t.Errorf("scheduler throughput saw %d pods scheduled, want %d", len(scheduled)-1, throughputPods)
	}
	summary, err := os.ReadFile(filepath.Join(dir, results.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	// SLO rows, and the measurement's rows of the worst window (count,
	// resource, scope, slow count, span, subresource, verb).
	for _, row := range []string{
		`\| APIResponsiveness APPLY statefulsets \(resource\) \| p99 <= 1s \|`,
		`\| APIResponsiveness DELETE daemonsets \(resource\) \| p99 <= 1s \|`,
		`\| APIResponsiveness \| \d+ \| jobs \| resource \| \d+ \| worst 5m window \|  \| APPLY \|`,
		`\| APIResponsiveness \| \d+ \| configmaps \| resource \| \d+ \| worst 5m window \|  \| DELETE \|`,
	} {
		if !regexp.MustCompile(row).Match(summary) {
			t.Errorf("summary.md lacks a row matching %s", row)
		}
	}
}
