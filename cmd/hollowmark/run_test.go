package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/internal/testenv"
	"github.com/hollowmark/hollowmark/measurements"
	"github.com/hollowmark/hollowmark/results"
	"github.com/hollowmark/hollowmark/runner"
)

// smallDensity keeps the density scenario small enough for a test: five
// nodes, ten saturation pods, 25 latency pods.
var smallDensity = []string{"run", "--scenario", "density", "--param", "podsPerNode=2", "--param", "podsPerDeployment=2", "--etcd-unsafe-no-fsync"}

// hollowmark runs the built binary and returns its exit code and output.
func hollowmark(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.BinDir(t), "hollowmark"), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running hollowmark: %v", err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

func TestDensityWithFastRuntimeHoldsTheSLOs(t *testing.T) {
	out, runDir := filepath.Join(t.TempDir(), "results"), t.TempDir()
	code, stdout, stderr := hollowmark(t, append(slices.Clone(smallDensity), "--nodes", "5", "--start-latency", "20ms",
		"--run-dir", runDir, "--out", out)...)
	if code != results.ExitPassed {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	testenv.CheckNoCredentials(t, runDir, out)
	if !strings.Contains(stdout, "PASS") || !strings.Contains(stdout, "| PodStartupLatency (stateless) |") || !strings.Contains(stdout, "results: "+out) {
		t.Errorf("stdout lacks the verdict table or the results directory:\n%s", stdout)
	}
	run, err := results.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if run.Partial || run.Error != "" || run.Cluster.Nodes != 5 || fmt.Sprint(run.Parameters["nodes"]) != "5" || run.Cluster.ServerVersion != controlplane.KubernetesVersion {
		t.Errorf("run record %+v", run)
	}
	if nr := run.NodeReadiness; nr == nil || nr.Count != 0 || !strings.Contains(stdout, "Nodes: no node went NotReady") {
		t.Errorf("node readiness %+v; terminal:\n%s", nr, stdout)
	}
	for _, f := range []string{"scenario.yaml", controlplane.RecordFile, "PodStartupLatency.json", "APIResponsiveness_api_calls.csv", results.NotReadyFile,
		"SchedulingThroughput_scheduled_pods.csv", "ResourceUsage_resource_usage.csv", "ClientAPICalls_client_calls.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("results lack %s: %v", f, err)
		}
	}
	usage, err := results.ReadCSV(filepath.Join(out, "ResourceUsage_resource_usage.csv"))
	if err != nil {
		t.Fatal(err)
	}
	apiserverSamples := 0
	for _, r := range usage[1:] {
		if r[1] == controlplane.APIServer {
			apiserverSamples++
		}
	}
	if apiserverSamples < 3 {
		t.Errorf("%d samples of the API server's resource usage, want one per 5s of the run", apiserverSamples)
	}
	checkJUnit(t, out, len(run.Checks()))
	recomputePodStartup(t, out, run)
}

func checkJUnit(t *testing.T, dir string, checks int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Tests int `xml:"tests,attr"`
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Tests != checks || len(doc.Suites[0].Cases) != checks {
		t.Errorf("junit.xml has %+v, want one case per each of %d checks", doc, checks)
	}
}

// recomputePodStartup derives pod startup percentiles from the per-pod CSV
// alone and finds them in run.json and summary.md.
func recomputePodStartup(t *testing.T, dir string, run *results.Run) {
	t.Helper()
	rows, err := results.ReadCSV(filepath.Join(dir, "PodStartupLatency_pods.csv"))
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var samples []time.Duration
	for _, r := range rows[1:] {
		// Pod startup from watch receive times, as ClusterLoader2: from
		// the first event seen for the pod to the first showing it Running.
		if r[col["stateless"]] != "true" || r[col["watch_running"]] == "" {
			continue
		}
		created, err1 := time.Parse(time.RFC3339Nano, r[col["watch_created"]])
		watched, err2 := time.Parse(time.RFC3339Nano, r[col["watch_running"]])
		if err1 != nil || err2 != nil {
			t.Fatalf("row %v: %v %v", r, err1, err2)
		}
		samples = append(samples, watched.Sub(created))
	}
	want, err := measurements.NearestRank(samples)
	if err != nil {
		t.Fatal(err)
	}
	if want.Count != 25 {
		t.Errorf("%d latency pods ran, want 25", want.Count)
	}
	var got *results.Check
	for _, c := range run.Checks() {
		if c.SLO == "PodStartupLatency (stateless)" {
			got = &c
		}
	}
	if got == nil || got.Measured != want {
		t.Fatalf("run.json reports %+v, recomputed from the CSV %+v", got, want)
	}
	summary, err := os.ReadFile(filepath.Join(dir, results.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	row := "| PodStartupLatency (stateless) | p50, p90, p99 <= 5s | " + results.FormatDuration(want.P50) + " | " +
		results.FormatDuration(want.P90) + " | " + results.FormatDuration(want.P99) + " | 25 | " + got.Closeness() +
		" | pass |"
	if !strings.Contains(string(summary), "Too few samples to bound the percentile from above") { // 25 cannot bound a p99
		t.Errorf("summary.md lacks the warning that 25 samples cannot bound the p99:\n%s", summary)
	}
	if !strings.Contains(string(summary), row) {
		t.Errorf("summary.md lacks %q:\n%s", row, summary)
	}
}

func TestDensityWithSlowRuntimeViolatesPodStartup(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results")
	code, stdout, stderr := hollowmark(t, append(slices.Clone(smallDensity), "--nodes", "5", "--start-latency", "6s",
		"--run-dir", t.TempDir(), "--out", out)...)
	if code != results.ExitViolated {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	run, err := results.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range run.Checks() {
		violated := !c.Passed()
		if strings.HasPrefix(c.SLO, "PodStartupLatency (stateless)") != violated {
			t.Errorf("%s: passed %v", c.Verdict(), c.Passed())
		}
		if violated && c.Measured.P50 < 6*time.Second {
			t.Errorf("pod startup p50 %s with a 6s container start", c.Measured.P50)
		}
	}
}

// SIGTERM, as a CI job's timeout sends, is handled as Ctrl-C.
func TestInterruptedRunKeepsPartialResults(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			out, runDir := filepath.Join(t.TempDir(), "results"), t.TempDir()
			c := startHollowmark(t, append(slices.Clone(smallDensity), "--nodes", "5",
				"--start-latency", "6s", "--run-dir", runDir, "--out", out)...)
			// Interrupt while the latency pods are being waited for: pod
			// startup is started and not gathered.
			c.waitFor(t, "step 8 of 12", 4*time.Minute)
			if err := c.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code, terminal := c.wait(t, 4*time.Minute); code != results.ExitFailed {
				t.Errorf("interrupted run exited %d, want 2:\n%s", code, terminal)
			}
			run, err := results.ReadRun(out)
			if err != nil {
				t.Fatalf("no results after %s: %v", sig, err)
			}
			if !run.Partial || !strings.Contains(run.Error, "interrupted") {
				t.Errorf("run not marked partial: partial %v, error %q", run.Partial, run.Error)
			}
			partial := false
			for _, c := range run.Checks() {
				partial = partial || c.SLO == "PodStartupLatency (stateless)" && c.Partial
			}
			if !partial {
				t.Errorf("pod startup not gathered as partial: %+v", run.Checks())
			}
			record, err := controlplane.ReadRecord(runDir)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range record.Components {
				waitGone(t, c.Name, c.PID)
			}
		})
	}
}

func TestDensityOnAnAttachedClusterWithItsOwnNodes(t *testing.T) {
	_, _, kubeconfig := runUp(t, "--nodes", "5")
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	// A namespace a killed run left behind.
	stale := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "density-stale", Labels: map[string]string{
		runner.OwnerLabel: runner.OwnerValue, runner.RunLabel: "killed-run"}}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, stale, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "results")
	code, stdout, stderr := hollowmark(t, append(slices.Clone(smallDensity), "--kubeconfig", kubeconfig, "--nodes", "0",
		"--start-latency", "20ms", "--run-dir", t.TempDir(), "--out", out)...)
	if code != results.ExitPassed {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	run, err := results.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if run.Cluster.Mode != "attached" || run.Cluster.Nodes != 5 || run.Cluster.HollowNodes != 0 {
		t.Errorf("cluster %+v", run.Cluster)
	}
	left, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: runner.OwnerLabel + "=" + runner.OwnerValue})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Items) != 0 {
		t.Errorf("namespaces left behind: %v", left.Items)
	}
}
