package benchpeers

import (
	"math"
	"strings"
	"testing"
)

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		name string
		h, k Stats
		want string
	}{
		{"ranges overlap", Stats{N: 3, Median: 200, Min: 180, Max: 300}, Stats{N: 3, Median: 240, Min: 220, Max: 250}, "noise"},
		{"ranges touch", Stats{N: 2, Median: 1, Min: 1, Max: 2}, Stats{N: 2, Median: 3, Min: 2, Max: 4}, "noise"},
		{"hollowmark lower", Stats{N: 3, Median: 0.08, Min: 0.084, Max: 0.086}, Stats{N: 3, Median: 0.12, Min: 0.119, Max: 0.137}, "hollowmark lower"},
		{"hollowmark higher", Stats{N: 2, Median: 6000, Min: 6000, Max: 6100}, Stats{N: 2, Median: 125, Min: 124, Max: 126}, "hollowmark higher"},
		{"one run each says nothing", Stats{N: 1, Median: 1, Min: 1, Max: 1}, Stats{N: 1, Median: 9, Min: 9, Max: 9}, "too few runs"},
		{"one side one run", Stats{N: 3, Median: 1, Min: 1, Max: 1}, Stats{N: 1, Median: 9, Min: 9, Max: 9}, "too few runs"},
		{"one side missing", Stats{N: 3, Median: 1, Min: 1, Max: 1}, statsOf(nil), "not measured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := verdict(tc.h, tc.k); got != tc.want {
				t.Errorf("verdict = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStatsAndRatio(t *testing.T) {
	for _, tc := range []struct {
		name      string
		h, k      []float64
		wantH     Stats
		wantRatio float64 // NaN: none
	}{
		{"odd counts", []float64{297, 182, 250}, []float64{249, 227, 240}, Stats{N: 3, Median: 250, Min: 182, Max: 297}, 250.0 / 240},
		{"even count takes the middle two's mean", []float64{4, 1, 3, 2}, []float64{5}, Stats{N: 4, Median: 2.5, Min: 1, Max: 4}, 0.5},
		{"zero median below has no ratio", []float64{15}, []float64{0, 0}, Stats{N: 1, Median: 15, Min: 15, Max: 15}, math.NaN()},
		{"nothing measured", nil, []float64{1}, Stats{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, k := statsOf(tc.h), statsOf(tc.k)
			if !sameStats(h, tc.wantH) {
				t.Errorf("stats %+v, want %+v", h, tc.wantH)
			}
			if r := ratio(h, k); !sameFloat(r, tc.wantRatio) {
				t.Errorf("ratio %v, want %v", r, tc.wantRatio)
			}
		})
	}
}

func sameFloat(a, b float64) bool {
	return a == b || math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) < 1e-12
}

func sameStats(a, b Stats) bool {
	return a.N == b.N && sameFloat(a.Median, b.Median) && sameFloat(a.Min, b.Min) && sameFloat(a.Max, b.Max)
}

// threeEach are the figures of the manual comparison, interleaved,
// with a third run each and the last KWOK run cut short after its idle
// window.
func threeEach() []RunResult {
	run := func(id, e string, repeat int, v map[string]float64) RunResult {
		return RunResult{ID: id, Emulator: e, Repeat: repeat, Values: v}
	}
	runs := []RunResult{
		run("1-hollowmark", Hollowmark, 1, map[string]float64{RowEmulatorCPU: 0.086, RowPodsRunning: 297, RowNotReady: 15}),
		run("2-kwok", KWOK, 1, map[string]float64{RowEmulatorCPU: 0.137, RowPodsRunning: 249, RowNotReady: 0}),
		run("3-hollowmark", Hollowmark, 2, map[string]float64{RowEmulatorCPU: 0.084, RowPodsRunning: 182, RowNotReady: 0}),
		run("4-kwok", KWOK, 2, map[string]float64{RowEmulatorCPU: 0.119, RowPodsRunning: 227, RowNotReady: 552}),
		run("5-hollowmark", Hollowmark, 3, map[string]float64{RowEmulatorCPU: 0.085, RowPodsRunning: 240, RowNotReady: 0}),
		run("6-kwok", KWOK, 3, map[string]float64{RowEmulatorCPU: 0.125}),
	}
	runs[5].Partial, runs[5].Err = true, "interrupted"
	return runs
}

func TestSummarize(t *testing.T) {
	sums := Summarize(threeEach(), []string{Hollowmark, KWOK})
	if len(sums) != len(Rows) {
		t.Fatalf("%d rows, want %d", len(sums), len(Rows))
	}
	byKey := map[string]Summary{}
	for _, s := range sums {
		byKey[s.Row.Key] = s
	}
	for _, tc := range []struct {
		row         string
		h, k        Stats
		ratio       float64
		wantVerdict string
	}{
		{RowEmulatorCPU, Stats{3, 0.085, 0.084, 0.086}, Stats{3, 0.125, 0.119, 0.137}, 0.085 / 0.125, "hollowmark lower"},
		// The interrupted run has no pod row: two KWOK runs remain.
		{RowPodsRunning, Stats{3, 240, 182, 297}, Stats{2, 238, 227, 249}, 240.0 / 238, "noise"},
		{RowNotReady, Stats{3, 0, 0, 15}, Stats{2, 276, 0, 552}, 0, "noise"},
		{RowNodesReady, statsOf(nil), statsOf(nil), math.NaN(), "not measured"},
	} {
		s := byKey[tc.row]
		if !sameStats(s.Stats[0], tc.h) || !sameStats(s.Stats[1], tc.k) {
			t.Errorf("%s: stats %+v %+v, want %+v %+v", tc.row, s.Stats[0], s.Stats[1], tc.h, tc.k)
		}
		if !sameFloat(s.Ratio, tc.ratio) || s.Verdict != tc.wantVerdict {
			t.Errorf("%s: ratio %v verdict %q, want %v %q", tc.row, s.Ratio, s.Verdict, tc.ratio, tc.wantVerdict)
		}
	}
}

func TestTable(t *testing.T) {
	for _, tc := range []struct {
		name      string
		emulators []string
		want      []string // lines the table must hold
		not       []string
	}{
		{"both emulators", []string{Hollowmark, KWOK}, []string{
			"| row | hollowmark median (min–max, n) | kwok median (min–max, n) | hollowmark/KWOK | verdict |",
			"| emulator idle CPU (cores) | 0.085 (0.084–0.086, n=3) | 0.125 (0.119–0.137, n=3) | 0.68 | hollowmark lower |",
			"| pods to Running (s) | 240 (182–297, n=3) | 238 (227–249, n=2) | 1.01 | noise |",
			"| nodes to Ready (s) | — | — | — | not measured |",
		}, nil},
		{"one emulator has no ratio", []string{KWOK}, []string{
			"| row | kwok median (min–max, n) |",
			"| pods to Running (s) | 238 (227–249, n=2) |",
		}, []string{"verdict"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table := Table(Summarize(threeEach(), tc.emulators), tc.emulators)
			for _, line := range tc.want {
				if !strings.Contains(table, line+"\n") {
					t.Errorf("no line %q in\n%s", line, table)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(table, s) {
					t.Errorf("%q in\n%s", s, table)
				}
			}
		})
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{{0, "0"}, {6123, "6123"}, {182.4, "182"}, {47.26, "47.3"}, {1.014, "1.01"}, {0.0861, "0.0861"}, {0.00012, "0.00012"}} {
		if got := formatValue(tc.v); got != tc.want {
			t.Errorf("formatValue(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
