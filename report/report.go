// Package report turns a results directory into what people read: a
// self-contained report.html with PNG plots beside it, and a summary.md
// that points to them.
package report

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hollowmark/hollowmark/analysis"
	"github.com/hollowmark/hollowmark/measurements"
	"github.com/hollowmark/hollowmark/plots"
	"github.com/hollowmark/hollowmark/results"
)

// File is the report's name in the results directory.
const File = "report.html"

//go:embed report.html.tmpl
var pageTemplate string

// Plot is one figure of the report; Missing says why it was not drawn.
type Plot struct {
	File, Title, Caption, Missing string
}

// slowestCount is how many call kinds the slowest-calls table lists.
const slowestCount = 10

// Write renders report.html and its plots into the results directory dir,
// and rewrites summary.md with a pointer to them. It returns the plots.
func Write(dir string) ([]Plot, error) {
	run, err := analysis.Load(dir)
	if err != nil {
		return nil, err
	}
	figures := drawPlots(dir, run)
	page, err := render(run, figures)
	if err != nil {
		return nil, err
	}
	if err := results.WriteFile(filepath.Join(dir, File), page); err != nil {
		return nil, fmt.Errorf("writing report: %w", err)
	}
	if err := results.WriteFile(filepath.Join(dir, results.SummaryFile), []byte(summary(run.Record, figures))); err != nil {
		return nil, fmt.Errorf("writing summary: %w", err)
	}
	return figures, nil
}

// summary is the run's Markdown summary with the report's files listed.
func summary(r *results.Run, figures []Plot) string {
	var b strings.Builder
	b.WriteString(r.Markdown())
	b.WriteString("## Report\n\n")
	fmt.Fprintf(&b, "[%s](%s) shows the checks with plots:\n\n", File, File)
	for _, f := range figures {
		if f.Missing == "" {
			fmt.Fprintf(&b, "- [%s](%s)\n", f.Title, f.File)
		} else {
			fmt.Fprintf(&b, "- %s: not drawn, %s\n", f.Title, f.Missing)
		}
	}
	return b.String()
}

// drawPlots draws every figure the run's data allows; a figure that cannot
// be drawn says why instead of failing the report.
func drawPlots(dir string, run *analysis.Run) []Plot {
	start := run.Record.Started
	cpu, mem := plots.UsageSeries(run, start)
	threshold := startupThreshold(run.Record)
	samples := plots.StartupSamples(run)
	specs := []struct {
		plot Plot
		has  bool
		why  string
		draw func(path string) error
	}{
		{Plot{File: "pod_startup_cdf.png", Title: "Pod startup latency CDF",
			Caption: fmt.Sprintf("Share of the %d measured stateless pods running (as seen by a watch) within a given time of creation (%s); the dashed line is the SLO threshold.", len(samples), createdDefinition(run))},
			len(samples) > 0, "no pod startup was measured",
			func(p string) error {
				return plots.StartupCDF(p, []plots.Series{{Name: run.Record.ID, Samples: samples}}, threshold)
			}},
		{Plot{File: "pod_startup_phases.png", Title: "Pod startup phases at p50, p90, p99",
			Caption: phasesCaption(run)},
			len(samples) > 0, "no pod startup was measured",
			func(p string) error { return plots.PhaseBreakdown(p, plots.PhaseBars(run)) }},
		{Plot{File: "pod_timeline.png", Title: "Measured pods over time",
			Caption: "Pods of the pod startup measurement created, scheduled and seen running, cumulative, since the run started."},
			len(run.Pods) > 0, "no pod startup was measured",
			func(p string) error {
				_, series := plots.PodTimeline(run)
				return plots.Timeline(p, series, "pods")
			}},
		{Plot{File: "scheduling_throughput.png", Title: "Scheduling throughput",
			Caption: "Pods scheduled per second in each interval of the scheduling throughput measurement."},
			len(run.Throughput) > 0, "no scheduling throughput was measured",
			func(p string) error {
				return plots.Timeline(p, plots.ThroughputSeries(run, start), "pods scheduled per second")
			}},
		{Plot{File: "api_call_p99.png", Title: "API call latency p99 by call kind",
			Caption: apiCaption(run)},
			len(run.APICalls) > 0, "no API call latency was measured",
			func(p string) error {
				return plots.SortedBars(p, plots.APIBars(run), plots.APILines(), "p99 latency", apiTitle(run))
			}},
		{Plot{File: "cpu.png", Title: "CPU use per component",
			Caption: "CPU cores used by each control-plane process and by hollowmark (which runs the hollow nodes), per sampling interval."},
			len(cpu) > 0, "no resource usage was measured",
			func(p string) error { return plots.Timeline(p, cpu, "CPU (cores)") }},
		{Plot{File: "memory.png", Title: "Memory per component",
			Caption: "Resident memory of each control-plane process and of hollowmark."},
			len(mem) > 0, "no resource usage was measured",
			func(p string) error { return plots.Timeline(p, mem, "RSS (MiB)") }},
	}
	var out []Plot
	for _, s := range specs {
		p := s.plot
		switch {
		case !s.has:
			p.Missing = s.why
		default:
			if err := s.draw(filepath.Join(dir, p.File)); err != nil {
				p.Missing = err.Error()
			}
		}
		out = append(out, p)
	}
	return out
}

// startupThreshold is the p99 bound of the run's pod startup check.
func startupThreshold(r *results.Run) time.Duration {
	for _, c := range r.Checks() {
		if strings.HasPrefix(c.SLO, measurements.PodStartupLatencyName) && c.Thresholds.P99 > 0 {
			return c.Thresholds.P99
		}
	}
	return measurements.DefaultPodStartupThreshold
}

// slowCall is a call kind's row of the slowest-calls table: the SLO's
// figure (the worst window; the whole run for results from before
// windows) beside the whole run's.
type slowCall struct {
	SLO, Whole analysis.APICall
	Windowed   bool
}

// slowestCalls are the kinds with the highest p99 of the SLO's figure.
func slowestCalls(run *analysis.Run) []slowCall {
	whole := map[measurements.CallKind]analysis.APICall{}
	for _, c := range run.APICalls {
		whole[c.Kind] = c
	}
	var out []slowCall
	for _, c := range run.APIWorst {
		out = append(out, slowCall{SLO: c, Whole: whole[c.Kind], Windowed: true})
	}
	if len(run.APIWorst) == 0 {
		for _, c := range run.APICalls {
			out = append(out, slowCall{SLO: c, Whole: c})
		}
	}
	slices.SortFunc(out, func(a, b slowCall) int { return cmp.Compare(b.SLO.P99, a.SLO.P99) })
	return out[:min(slowestCount, len(out))]
}

// createdDefinition says what "creation" means under the run's definition.
func createdDefinition(run *analysis.Run) string {
	if run.PodTimestamps == measurements.WatchTimes {
		return "the first watch event seen for the pod, as ClusterLoader2"
	}
	return "the API's creationTimestamp, truncated to the second"
}

func phasesCaption(run *analysis.Run) string {
	s := "Each bar is the pod at that percentile of pod startup, split into its phases: scheduling as our watch saw the binding, the kubelet-side phases from the hollow kubelet's probes (when every pod has them)."
	if run.PodTimestamps == measurements.WatchTimes {
		return s + " Creation is the first watch event seen for the pod: no phase holds a truncation to the second."
	}
	return s + " Creation is the API's creationTimestamp, stored to the second, so create→schedule also holds up to a second of that truncation."
}

func apiTitle(run *analysis.Run) string {
	if len(run.APIWorst) > 0 {
		return "API call latency p99, each kind's worst window"
	}
	return "API call latency p99, whole run"
}

func apiCaption(run *analysis.Run) string {
	if len(run.APIWorst) > 0 {
		return "p99 of each call kind from the API server's SLI histogram in its worst sliding window (the SLO's figure), against the SLO thresholds (1 s single object, 5 s namespace LIST, 30 s cluster LIST)."
	}
	return "p99 of each call kind from the API server's SLI histogram over the whole run, against the SLO thresholds (1 s single object, 5 s namespace LIST, 30 s cluster LIST)."
}

// page is what the template shows.
type page struct {
	Run      *results.Run
	Checks   []results.Check
	Plots    []Plot
	Slowest  []slowCall
	Cluster  *analysis.Run
	Duration time.Duration
	Params   []param
}

type param struct {
	Name  string
	Value any
}

func render(run *analysis.Run, figures []Plot) ([]byte, error) {
	checks := run.Record.Checks()
	slices.SortStableFunc(checks, func(a, b results.Check) int {
		return cmp.Compare(boolRank(!a.Violated()), boolRank(!b.Violated()))
	})
	slowest := slowestCalls(run)
	var params []param
	for _, k := range slices.Sorted(maps.Keys(run.Record.Parameters)) {
		params = append(params, param{k, run.Record.Parameters[k]})
	}
	tmpl, err := template.New("report").Funcs(template.FuncMap{
		"dur":   results.FormatDuration,
		"ms":    func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) },
		"time":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"round": func(d time.Duration) time.Duration { return d.Round(time.Second) },
		"join":  strings.Join,
		"table": results.NewDataTable,
	}).Parse(pageTemplate)
	if err != nil {
		return nil, fmt.Errorf("parsing report template: %w", err)
	}
	var b strings.Builder
	err = tmpl.Execute(&b, page{Run: run.Record, Checks: checks, Plots: figures, Slowest: slowest, Cluster: run,
		Duration: run.Record.Ended.Sub(run.Record.Started), Params: params})
	if err != nil {
		return nil, fmt.Errorf("rendering report: %w", err)
	}
	return []byte(b.String()), nil
}

func boolRank(passed bool) int {
	if passed {
		return 1
	}
	return 0
}
