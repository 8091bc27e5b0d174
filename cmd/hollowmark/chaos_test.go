package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hollowmark/hollowmark/results"
)

// A ClusterLoader2 config with the chaos monkey on runs: one of its 5
// hollow nodes fails about 20 s in, goes NotReady through the node
// lifecycle controller, reboots after its 60 s downtime and is Ready
// again; the events CSV, summary.md, run.json and the NotReady record say
// so, and name the NotReady node as failed on purpose.
func TestChaosMonkeyFailsAndRebootsAHollowNode(t *testing.T) {
	// Mostly waiting (a minute of downtime): it runs beside the other
	// waiting test, each with a control plane of its own.
	t.Parallel()
	out := filepath.Join(t.TempDir(), "results")
	code, stdout, stderr := hollowmark(t, "run", "--scenario", "../../cl2/testdata/chaos/config.yaml", "--nodes", "5",
		"--start-latency", "20ms", "--etcd-unsafe-no-fsync", "--seed", "3", "--run-dir", t.TempDir(), "--out", out)
	if code != results.ExitPassed {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	rows, err := results.ReadCSV(filepath.Join(out, results.NodeFailuresFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[1][1] != results.ActionStopServices || rows[2][1] != results.ActionRebootNode || rows[1][2] != rows[2][2] {
		t.Fatalf("%s: %v, want one node failed, then rebooted", results.NodeFailuresFile, rows)
	}
	node := rows[1][2]
	failed, err1 := time.Parse(time.RFC3339Nano, rows[1][0])
	rebooted, err2 := time.Parse(time.RFC3339Nano, rows[2][0])
	if err1 != nil || err2 != nil || rebooted.Sub(failed) < 60*time.Second {
		t.Errorf("failed at %s, rebooted at %s: want the 60 s downtime between (%v, %v)", rows[1][0], rows[2][0], err1, err2)
	}
	run, err := results.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if nf := run.NodeFailures; nf == nil || nf.Failed != 1 || nf.Rebooted != 1 {
		t.Errorf("run.json node failures %+v", nf)
	}
	nr := run.NodeReadiness
	if nr == nil || len(nr.FailedOnPurpose) != 1 || nr.FailedOnPurpose[0] != node || len(nr.NotOnPurpose) != 0 {
		t.Fatalf("run.json node readiness %+v: want %s NotReady, failed on purpose, and no other", nr, node)
	}
	tr := nr.Transitions[0]
	if tr.Node != node || tr.Status != "Unknown" || tr.ReadyAgain == nil || tr.ReadyAgain.Before(rebooted) {
		t.Errorf("transition %+v: want %s Unknown, Ready again after the reboot at %s", tr, node, rebooted)
	}
	summary, err := os.ReadFile(filepath.Join(out, results.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| node failures | 1 node failed on purpose, 1 rebooted: " + node + " (" + results.NodeFailuresFile + ") |",
		"(failed on purpose: " + node + "; not failed on purpose: none)",
	} {
		if !strings.Contains(string(summary), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, summary)
		}
	}
}

// Node failures need hollow nodes of this process: on an attached
// cluster's own nodes the run refuses before it starts.
func TestChaosMonkeyNeedsHollowNodes(t *testing.T) {
	code, _, stderr := hollowmark(t, "run", "--scenario", "../../cl2/testdata/chaos/config.yaml", "--nodes", "0",
		"--kubeconfig", filepath.Join(t.TempDir(), "none"), "--out", t.TempDir())
	if code != 2 || !strings.Contains(stderr, "chaos.nodeFailure fails hollow nodes this process runs, and this run starts none") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}
