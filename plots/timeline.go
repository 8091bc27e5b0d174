package plots

import (
	"cmp"
	"image/color"
	"math"
	"slices"
	"unicode"
	"unicode/utf8"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// sparse is the point count below which a line also marks its points: a
// few samples joined by straight lines would hide how few they are, and a
// single point draws no line at all.
const sparse = 12

// Timeline draws each series as a line over time, x in seconds since the
// start its points are relative to. Both axes start at zero unless a value
// is negative, so that a run's timelines share their frame and a level
// reads against zero. Series without points are left out.
func Timeline(path string, series []TimeSeries, yLabel string, opts ...Option) error {
	cfg := newConfig(opts)
	xLabel := "time since start (s)"
	if cfg.xLabel != "" {
		xLabel = cfg.xLabel
	}
	p := newPlot(cfg.titleOr(capitalize(yLabel)+" over time"), xLabel, yLabel)
	p.Add(grid())
	legend := newLegend()
	drawn := 0
	for i, s := range series {
		if len(s.Points) == 0 {
			continue
		}
		if err := addSeries(p, &legend, s, seriesColor(i), cfg.step); err != nil {
			return drawing("timeline "+yLabel, err)
		}
		drawn++
	}
	if drawn == 0 {
		return drawing("timeline "+yLabel, ErrNoData)
	}
	p.X.Min, p.Y.Min = math.Min(p.X.Min, 0), math.Min(p.Y.Min, 0)
	// Headroom, so that a line at the maximum does not run along the top.
	p.Y.Max += (p.Y.Max - p.Y.Min) * 0.05
	var l *plot.Legend
	if drawn > 1 {
		l = &legend
	}
	w, h := cfg.size(defaultWidth, defaultHeight)
	if err := render(path, p, l, beside, w, h, cfg.dpi); err != nil {
		return drawing("timeline "+yLabel, err)
	}
	return nil
}

func addSeries(p *plot.Plot, legend *plot.Legend, s TimeSeries, c color.Color, step plotter.StepKind) error {
	// A line must go forward in time; callers may pass points in any
	// order.
	points := slices.SortedStableFunc(slices.Values(s.Points), func(a, b Point) int { return cmp.Compare(a.T, b.T) })
	line, err := plotter.NewLine(xys(points))
	if err != nil {
		return err
	}
	line.Color, line.Width, line.StepStyle = c, vg.Points(1.8), step
	p.Add(line)
	if len(points) >= sparse {
		legend.Add(s.Name, line)
		return nil
	}
	dots, err := plotter.NewScatter(xys(points))
	if err != nil {
		return err
	}
	dots.Color, dots.Shape, dots.Radius = c, draw.CircleGlyph{}, vg.Points(3)
	p.Add(dots)
	legend.Add(s.Name, line, dots)
	return nil
}

// capitalize upper-cases s's first letter, to make a title of an axis
// label.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
