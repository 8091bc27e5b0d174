package benchpeers

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hollowmark/hollowmark/internal/testenv"
)

// kwokBinDir is the binary directory with kwok and its stages, or a skip:
// `make test-peers` builds them first and sets HOLLOWMARK_PEERS=1, under
// which their absence fails. make test does not build kwok (its first
// build takes 5 CPU-minutes), so there the test runs only if it is there.
func kwokBinDir(t *testing.T) string {
	t.Helper()
	dir := testenv.BinDir(t)
	for _, name := range []string{kwokBinary, kwokStages} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			if os.Getenv("HOLLOWMARK_PEERS") == "1" {
				t.Fatalf("HOLLOWMARK_PEERS=1: %s missing from %s: make kwok builds it", name, dir)
			}
			t.Skipf("%s missing from %s: run `make test-peers` (it builds kwok) to run the side-by-side benchmark's test", name, dir)
		}
	}
	return dir
}

// The whole benchmark at the smallest scale, against real control planes:
// both emulators get their nodes Ready, run and delete the pods, and every
// row, the timelines and the result files come out.
func TestBenchEndToEnd(t *testing.T) {
	binDir := kwokBinDir(t)
	const nodes, pods = 5, 20
	out, runDir := t.TempDir(), t.TempDir()
	o := Options{Emulators: []string{Hollowmark, KWOK}, Repeats: 1, Nodes: nodes, Pods: pods, OutDir: out, RunDir: runDir,
		BinDir: binDir, EtcdUnsafeNoFsync: true, Settle: 0, Idle: 2 * time.Second, NodesTimeout: 2 * time.Minute,
		PodsTimeout: 2 * time.Minute, Interval: time.Second, Logger: zaptest.NewLogger(t)}
	rep, err := Bench(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Interrupted || len(rep.Runs) != 2 || len(rep.Failed()) != 0 {
		t.Fatalf("runs %+v", rep.Runs)
	}
	for i, want := range []string{"1-hollowmark", "2-kwok"} {
		run := rep.Runs[i]
		if run.ID != want || run.Partial {
			t.Errorf("run %d: %s partial=%v (%s)", i, run.ID, run.Partial, run.Err)
		}
		for _, row := range Rows {
			if _, ok := run.Values[row.Key]; !ok {
				t.Errorf("%s: no %s", run.ID, row.Key)
			}
		}
		for _, key := range []string{RowNodesReady, RowEmulatorRSS, RowAPIServerRSS, RowPodsRunning, RowPodsDeleted, RowEmulatorWatches} {
			if run.Values[key] <= 0 {
				t.Errorf("%s: %s = %v", run.ID, key, run.Values[key])
			}
		}
		checkTimeline(t, filepath.Join(runDir, run.ID), pods)
	}
	// Each hollow node holds watches of its own (its pods, its Node,
	// Services, ... for the kubelet and the proxy); KWOK shares a few.
	h, k := rep.Runs[0].Values[RowEmulatorWatches], rep.Runs[1].Values[RowEmulatorWatches]
	if h < 5*nodes || k >= h {
		t.Errorf("emulators' watches: hollowmark %v, KWOK %v; want hollowmark's at least 5 per node and KWOK's fewer", h, k)
	}
	for _, name := range []string{RunsCSV, SummaryCSV, SummaryMD, SummaryPNG, NotReadyCSV} {
		if info, err := os.Stat(filepath.Join(out, name)); err != nil || info.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	if !strings.Contains(rep.Table, "| pods to Running (s) |") || !strings.Contains(rep.Table, "too few runs") {
		t.Errorf("table:\n%s", rep.Table)
	}
	testenv.CheckNoCredentials(t, filepath.Join(runDir, "1-hollowmark", "controlplane"), out)
}

// checkTimeline reads a run's timeline: the pods were seen created, bound
// and Running, and the API server's CPU and metrics were sampled.
func checkTimeline(t *testing.T, dir string, pods int) {
	t.Helper()
	records := readCSV(t, filepath.Join(dir, TimelineCSV))
	col := map[string]int{}
	for i, c := range records[0] {
		col[c] = i
	}
	for _, c := range []string{colCreated, colBound, colRunning, colExisting, "cpu_cores:kube-apiserver", "cpu_cores:emulator", colWatches} {
		if _, ok := col[c]; !ok {
			t.Errorf("%s: no column %s in %v", dir, c, records[0])
		}
	}
	if !slices.ContainsFunc(records[0], func(c string) bool { return strings.HasPrefix(c, colRPS+":") }) {
		t.Errorf("%s: no request rates in %v", dir, records[0])
	}
	// Samples are taken when every pod is Running, and when none is left.
	peak := 0.0
	for _, rec := range records[1:] {
		if v, err := strconv.ParseFloat(rec[col[colRunning]], 64); err == nil {
			peak = max(peak, v)
		}
	}
	// The last reading of the pods: the line after it may be a scrape's.
	var last []string
	for _, rec := range records[1:] {
		if rec[col[colCreated]] != "" {
			last = rec
		}
	}
	if peak != float64(pods) || last[col[colCreated]] != strconv.Itoa(pods) || last[col[colBound]] != strconv.Itoa(pods) ||
		last[col[colExisting]] != "0" {
		t.Errorf("%s: at most %v pods Running, at the end %v created, %v bound, %v left; want %d, %d, %d, 0",
			dir, peak, last[col[colCreated]], last[col[colBound]], last[col[colExisting]], pods, pods, pods)
	}
	if info, err := os.Stat(filepath.Join(dir, TimelinePNG)); err != nil || info.Size() == 0 {
		t.Errorf("no timeline plot: %v", err)
	}
}
