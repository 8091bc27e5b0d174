// Package plots draws a run's figures as PNG files: the pod startup CDF,
// the phase breakdown of pod startup, lines over time, and sorted bars of
// API call latency. Each function draws one plot into one file from plain
// values; data.go computes those values from an analysis.Run.
//
// Empty input is an error wrapping ErrNoData and no file is written: a
// report can then leave the figure out, or say why, rather than show an
// empty frame.
package plots

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/hollowmark/hollowmark/results"
)

// ErrNoData is wrapped by the error for input with nothing to draw.
var ErrNoData = errors.New("no data")

// Series is one named sample set of pod startup latencies.
type Series struct {
	Name    string
	Samples []time.Duration
}

// PhaseBar is one stacked bar: Label names it (e.g. "p99"), Segments
// stack from the bottom in order.
type PhaseBar struct {
	Label    string
	Segments []Segment
}

// Segment is one named part of a stacked bar.
type Segment struct {
	Name  string
	Value time.Duration
}

// TimeSeries is one named line over time.
type TimeSeries struct {
	Name   string
	Points []Point
}

// Point is a value at a time since the plot's start.
type Point struct {
	T time.Duration
	V float64
}

// Bar is one labelled value of a bar chart.
type Bar struct {
	Label string
	Value time.Duration
}

// Line is a labelled reference value drawn across a bar chart.
type Line struct {
	Label string
	Value time.Duration
}

// Option adjusts a plot. Options that do not apply to a plot are ignored.
type Option func(*config)

type config struct {
	width, height vg.Length
	dpi           int
	title, xLabel string
	step          plotter.StepKind
}

// Default size: wide enough for a legend beside the data, and it fits a
// report page without scaling.
const (
	defaultWidth  = 8 * vg.Inch
	defaultHeight = 4.5 * vg.Inch
)

func newConfig(opts []Option) config {
	c := config{dpi: vgimg.DefaultDPI}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// Size sets the image size; a zero length keeps the default.
func Size(width, height vg.Length) Option {
	return func(c *config) { c.width, c.height = width, height }
}

// DPI sets the image resolution in dots per inch (default 96).
func DPI(dpi int) Option {
	return func(c *config) {
		if dpi > 0 {
			c.dpi = dpi
		}
	}
}

// Title replaces the plot's default title.
func Title(title string) Option {
	return func(c *config) { c.title = title }
}

// XLabel replaces a Timeline's x axis label, for series whose T is not a
// time since the start of one run (trends across runs).
func XLabel(label string) Option {
	return func(c *config) { c.xLabel = label }
}

// StepAfter draws Timeline series as steps that hold each value until the
// next point: right for cumulative counts.
func StepAfter() Option {
	return func(c *config) { c.step = plotter.PostStep }
}

// StepBefore draws Timeline series as steps that hold each value since the
// previous point: right for rates averaged over the interval ending at
// their point.
func StepBefore() Option {
	return func(c *config) { c.step = plotter.PreStep }
}

func (c config) titleOr(def string) string {
	if c.title != "" {
		return c.title
	}
	return def
}

// size is the configured size, or width by height.
func (c config) size(width, height vg.Length) (vg.Length, vg.Length) {
	if c.width > 0 {
		width = c.width
	}
	if c.height > 0 {
		height = c.height
	}
	return width, height
}

// Liberation Sans reads better than gonum's default serif at small sizes.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

const (
	titleSize  = 13
	labelSize  = 11
	tickSize   = 10
	legendSize = 10
	noteSize   = 9
)

// newPlot is a plot with the package's fonts, a title and axis labels.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, titleSize)
	p.Title.Padding = vg.Points(6)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, labelSize)
		a.Tick.Label.Font = font.From(sans, tickSize)
	}
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	p.X.Tick.Marker, p.Y.Tick.Marker = plainTicks{}, plainTicks{}
	return p
}

// plainTicks label about five to ten round values (steps of 1, 2, 2.5
// or 5 times a power of ten) with the digits they need: "250", not
// "250.00". gonum's default can label as few as two.
type plainTicks struct{}

func (plainTicks) Ticks(min, max float64) []plot.Tick {
	if !(max > min) || math.IsInf(max-min, 0) {
		return plot.DefaultTicks{}.Ticks(min, max)
	}
	step := niceStep((max - min) / 8)
	// A little slack, so that float error does not drop a tick at max.
	last := max + step*1e-9
	var ticks []plot.Tick
	for i := math.Ceil(min/step - 1e-9); i*step <= last; i++ {
		// Rounding to 12 digits drops float noise such as 0.30000000000000004.
		v, _ := strconv.ParseFloat(strconv.FormatFloat(i*step, 'g', 12, 64), 64)
		if v == 0 {
			v = 0 // not -0
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
		if mid := (i + 0.5) * step; mid <= last {
			ticks = append(ticks, plot.Tick{Value: mid})
		}
	}
	return ticks
}

// niceStep is the smallest of 1, 2, 2.5 and 5 times a power of ten that
// is at least min.
func niceStep(min float64) float64 {
	pow := math.Pow10(int(math.Floor(math.Log10(min))))
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*pow >= min {
			return m * pow
		}
	}
	return 10 * pow
}

// newLegend is a legend in the package's font, drawn beside the plot.
func newLegend() plot.Legend {
	l := plot.NewLegend()
	l.TextStyle.Font = font.From(sans, legendSize)
	l.Top, l.Left = true, true
	l.Padding = vg.Points(3)
	return l
}

// grid is a light grid that helps read values off the axes without
// competing with the data.
func grid() *plotter.Grid {
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{Y: 215}
	g.Horizontal.Color = color.Gray{Y: 215}
	return g
}

// palette is Okabe and Ito's colour-blind safe set, without its yellow,
// which is too light on white.
var palette = [...]color.RGBA{
	{0x00, 0x72, 0xB2, 0xFF}, // blue
	{0xE6, 0x9F, 0x00, 0xFF}, // orange
	{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
	{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
	{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	{0x00, 0x00, 0x00, 0xFF}, // black
}

func seriesColor(i int) color.Color { return palette[i%len(palette)] }

// sloColor marks SLO thresholds.
var sloColor = color.RGBA{0xC0, 0x00, 0x00, 0xFF}

func seconds(d time.Duration) float64 { return d.Seconds() }

// margin keeps text off the image's edge.
const margin vg.Length = 4 // points

// legendGap separates the plot from its legend.
const legendGap vg.Length = 8 // points, the unit of vg.Length

// placement is where a legend goes: beside the plot suits many short
// names, below it a few long ones, and neither covers data.
type placement int

const (
	beside placement = iota
	below
)

// render draws p, and its legend when there is one with entries, and
// writes the image to path as PNG.
func render(path string, p *plot.Plot, legend *plot.Legend, where placement, width, height vg.Length, dpi int) error {
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(dpi))
	c := draw.New(img)
	// The canvas starts transparent; a PNG viewer would show the legend
	// on its checkerboard.
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	c = draw.Crop(c, margin, -margin, margin, -margin)
	plotArea := c
	if legend != nil && legend.Rectangle(c).Size().X > 0 {
		size := legend.Rectangle(c).Size()
		var area vg.Rectangle
		switch where {
		case beside:
			w := size.X + 2*legendGap
			plotArea = draw.Crop(c, 0, -w, 0, 0)
			data := p.DataCanvas(plotArea)
			area = vg.Rectangle{Min: vg.Point{X: c.Max.X - w + legendGap, Y: data.Min.Y},
				Max: vg.Point{X: c.Max.X - legendGap, Y: data.Max.Y}}
		case below:
			h := size.Y + legendGap
			plotArea = draw.Crop(c, 0, 0, h, 0)
			data := p.DataCanvas(plotArea)
			area = vg.Rectangle{Min: vg.Point{X: data.Min.X, Y: c.Min.Y}, Max: vg.Point{X: c.Max.X, Y: c.Min.Y + size.Y}}
		}
		legend.Draw(draw.Canvas{Canvas: c.Canvas, Rectangle: area})
	}
	p.Draw(plotArea)
	return writePNG(path, img)
}

func writePNG(path string, img *vgimg.Canvas) error {
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return err
	}
	return results.WriteFile(path, b.Bytes())
}

// xys converts points to plotter coordinates, time in seconds.
func xys(points []Point) plotter.XYs {
	out := make(plotter.XYs, len(points))
	for i, pt := range points {
		out[i] = plotter.XY{X: seconds(pt.T), Y: pt.V}
	}
	return out
}

// formatDuration rounds d for a label: "391ms", "1.23s", "45s".
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < 10*time.Second:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func drawing(what string, err error) error {
	return fmt.Errorf("drawing %s: %w", what, err)
}
