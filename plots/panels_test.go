package plots

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gonum.org/v1/plot/vg"
)

func TestPanelsAndStripsWritePNGs(t *testing.T) {
	dir := t.TempDir()
	ramp := TimeSeries{Name: "created", Points: []Point{{0, 0}, {time.Second, 10}, {2 * time.Second, 30}}}
	late := TimeSeries{Name: "running", Points: []Point{{5 * time.Second, 5}, {9 * time.Second, 30}}}
	zero := TimeSeries{Name: "idle", Points: []Point{{0, 0}, {time.Second, 0}}}
	nan := math.NaN()
	for _, tc := range []struct {
		name          string
		draw          func(path string) error
		width, height int
	}{
		// 2.6 in per panel at 96 dpi.
		{"three panels", func(p string) error {
			return Panels(p, []Panel{{Title: "pods", YLabel: "pods", Series: []TimeSeries{ramp, late}},
				{YLabel: "cores", Series: []TimeSeries{zero}}, {YLabel: "requests/s", Series: []TimeSeries{late}}})
		}, defaultW, 749},
		{"an empty panel is left out", func(p string) error {
			return Panels(p, []Panel{{YLabel: "pods", Series: []TimeSeries{ramp}}, {YLabel: "none", Series: []TimeSeries{{Name: "x"}}}})
		}, defaultW, 250},
		{"panels sized", func(p string) error {
			return Panels(p, []Panel{{YLabel: "pods", Series: []TimeSeries{ramp}}}, Size(5*vg.Inch, 4*vg.Inch), StepAfter())
		}, 480, 384},
		// 3.6 by 2.8 in per panel, three to a row, rounded up to whole pixels.
		{"strips, two rows", func(p string) error {
			return Strips(p, []string{"hollowmark", "kwok"}, []Strip{
				{Title: "a", Values: [][]float64{{1, 2, 3}, {2, 2, 2}}},
				{Title: "b", Values: [][]float64{{1}, {nan}}},
				{Title: "c", Values: [][]float64{{nan}, {nan}}},
				{Title: "d", Values: [][]float64{{0, 0}, {0, 0}}},
			})
		}, 1037, 538},
		{"one strip, one group", func(p string) error {
			return Strips(p, []string{"kwok"}, []Strip{{Title: "a", Values: [][]float64{{4, 5}}}})
		}, 346, 269},
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

func TestPanelsAndStripsWithoutDataFail(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		draw func(path string) error
	}{
		{"no panels", func(p string) error { return Panels(p, nil) }},
		{"panels without points", func(p string) error {
			return Panels(p, []Panel{{YLabel: "a", Series: []TimeSeries{{Name: "x"}}}, {YLabel: "b"}})
		}},
		{"no strips", func(p string) error { return Strips(p, []string{"a"}, nil) }},
		{"no groups", func(p string) error { return Strips(p, nil, []Strip{{Title: "a"}}) }},
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

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
