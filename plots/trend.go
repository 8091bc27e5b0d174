package plots

import (
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// TrendSeries is one metric across runs; NaN marks a run that did not
// measure it.
type TrendSeries struct {
	Name   string
	Values []float64
}

// Trend draws metrics across runs, oldest first: x is the run, labelled
// with labels; each series is a line with a dot per run, and the runs
// flagged in violated get a red cross over every dot, so a regression and
// the SLO it broke read together.
func Trend(path string, labels []string, series []TrendSeries, violated []bool, yLabel string, opts ...Option) error {
	cfg := newConfig(opts)
	p := newPlot(cfg.titleOr(yLabel+" across runs"), "run (oldest first)", yLabel)
	p.Add(grid())
	p.NominalX(labels...)
	p.X.Tick.Label.Rotation = math.Pi / 6
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	legend := newLegend()
	drawn, crossed := 0, false
	for i, s := range series {
		pts := make(plotter.XYs, 0, len(s.Values))
		var crosses plotter.XYs
		for run, v := range s.Values {
			if math.IsNaN(v) {
				continue
			}
			pts = append(pts, plotter.XY{X: float64(run), Y: v})
			if run < len(violated) && violated[run] {
				crosses = append(crosses, plotter.XY{X: float64(run), Y: v})
			}
		}
		if len(pts) == 0 {
			continue
		}
		if err := addTrend(p, &legend, s.Name, pts, crosses, i, &crossed); err != nil {
			return drawing("trend "+yLabel, err)
		}
		drawn++
	}
	if drawn == 0 {
		return drawing("trend "+yLabel, ErrNoData)
	}
	p.Y.Min = math.Min(p.Y.Min, 0)
	p.Y.Max *= 1.08
	w, h := cfg.size(defaultWidth, defaultHeight)
	if err := render(path, p, &legend, beside, w, h, cfg.dpi); err != nil {
		return drawing("trend "+yLabel, err)
	}
	return nil
}

// addTrend draws one series; the first crosses drawn get a legend entry.
func addTrend(p *plot.Plot, legend *plot.Legend, name string, pts, crosses plotter.XYs, i int, crossed *bool) error {
	c := seriesColor(i)
	line, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	line.Color, line.Width = c, vg.Points(1.8)
	dots, err := plotter.NewScatter(pts)
	if err != nil {
		return err
	}
	dots.Color, dots.Shape, dots.Radius = c, draw.CircleGlyph{}, vg.Points(3)
	p.Add(line, dots)
	legend.Add(name, line, dots)
	if len(crosses) == 0 {
		return nil
	}
	marks, err := plotter.NewScatter(crosses)
	if err != nil {
		return err
	}
	marks.Color, marks.Shape, marks.Radius = sloColor, draw.CrossGlyph{}, vg.Points(6)
	p.Add(marks)
	if !*crossed {
		*crossed = true
		legend.Add("SLO violated", marks)
	}
	return nil
}
