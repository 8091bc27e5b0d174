package plots

import (
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Panel is one plot of a stack drawn by Panels: lines over the same time
// axis as the panels above and below it.
type Panel struct {
	Title, YLabel string
	Series        []TimeSeries
}

// panelHeight is each panel's share of Panels' default height.
const panelHeight = 2.6 * vg.Inch

// Panels draws panels stacked top to bottom over one time axis, so that
// what happens at a moment reads straight down the image (pods created,
// CPU, requests in flight), each panel with its legend beside it. The x
// range is the union of all panels' and starts at zero; y axes start at
// zero unless a value is negative. Series without points are left out, and
// panels left without series; with none left the error wraps ErrNoData.
func Panels(path string, panels []Panel, opts ...Option) error {
	cfg := newConfig(opts)
	var drawn []*plot.Plot
	var legends []plot.Legend
	for _, panel := range panels {
		p, legend, err := panelPlot(panel, cfg.step)
		if err != nil {
			return drawing("panels", err)
		}
		if p != nil {
			drawn, legends = append(drawn, p), append(legends, legend)
		}
	}
	if len(drawn) == 0 {
		return drawing("panels", ErrNoData)
	}
	shareX(drawn)
	xLabel := "time since start (s)"
	if cfg.xLabel != "" {
		xLabel = cfg.xLabel
	}
	drawn[len(drawn)-1].X.Label.Text = xLabel
	w, h := cfg.size(defaultWidth, panelHeight*vg.Length(len(drawn)))
	img, c := whiteCanvas(w, h, cfg.dpi)
	legendW := vg.Length(0)
	for i := range legends {
		legendW = max(legendW, legends[i].Rectangle(c).Size().X+2*legendGap)
	}
	rows := make([][]*plot.Plot, len(drawn))
	for i, p := range drawn {
		rows[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(drawn), Cols: 1, PadY: vg.Points(10)}
	canvases := plot.Align(rows, tiles, draw.Crop(c, 0, -legendW, 0, 0))
	for i, p := range drawn {
		p.Draw(canvases[i][0])
		data := p.DataCanvas(canvases[i][0])
		area := vg.Rectangle{Min: vg.Point{X: c.Max.X - legendW + legendGap, Y: data.Min.Y},
			Max: vg.Point{X: c.Max.X - legendGap, Y: data.Max.Y}}
		legends[i].Draw(draw.Canvas{Canvas: c.Canvas, Rectangle: area})
	}
	if err := writePNG(path, img); err != nil {
		return drawing("panels", err)
	}
	return nil
}

// panelPlot is one panel's plot, or nil when none of its series has points.
func panelPlot(panel Panel, step plotter.StepKind) (*plot.Plot, plot.Legend, error) {
	p := newPlot(panel.Title, "", panel.YLabel)
	p.Add(grid())
	legend := newLegend()
	n := 0
	for i, s := range panel.Series {
		if len(s.Points) == 0 {
			continue
		}
		if err := addSeries(p, &legend, s, seriesColor(i), step); err != nil {
			return nil, legend, err
		}
		n++
	}
	if n == 0 {
		return nil, legend, nil
	}
	p.Y.Min = math.Min(p.Y.Min, 0)
	p.Y.Max += (p.Y.Max - p.Y.Min) * 0.05
	if p.Y.Max == p.Y.Min {
		p.Y.Max = p.Y.Min + 1 // a flat line at zero still needs a frame
	}
	return p, legend, nil
}

// shareX gives every plot the union of their x ranges, from zero.
func shareX(ps []*plot.Plot) {
	lo, hi := 0.0, math.Inf(-1)
	for _, p := range ps {
		lo, hi = math.Min(lo, p.X.Min), math.Max(hi, p.X.Max)
	}
	if hi <= lo {
		hi = lo + 1
	}
	for _, p := range ps {
		p.X.Min, p.X.Max = lo, hi
	}
}

// whiteCanvas is an image of w by h filled white (a PNG viewer would show
// a transparent one on its checkerboard), and its canvas inside the margin.
func whiteCanvas(w, h vg.Length, dpi int) (*vgimg.Canvas, draw.Canvas) {
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi))
	c := draw.New(img)
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	return img, draw.Crop(c, margin, -margin, margin, -margin)
}

// Strip is one panel drawn by Strips: a metric's value in each run, by
// group (e.g. by emulator). NaN marks a run that did not measure it.
type Strip struct {
	Title  string
	Values [][]float64 // Values[g] are group g's runs
}

// Strip chart layout: panels per row, and each panel's size.
const (
	stripCols   = 3
	stripWidth  = 3.6 * vg.Inch
	stripHeight = 2.8 * vg.Inch
	// stripSpread is how far either side of its group's position a run's
	// dot may sit, so that equal values stay visible apart.
	stripSpread = 0.18
)

// Strips draws one small panel per strip in a grid, each with a column per
// group: a dot per run, and a bar at the group's median, so that the
// spread of the runs reads against the difference between the groups. A
// strip without values says so in its title; the error wraps ErrNoData
// only when there are no strips or no groups.
func Strips(path string, groups []string, strips []Strip, opts ...Option) error {
	cfg := newConfig(opts)
	if len(strips) == 0 || len(groups) == 0 {
		return drawing("strips", ErrNoData)
	}
	cols := min(stripCols, len(strips))
	nRows := (len(strips) + cols - 1) / cols
	cells := make([][]*plot.Plot, nRows)
	for r := range cells {
		cells[r] = make([]*plot.Plot, cols)
	}
	for i, s := range strips {
		p, err := stripPlot(s, groups)
		if err != nil {
			return drawing("strips", err)
		}
		cells[i/cols][i%cols] = p
	}
	w, h := cfg.size(stripWidth*vg.Length(cols), stripHeight*vg.Length(nRows))
	img, c := whiteCanvas(w, h, cfg.dpi)
	tiles := draw.Tiles{Rows: nRows, Cols: cols, PadX: vg.Points(14), PadY: vg.Points(10)}
	canvases := plot.Align(cells, tiles, c)
	for r, row := range cells {
		for col, p := range row {
			if p != nil {
				p.Draw(canvases[r][col])
			}
		}
	}
	if err := writePNG(path, img); err != nil {
		return drawing("strips", err)
	}
	return nil
}

func stripPlot(s Strip, groups []string) (*plot.Plot, error) {
	p := newPlot(s.Title, "", "")
	p.Title.TextStyle.Font.Size = labelSize
	p.Add(grid())
	p.NominalX(groups...)
	p.X.Min, p.X.Max = -0.5, float64(len(groups))-0.5
	drawnAny := false
	for g := range groups {
		if g >= len(s.Values) {
			break
		}
		ok, err := addStrip(p, float64(g), s.Values[g], seriesColor(g))
		if err != nil {
			return nil, err
		}
		drawnAny = drawnAny || ok
	}
	if !drawnAny {
		p.Title.Text += " (no data)"
		p.Y.Min, p.Y.Max = 0, 1
		return p, nil
	}
	p.Y.Min = math.Min(p.Y.Min, 0)
	p.Y.Max += (p.Y.Max - p.Y.Min) * 0.08
	if p.Y.Max == p.Y.Min {
		p.Y.Max = p.Y.Min + 1
	}
	return p, nil
}

// addStrip draws one group's runs at x and a bar at their median; it
// reports false when the group has no value.
func addStrip(p *plot.Plot, x float64, values []float64, c color.Color) (bool, error) {
	var pts plotter.XYs
	var kept []float64
	for i, v := range values {
		if math.IsNaN(v) {
			continue
		}
		off := 0.0
		if len(values) > 1 {
			off = stripSpread * (2*float64(i)/float64(len(values)-1) - 1)
		}
		pts = append(pts, plotter.XY{X: x + off, Y: v})
		kept = append(kept, v)
	}
	if len(pts) == 0 {
		return false, nil
	}
	dots, err := plotter.NewScatter(pts)
	if err != nil {
		return false, err
	}
	dots.Color, dots.Shape, dots.Radius = c, draw.CircleGlyph{}, vg.Points(3.5)
	m := median(kept)
	bar, err := plotter.NewLine(plotter.XYs{{X: x - 0.3, Y: m}, {X: x + 0.3, Y: m}})
	if err != nil {
		return false, err
	}
	bar.Color, bar.Width = c, vg.Points(1.5)
	p.Add(bar, dots)
	return true, nil
}

// median of values, which must not be empty: the mean of the middle two
// for an even count.
func median(values []float64) float64 {
	s := slices.Sorted(slices.Values(values))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
