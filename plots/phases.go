package plots

import (
	"fmt"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// PhaseBreakdown draws one stacked bar per PhaseBar, its segments stacked
// from the bottom in order, in seconds, with each bar's total above it.
// Every bar must have the same segment names in the same order; a negative
// segment is an error, as it cannot be stacked.
func PhaseBreakdown(path string, bars []PhaseBar, opts ...Option) error {
	cfg := newConfig(opts)
	if len(bars) == 0 || len(bars[0].Segments) == 0 {
		return drawing("phase breakdown", ErrNoData)
	}
	if err := checkSegments(bars); err != nil {
		return drawing("phase breakdown", err)
	}
	w, h := cfg.size(defaultWidth, defaultHeight)
	p := newPlot(cfg.titleOr("Pod startup by phase, of the pod at each percentile"), "", "time (s)")
	p.Add(grid())
	names := make([]string, len(bars))
	totals := make([]float64, len(bars))
	for i, b := range bars {
		names[i] = b.Label
	}
	// Bars take about half of their share of the width, less the legend's.
	width := (w - 3*vg.Inch) / vg.Length(len(bars)) / 2
	legend := newLegend()
	var below *plotter.BarChart
	var stack []*plotter.BarChart
	for s := range bars[0].Segments {
		values := make(plotter.Values, len(bars))
		for i, b := range bars {
			values[i] = seconds(b.Segments[s].Value)
			totals[i] += values[i]
		}
		chart, err := plotter.NewBarChart(values, width)
		if err != nil {
			return drawing("phase breakdown", err)
		}
		chart.Color = seriesColor(s)
		chart.LineStyle.Width = 0
		if below != nil {
			chart.StackOn(below)
		}
		below = chart
		stack = append(stack, chart)
		p.Add(chart)
	}
	// The legend lists the segments top down, as the bars stack them.
	for s := len(stack) - 1; s >= 0; s-- {
		legend.Add(bars[0].Segments[s].Name, stack[s])
	}
	labels, err := totalLabels(totals)
	if err != nil {
		return drawing("phase breakdown", err)
	}
	p.Add(labels)
	p.NominalX(names...)
	p.X.Tick.Label.Font = font.From(sans, labelSize)
	// Room above the tallest bar for its total.
	p.Y.Min, p.Y.Max = 0, slices.Max(totals)*1.12
	if err := render(path, p, &legend, beside, w, h, cfg.dpi); err != nil {
		return drawing("phase breakdown", err)
	}
	return nil
}

func checkSegments(bars []PhaseBar) error {
	first := bars[0].Segments
	for _, b := range bars {
		if len(b.Segments) != len(first) {
			return fmt.Errorf("bar %q has %d segments, bar %q %d", b.Label, len(b.Segments), bars[0].Label, len(first))
		}
		for i, s := range b.Segments {
			if s.Name != first[i].Name {
				return fmt.Errorf("bar %q: segment %d is %q, in bar %q %q", b.Label, i, s.Name, bars[0].Label, first[i].Name)
			}
			if s.Value < 0 {
				return fmt.Errorf("bar %q: segment %q is negative (%s)", b.Label, s.Name, s.Value)
			}
		}
	}
	return nil
}

// totalLabels write each bar's total just above it.
func totalLabels(totals []float64) (*plotter.Labels, error) {
	xyl := plotter.XYLabels{XYs: make(plotter.XYs, len(totals)), Labels: make([]string, len(totals))}
	for i, t := range totals {
		xyl.XYs[i] = plotter.XY{X: float64(i), Y: t}
		xyl.Labels[i] = fmt.Sprintf("%.3gs", t)
	}
	labels, err := plotter.NewLabels(xyl)
	if err != nil {
		return nil, err
	}
	for i := range labels.TextStyle {
		labels.TextStyle[i] = text.Style{Font: font.From(sans, labelSize), XAlign: draw.XCenter, YAlign: draw.YBottom,
			Handler: plot.DefaultTextHandler}
	}
	labels.Offset = vg.Point{Y: vg.Points(3)}
	return labels, nil
}
