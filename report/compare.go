package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/hollowmark/hollowmark/analysis"
	"github.com/hollowmark/hollowmark/compare"
	"github.com/hollowmark/hollowmark/plots"
	"github.com/hollowmark/hollowmark/results"
)

// Files of a comparison.
const (
	ComparisonFile         = "compare.html"
	ComparisonMarkdownFile = "compare.md"
	comparisonCDFFile      = "pod_startup_cdf.png"
)

//go:embed compare.html.tmpl
var comparisonTemplate string

// WriteComparison writes compare.md, compare.html and the overlaid pod
// startup CDFs of base and candidate into dir.
func WriteComparison(dir string, base, cand *analysis.Run, c *compare.Comparison) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := results.WriteFile(filepath.Join(dir, ComparisonMarkdownFile), []byte(c.Markdown())); err != nil {
		return fmt.Errorf("writing comparison: %w", err)
	}
	cdf := Plot{File: comparisonCDFFile, Title: "Pod startup latency CDF, base and candidate"}
	// Both curves under the definition the comparison used.
	baseRun, candRun := *base, *cand
	baseRun.PodTimestamps, candRun.PodTimestamps = c.PodTimestamps, c.PodTimestamps
	series := []plots.Series{{Name: "base " + base.Record.ID, Samples: plots.StartupSamples(&baseRun)},
		{Name: "candidate " + cand.Record.ID, Samples: plots.StartupSamples(&candRun)}}
	if len(series[0].Samples) == 0 && len(series[1].Samples) == 0 {
		cdf.Missing = "neither run measured pod startup"
	} else if err := plots.StartupCDF(filepath.Join(dir, cdf.File), series, startupThreshold(cand.Record)); err != nil {
		cdf.Missing = err.Error()
	}
	tmpl, err := template.New("compare").Funcs(template.FuncMap{
		"value":  formatValue,
		"pct":    formatPercent,
		"ci":     formatInterval,
		"p":      formatP,
		"class":  verdictClass,
		"string": func(v compare.Verdict) string { return string(v) },
		"pct100": func(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) },
	}).Parse(comparisonTemplate)
	if err != nil {
		return fmt.Errorf("parsing comparison template: %w", err)
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, struct {
		C           *compare.Comparison
		Regressions int
		CDF         Plot
		Threshold   string
	}{c, len(c.Regressions()), cdf, startupThreshold(cand.Record).String()}); err != nil {
		return fmt.Errorf("rendering comparison: %w", err)
	}
	if err := results.WriteFile(filepath.Join(dir, ComparisonFile), []byte(b.String())); err != nil {
		return fmt.Errorf("writing comparison: %w", err)
	}
	return nil
}

func formatValue(v float64, unit string) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.3f %s", v, unit)
}

func formatPercent(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%+.1f%%", v)
}

func formatInterval(lo, hi float64, unit string) string {
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return "–"
	}
	return fmt.Sprintf("[%+.3f, %+.3f] %s", lo, hi, unit)
}

func formatP(p float64) string {
	if math.IsNaN(p) {
		return "–"
	}
	return fmt.Sprintf("%.3g", p)
}

func verdictClass(v compare.Verdict) string {
	switch v {
	case compare.Regression:
		return "regression"
	case compare.Improvement:
		return "improvement"
	}
	return ""
}
