package plots

import (
	"fmt"
	"math"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// StartupCDF draws the empirical CDF of pod startup latency of each
// series, overlaid, with the SLO threshold as a dashed line; a threshold
// of zero is not drawn. One series is named in the title; more are named,
// with their pod counts, in a legend below the plot, a series without
// samples as "(no pods)".
func StartupCDF(path string, series []Series, threshold time.Duration, opts ...Option) error {
	cfg := newConfig(opts)
	xMin, xMax := 0.0, seconds(threshold)
	n := 0
	for _, s := range series {
		n += len(s.Samples)
		if len(s.Samples) > 0 {
			xMin = math.Min(xMin, seconds(slices.Min(s.Samples)))
			xMax = math.Max(xMax, seconds(slices.Max(s.Samples)))
		}
	}
	if n == 0 {
		return drawing("startup CDF", ErrNoData)
	}
	// Room right of the slowest pod and the threshold, so neither sits on
	// the frame.
	xMax *= 1.08
	title := "Pod startup latency, creation to running (watch)"
	if len(series) == 1 {
		title += fmt.Sprintf(": %s, %d pods", series[0].Name, len(series[0].Samples))
	}
	p := newPlot(cfg.titleOr(title), "pod startup latency (s)", "fraction of pods with startup ≤ x")
	p.Add(grid())
	legend := newLegend()
	for i, s := range series {
		if len(s.Samples) == 0 {
			legend.Add(s.Name + " (no pods)")
			continue
		}
		line, err := plotter.NewLine(cdfPoints(s.Samples, xMax))
		if err != nil {
			return drawing("startup CDF", err)
		}
		// The CDF holds its value until the next sample.
		line.StepStyle = plotter.PostStep
		line.Color, line.Width = seriesColor(i), vg.Points(1.8)
		p.Add(line)
		legend.Add(fmt.Sprintf("%s (%d pods)", s.Name, len(s.Samples)), line)
	}
	if threshold > 0 {
		slo := newVLine(seconds(threshold), "SLO "+threshold.String(), false)
		p.Add(slo)
	}
	p.X.Min, p.X.Max = xMin, xMax
	// Above 1, so that the curves' top is not taken for the frame.
	p.Y.Min, p.Y.Max = 0, 1.03
	p.Y.Tick.Marker = plot.ConstantTicks(fractionTicks())
	var l *plot.Legend
	if len(series) > 1 {
		l = &legend
	}
	w, h := cfg.size(defaultWidth, defaultHeight)
	if err := render(path, p, l, below, w, h, cfg.dpi); err != nil {
		return drawing("startup CDF", err)
	}
	return nil
}

// cdfPoints are the empirical CDF's corners: it rises from 0 at the
// fastest sample by 1/n at each sample, and stays at 1 up to xMax.
func cdfPoints(samples []time.Duration, xMax float64) plotter.XYs {
	sorted := slices.Sorted(slices.Values(samples))
	n := float64(len(sorted))
	pts := plotter.XYs{{X: seconds(sorted[0]), Y: 0}}
	for i, d := range sorted {
		pts = append(pts, plotter.XY{X: seconds(d), Y: float64(i+1) / n})
	}
	return append(pts, plotter.XY{X: xMax, Y: 1})
}

// fractionTicks label the quartiles and the SLO's p90 and p99, where a
// reader looks on a startup CDF.
func fractionTicks() []plot.Tick {
	var ticks []plot.Tick
	for _, v := range []float64{0, 0.25, 0.5, 0.75, 0.9, 1} {
		ticks = append(ticks, plot.Tick{Value: v, Label: fmt.Sprint(v)})
	}
	// p99 sits too close to 1 for a label of its own.
	return append(ticks, plot.Tick{Value: 0.99})
}
