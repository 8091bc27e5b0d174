package plots

import (
	"errors"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gonum.org/v1/plot/vg"
)

// checkPNG fails unless path holds a PNG of width by height pixels.
func checkPNG(t *testing.T, path string, width, height int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != width || b.Dy() != height {
		t.Errorf("%s is %dx%d, want %dx%d", filepath.Base(path), b.Dx(), b.Dy(), width, height)
	}
}

// 8 by 4.5 inches at 96 dpi.
const defaultW, defaultH = 768, 432

func startupSeries(name string, n int, scale time.Duration) Series {
	s := Series{Name: name}
	for i := range n {
		s.Samples = append(s.Samples, time.Duration(i%37+1)*scale)
	}
	return s
}

func phaseBars() []PhaseBar {
	bar := func(label string, f time.Duration) PhaseBar {
		return PhaseBar{Label: label, Segments: []Segment{{createToSchedule, f}, {scheduleToSeen, 3 * f},
			{seenToStarted, 2 * f}, {startedToPosted, f / 2}, {postedToWatch, 0}}}
	}
	return []PhaseBar{bar("p50", 100*time.Millisecond), bar("p90", 200*time.Millisecond), bar("p99", 400*time.Millisecond)}
}

func apiBars(n int) []Bar {
	var bars []Bar
	for i := range n {
		bars = append(bars, Bar{Label: fmt.Sprintf("PATCH resource%d/status (resource)", i),
			Value: time.Duration(i*i+1) * 10 * time.Millisecond})
	}
	return append(bars, Bar{Label: "GET zero (resource)"})
}

func TestPlotsWritePNGs(t *testing.T) {
	dir := t.TempDir()
	ramp := TimeSeries{Name: "created", Points: []Point{{0, 0}, {time.Second, 10}, {2 * time.Second, 30}}}
	flat := TimeSeries{Name: "running", Points: []Point{{2 * time.Second, 5}}}
	for _, tc := range []struct {
		name          string
		draw          func(path string) error
		width, height int
	}{
		{"cdf one series", func(p string) error {
			return StartupCDF(p, []Series{startupSeries("run-1", 500, 50*time.Millisecond)}, 5*time.Second)
		}, defaultW, defaultH},
		{"cdf two series, one empty", func(p string) error {
			return StartupCDF(p, []Series{startupSeries("base", 500, 50*time.Millisecond),
				startupSeries("new", 300, 200*time.Millisecond), {Name: "empty"}}, 5*time.Second)
		}, defaultW, defaultH},
		{"cdf without threshold", func(p string) error {
			return StartupCDF(p, []Series{startupSeries("run-1", 1, time.Second)}, 0)
		}, defaultW, defaultH},
		{"phases", func(p string) error { return PhaseBreakdown(p, phaseBars()) }, defaultW, defaultH},
		{"timeline", func(p string) error { return Timeline(p, []TimeSeries{ramp, flat, {Name: "none"}}, "pods") }, defaultW, defaultH},
		{"timeline steps, one series", func(p string) error {
			return Timeline(p, []TimeSeries{ramp}, "pods/s", StepBefore(), Title("throughput"))
		}, defaultW, defaultH},
		{"timeline sized", func(p string) error {
			return Timeline(p, []TimeSeries{ramp}, "MiB", Size(4*vg.Inch, 3*vg.Inch), DPI(150))
		}, 600, 450},
		{"few bars keep the default height", func(p string) error {
			return SortedBars(p, apiBars(3), APILines(), "p99 latency", "API calls")
		}, defaultW, defaultH},
		// 41 bars: 1.4 in plus 0.22 in each.
		{"many bars grow tall", func(p string) error {
			return SortedBars(p, apiBars(40), APILines(), "p99 latency", "API calls")
		}, defaultW, 1000},
		{"bars sized", func(p string) error {
			return SortedBars(p, apiBars(40), nil, "p99 latency", "API calls", Size(10*vg.Inch, 5*vg.Inch))
		}, 960, 480},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, filepath.Base(t.Name())+".png")
			if err := tc.draw(path); err != nil {
				t.Fatal(err)
			}
			checkPNG(t, path, tc.width, tc.height)
		})
	}
}

// Empty input is ErrNoData, and no file: the caller decides what a report
// shows instead.
func TestPlotsWithoutDataFail(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		draw func(path string) error
	}{
		{"cdf no series", func(p string) error { return StartupCDF(p, nil, 5*time.Second) }},
		{"cdf no samples", func(p string) error { return StartupCDF(p, []Series{{Name: "a"}, {Name: "b"}}, 5*time.Second) }},
		{"phases no bars", func(p string) error { return PhaseBreakdown(p, nil) }},
		{"phases no segments", func(p string) error { return PhaseBreakdown(p, []PhaseBar{{Label: "p50"}}) }},
		{"timeline no series", func(p string) error { return Timeline(p, nil, "pods") }},
		{"timeline no points", func(p string) error { return Timeline(p, []TimeSeries{{Name: "a"}}, "pods") }},
		{"bars none", func(p string) error { return SortedBars(p, nil, APILines(), "s", "API calls") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, filepath.Base(t.Name())+".png")
			if err := tc.draw(path); !errors.Is(err, ErrNoData) {
				t.Fatalf("got %v, want ErrNoData", err)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a file was written: %v", err)
			}
		})
	}
}

func TestPhaseBreakdownRejectsUnstackableBars(t *testing.T) {
	renamed := phaseBars()
	renamed[1].Segments[2].Name = "other"
	short := phaseBars()
	short[2].Segments = short[2].Segments[:3]
	negative := phaseBars()
	negative[0].Segments[1].Value = -time.Millisecond
	for name, bars := range map[string][]PhaseBar{"renamed": renamed, "short": short, "negative": negative} {
		t.Run(name, func(t *testing.T) {
			if err := PhaseBreakdown(filepath.Join(t.TempDir(), "x.png"), bars); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 49500 * time.Microsecond: "50ms", 391958 * time.Microsecond: "392ms",
		1234 * time.Millisecond: "1.23s", 45400 * time.Millisecond: "45s", 1500 * time.Nanosecond: "2µs",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestPlainTicks(t *testing.T) {
	labels := func(min, max float64) []string {
		var out []string
		for _, tk := range (plainTicks{}).Ticks(min, max) {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	for _, tc := range []struct {
		min, max float64
		want     string
	}{
		{0, 26, "[0 5 10 15 20 25]"},
		{0, 1.28, "[0 0.2 0.4 0.6 0.8 1 1.2]"},
		{0, 1300, "[0 200 400 600 800 1000 1200]"},
		{0.1, 0.35, "[0.1 0.15 0.2 0.25 0.3 0.35]"},
	} {
		if got := fmt.Sprint(labels(tc.min, tc.max)); got != tc.want {
			t.Errorf("ticks %v..%v = %s, want %s", tc.min, tc.max, got, tc.want)
		}
	}
}

func TestTrendDrawsRunsAndMarksViolations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trend.png")
	nan := math.NaN()
	err := Trend(path, []string{"run-1", "run-2", "run-3"},
		[]TrendSeries{{Name: "p50", Values: []float64{0.7, 0.8, nan}}, {Name: "p99", Values: []float64{1.1, 6.2, 1.2}}},
		[]bool{false, true, false}, "pod startup (s)")
	if err != nil {
		t.Fatal(err)
	}
	checkPNG(t, path, defaultW, defaultH)
	if err := Trend(path, []string{"a"}, []TrendSeries{{Name: "x", Values: []float64{nan}}}, nil, "y"); !errors.Is(err, ErrNoData) {
		t.Errorf("all-missing trend: %v, want ErrNoData", err)
	}
}
