package benchpeers

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return records
}

// runsFromCSV reads runs.csv back: what anyone recomputing the summary
// would start from.
func runsFromCSV(t *testing.T, path string) []RunResult {
	t.Helper()
	records := readCSV(t, path)
	head := records[0]
	var runs []RunResult
	for _, rec := range records[1:] {
		r := RunResult{ID: rec[0], Emulator: rec[1], Values: map[string]float64{}, Err: rec[4]}
		r.Repeat, _ = strconv.Atoi(rec[2])
		r.Partial = rec[3] == "true"
		for i, cell := range rec[5:] {
			if cell == "" {
				continue
			}
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			r.Values[head[5+i]] = v
		}
		runs = append(runs, r)
	}
	return runs
}

// The summary written next to runs.csv is what runs.csv recomputes to.
func TestSummaryRecomputesFromRunsCSV(t *testing.T) {
	dir := t.TempDir()
	emulators := []string{Hollowmark, KWOK}
	runs := threeEach()
	runs[0].Values[RowEmulatorRSS] = 95.87109375 // full precision survives
	if err := writeRunsCSV(filepath.Join(dir, RunsCSV), runs); err != nil {
		t.Fatal(err)
	}
	if err := writeSummaryCSV(filepath.Join(dir, SummaryCSV), Summarize(runs, emulators), emulators); err != nil {
		t.Fatal(err)
	}
	back := runsFromCSV(t, filepath.Join(dir, RunsCSV))
	if !back[5].Partial || back[5].Err != "interrupted" || back[0].Values[RowEmulatorRSS] != 95.87109375 {
		t.Errorf("runs.csv lost something: %+v %+v", back[0], back[5])
	}
	recomputed := filepath.Join(dir, "recomputed.csv")
	if err := writeSummaryCSV(recomputed, Summarize(back, emulators), emulators); err != nil {
		t.Fatal(err)
	}
	written, again := readCSV(t, filepath.Join(dir, SummaryCSV)), readCSV(t, recomputed)
	if len(written) != len(Rows)+1 {
		t.Fatalf("summary.csv has %d lines, want %d", len(written), len(Rows)+1)
	}
	for i := range written {
		if !slices.Equal(written[i], again[i]) {
			t.Errorf("line %d: written %v, recomputed %v", i, written[i], again[i])
		}
	}
	if want := []string{"row", "label", "hollowmark_n", "hollowmark_median", "hollowmark_min", "hollowmark_max",
		"kwok_n", "kwok_median", "kwok_min", "kwok_max", "ratio_hollowmark_kwok", "verdict"}; !slices.Equal(written[0], want) {
		t.Errorf("summary.csv header %v", written[0])
	}
}

func TestWriteNotReadyCSVNamesTheNodes(t *testing.T) {
	path := filepath.Join(t.TempDir(), NotReadyCSV)
	at := time.Date(2026, 12, 2, 5, 0, 0, 500, time.UTC)
	runs := []RunResult{
		{ID: "1-hollowmark", Emulator: Hollowmark, NotReady: []Transition{{At: at, Node: "hollow-node-7", Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown", Phase: phasePods}}},
		{ID: "2-kwok", Emulator: KWOK},
	}
	if err := writeNotReadyCSV(path, runs); err != nil {
		t.Fatal(err)
	}
	got := readCSV(t, path)
	want := [][]string{{"run", "emulator", "time", "node", "status", "reason", "phase"},
		{"1-hollowmark", "hollowmark", "2026-12-02T05:00:00.0000005Z", "hollow-node-7", "Unknown", "NodeStatusUnknown", "pods"}}
	if len(got) != len(want) || !slices.Equal(got[1], want[1]) {
		t.Errorf("notready.csv %v, want %v", got, want)
	}
}

func TestDrawSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), SummaryPNG)
	if err := drawSummary(path, threeEach(), []string{Hollowmark, KWOK}); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil || info.Size() == 0 {
		t.Fatalf("no summary drawn: %v", err)
	}
}
