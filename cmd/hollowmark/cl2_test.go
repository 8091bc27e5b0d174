package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hollowmark/hollowmark/results"
)

// A ClusterLoader2-format config with modules, an overrides file and a
// CL2_ variable runs end to end: the overrides reach the objects, a
// cluster-scoped PriorityClass is created and deleted, the Deployments and
// ConfigMaps of a two-object bundle are created (POST, as CL2 does) and
// deleted, and the pod startup figures cover exactly their pods.
func TestClusterLoader2ConfigRunsEndToEnd(t *testing.T) {
	t.Setenv("CL2_DEPLOYMENTS_PER_NAMESPACE", "3")
	out := filepath.Join(t.TempDir(), "results")
	code, stdout, stderr := hollowmark(t, "run", "--scenario", "../../cl2/testdata/e2e/config.yaml",
		"--testoverrides", "../../cl2/testdata/e2e/overrides.yaml", "--nodes", "5", "--start-latency", "20ms",
		"--etcd-unsafe-no-fsync", "--run-dir", t.TempDir(), "--out", out)
	if code != results.ExitPassed {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	run, err := results.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if run.Scenario != "cl2-e2e" || run.Partial || run.Error != "" || run.Cluster.Nodes != 5 ||
		run.Parameters["PODS_PER_DEPLOYMENT"] != 3.0 || run.Parameters["Nodes"] != 5.0 {
		t.Errorf("run record: scenario %q, partial %v, error %q, nodes %d, parameters %v",
			run.Scenario, run.Partial, run.Error, run.Cluster.Nodes, run.Parameters)
	}
	// 3 Deployments (CL2_ environment) of 3 pods (overrides file).
	summary, err := os.ReadFile(filepath.Join(out, results.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\| PodStartupLatency \(stateless\) \| p50, p90, p99 <= 5s \|[^\n]* \| 9 \| [^|\n]* \| pass \|`).Match(summary) {
		t.Errorf("summary.md lacks pod startup over 9 pods:\n%s", summary)
	}
	// TestMetrics is not ours: a skipped check, in summary.md and junit.xml,
	// never a pass.
	if !strings.Contains(string(summary), "| TestMetrics |") || !strings.Contains(string(summary), "skipped: hollowmark has no TestMetrics (../../cl2/testdata/e2e/modules/measurements.yaml:19)") {
		t.Errorf("summary.md does not show TestMetrics skipped:\n%s", summary)
	}
	junit, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(junit), `skipped="1"`) || !strings.Contains(string(junit), `<testcase classname="hollowmark.slo" name="TestMetrics"`) ||
		!strings.Contains(string(junit), `<skipped message="hollowmark has no TestMetrics`) {
		t.Errorf("junit.xml does not skip TestMetrics:\n%s", junit)
	}
	calls, err := results.ReadCSV(filepath.Join(out, "ClientAPICalls_client_calls.csv"))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range calls[1:] {
		if r[4] == "" {
			count[r[1]+" "+r[2]]++
		}
	}
	want := map[string]int{"CREATE priorityclasses": 1, "DELETE priorityclasses": 1, "CREATE configmaps": 3,
		"CREATE deployments": 3, "DELETE configmaps": 3, "DELETE deployments": 3}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%d calls %s, want %d (all: %v)", count[k], k, n, count)
		}
	}
}
