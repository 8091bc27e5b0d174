package benchpeers

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hollowmark/hollowmark/plots"
)

func TestColumnsOrder(t *testing.T) {
	samples := []Sample{
		{T: 0, Values: map[string]float64{"requests_per_s:system-nodes": 1, colRunning: 0, "cpu_cores:kube-apiserver": 1, "unknown": 3}},
		{T: 1, Values: map[string]float64{"cpu_cores:emulator": 1, colCreated: 5, colWatches: 9, "executing:system": 2, "inflight:readOnly": 1, colScrape: 0.1}},
	}
	want := []string{colCreated, colRunning, "cpu_cores:emulator", "cpu_cores:kube-apiserver", colWatches, "inflight:readOnly",
		"executing:system", "requests_per_s:system-nodes", colScrape, "unknown"}
	if got := columns(samples); !slices.Equal(got, want) {
		t.Errorf("columns\n %v\nwant\n %v", got, want)
	}
}

func TestWriteTimelineCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "timeline.csv")
	samples := []Sample{
		{T: 0, Values: map[string]float64{colCreated: 0, "cpu_cores:emulator": 0.25}},
		{T: 1.0004, Values: map[string]float64{colCreated: 120, "requests_per_s:exempt": 3.5}},
	}
	if err := writeTimelineCSV(path, samples); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"t_s", colCreated, "cpu_cores:emulator", "requests_per_s:exempt"},
		{"0.000", "0", "0.25", ""},
		{"1.000", "120", "", "3.5"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("line %d: %v, want %v", i, got[i], want[i])
		}
	}
}

func TestSamplerRatesNeedThePreviousScrape(t *testing.T) {
	s := &sampler{}
	t0 := time.Now()
	first := map[string]float64{}
	s.addMetrics(first, apiMetrics{Watches: 10, Executing: map[string]float64{"system": 2}, Dispatched: map[string]float64{"system-nodes": 100}}, t0)
	if _, ok := first["requests_per_s:system-nodes"]; ok || first[colWatches] != 10 || first["executing:system"] != 2 {
		t.Errorf("first scrape: %v", first)
	}
	second := map[string]float64{}
	s.addMetrics(second, apiMetrics{Dispatched: map[string]float64{"system-nodes": 250, "exempt": 4}}, t0.Add(2*time.Second))
	if second["requests_per_s:system-nodes"] != 75 || second["requests_per_s:exempt"] != 2 {
		t.Errorf("rates over 2 s: %v", second)
	}
}

func TestFlowSeriesNamesTheBusiestAndSumsTheRest(t *testing.T) {
	var samples []Sample
	for i := range 3 {
		v := map[string]float64{}
		for f, rate := range map[string]float64{"a": 70, "b": 60, "c": 50, "d": 40, "e": 30, "f": 20, "g": 10, "h": 5, "idle": 0} {
			v[colRPS+":"+f] = rate
		}
		samples = append(samples, Sample{T: float64(i), Values: v})
	}
	got := flowSeries(samples, columns(samples))
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
	}
	if want := []string{"a", "b", "c", "d", "e", "f", "other"}; !slices.Equal(names, want) {
		t.Fatalf("series %v, want %v", names, want)
	}
	if other := got[len(got)-1].Points; len(other) != 3 || other[0].V != 15 {
		t.Errorf("other = %v, want 15 (g + h + idle) at each of 3 samples", other)
	}
}

func TestDrawTimelineOfAShortRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "timeline.png")
	samples := []Sample{
		{T: 0, Values: map[string]float64{colCreated: 0, colRunning: 0, "cpu_cores:kube-apiserver": 0.1, "inqueue:system": 0}},
		{T: 1, Values: map[string]float64{colCreated: 20, colRunning: 5, "cpu_cores:kube-apiserver": 0.9, "executing:system": 3,
			"requests_per_s:system-nodes": 40, "inqueue:system": 2}},
	}
	if err := drawTimeline(path, "1-hollowmark: 5 nodes, 20 pods", samples); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil || info.Size() == 0 {
		t.Fatalf("no timeline drawn: %v", err)
	}
	if err := drawTimeline(path+".none", "nothing", nil); err == nil {
		t.Error("an empty timeline was drawn")
	}
}

func TestNonZero(t *testing.T) {
	in := []plots.TimeSeries{{Name: "zero", Points: []plots.Point{{V: 0}}}, {Name: "empty"}, {Name: "some", Points: []plots.Point{{V: 0}, {V: 1}}}}
	got := nonZero(in)
	if len(got) != 1 || got[0].Name != "some" {
		t.Errorf("nonZero kept %v", got)
	}
}
