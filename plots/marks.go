package plots

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Marks gonum's plotter package lacks: reference lines labelled where they
// are, and horizontal bars on a log axis (its BarChart grows bars from
// zero, which a log scale cannot place).

// vline is a vertical reference line across the data area, labelled at its
// foot, to its right.
type vline struct {
	x     float64
	label string
	style draw.LineStyle
	text  text.Style
}

// newVLine is a dashed line in the SLO colour. An upright label reads
// upwards along the line, so that close lines keep their labels apart.
func newVLine(x float64, label string, upright bool) vline {
	sty := text.Style{Color: sloColor, Font: font.From(sans, noteSize), XAlign: draw.XLeft, YAlign: draw.YBottom,
		Handler: plot.DefaultTextHandler}
	if upright {
		// Rotated a quarter turn, the text's top faces left: aligning
		// it there puts it right of the line.
		sty.Rotation, sty.YAlign = math.Pi/2, draw.YTop
	}
	return vline{x: x, label: label, text: sty, style: draw.LineStyle{Color: sloColor, Width: vg.Points(1.2),
		Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}}
}

func (l vline) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x := trX(l.x)
	if x < c.Min.X || x > c.Max.X {
		return
	}
	c.StrokeLine2(l.style, x, c.Min.Y, x, c.Max.Y)
	pad := vg.Points(3)
	c.FillText(l.text, vg.Point{X: x + pad, Y: c.Min.Y + pad}, l.label)
}

// DataRange widens only the x axis, to show the line.
func (l vline) DataRange() (xmin, xmax, ymin, ymax float64) {
	return l.x, l.x, math.Inf(1), math.Inf(-1)
}

// Thumbnail makes the line a legend entry.
func (l vline) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(l.style, c.Min.X, y, c.Max.X, y)
}

// hbars are horizontal bars, row i centred at y = i, growing from the
// x axis' minimum, each with its value written after it.
type hbars struct {
	values []float64
	labels []string
	color  color.Color
	text   text.Style
}

// barThickness is a bar's share of its row.
const barThickness = 0.7

func (b hbars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	x0 := trX(p.X.Min)
	pad := vg.Points(3)
	for i, v := range b.values {
		x1 := x0
		if v > p.X.Min {
			x1 = trX(math.Min(v, p.X.Max))
		}
		y0, y1 := trY(float64(i)-barThickness/2), trY(float64(i)+barThickness/2)
		if x1 > x0 {
			c.FillPolygon(b.color, c.ClipPolygonXY([]vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}))
		}
		// The value goes inside the bar's end when it fits, where no
		// reference line crosses it.
		sty, at := b.text, x1+pad
		if x1-x0 > sty.Width(b.labels[i])+2*pad {
			sty.Color, sty.XAlign, at = color.White, draw.XRight, x1-pad
		}
		c.FillText(sty, vg.Point{X: at, Y: trY(float64(i))}, b.labels[i])
	}
}

// DataRange is the rows only: the caller sets the value axis, which a log
// scale needs to start above zero.
func (b hbars) DataRange() (xmin, xmax, ymin, ymax float64) {
	return math.Inf(1), math.Inf(-1), -0.5, float64(len(b.values)) - 0.5
}
