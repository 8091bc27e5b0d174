package plots

import (
	"cmp"
	"image/color"
	"math"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Height of a bar's row, and of everything else, for SortedBars' height.
const (
	rowHeight  = 0.22 * vg.Inch
	barsFrame  = 1.4 * vg.Inch
	floorValue = time.Millisecond // the value axis' lowest start
)

// SortedBars draws one horizontal bar per Bar, largest at the top, its
// label on the y axis and its value written on it, with each Line as a
// dashed reference line labelled at its foot. The value axis is in seconds
// on a log scale, as API call latencies span 10 ms to seconds while their
// SLO lines stand at 1 s, 5 s and 30 s; xLabel names the value without a
// unit, and the axis reads "xLabel (s, log scale)". The height grows with
// the number of bars unless Size sets it; a value of zero or less draws no
// bar.
func SortedBars(path string, bars []Bar, lines []Line, xLabel, title string, opts ...Option) error {
	cfg := newConfig(opts)
	if len(bars) == 0 {
		return drawing("bars "+title, ErrNoData)
	}
	sorted := slices.SortedStableFunc(slices.Values(bars), func(a, b Bar) int { return cmp.Compare(b.Value, a.Value) })
	// Row 0 is at the bottom: the largest bar goes in the last row.
	n := len(sorted)
	b := hbars{values: make([]float64, n), labels: make([]string, n), color: palette[0],
		text: text.Style{Color: color.Gray{Y: 60}, Font: font.From(sans, noteSize), XAlign: draw.XLeft,
			YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}}
	names := make([]string, n)
	for i, bar := range sorted {
		row := n - 1 - i
		b.values[row], b.labels[row], names[row] = seconds(bar.Value), formatDuration(bar.Value), bar.Label
	}
	p := newPlot(title, xLabel+" (s, log scale)", "")
	g := grid()
	g.Horizontal.Color = nil // would run through the bars
	p.Add(g)
	// Lines go behind the bars: a bar past a line then shows it, and the
	// value written in the bar stays clear.
	for _, l := range lines {
		if l.Value > 0 {
			p.Add(newVLine(seconds(l.Value), l.Label, true))
		}
	}
	p.Add(b)
	p.NominalY(names...)
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Min, p.X.Max = logRange(sorted, lines)
	w, h := cfg.size(defaultWidth, max(defaultHeight, barsFrame+rowHeight*vg.Length(n)))
	if err := render(path, p, nil, beside, w, h, cfg.dpi); err != nil {
		return drawing("bars "+title, err)
	}
	return nil
}

// logRange starts the value axis at the power of ten below the smallest
// positive value, so it begins on a labelled tick, and ends far enough
// right of the largest bar and line for the value written after the bar.
func logRange(bars []Bar, lines []Line) (lo, hi float64) {
	lo, hi = math.Inf(1), seconds(floorValue)
	for _, b := range bars {
		if b.Value > 0 {
			lo = math.Min(lo, seconds(b.Value))
			hi = math.Max(hi, 3*seconds(b.Value))
		}
	}
	for _, l := range lines {
		if l.Value > 0 {
			lo = math.Min(lo, seconds(l.Value))
			hi = math.Max(hi, 1.5*seconds(l.Value))
		}
	}
	if math.IsInf(lo, 1) {
		lo = seconds(floorValue)
	}
	return math.Pow10(int(math.Floor(math.Log10(lo)))), hi
}
