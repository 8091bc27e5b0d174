package history

import (
	"errors"
	"math"
	"path/filepath"

	"github.com/hollowmark/hollowmark/plots"
)

// File is the trend table's name in the output directory.
const File = "history.md"

// trend is one plot of the history.
type trend struct {
	file, yLabel string
	series       []plots.TrendSeries
}

// Plot writes one trend plot per key metric into dir, marking runs that
// violated an SLO or failed, and returns the files written. A metric no
// run measured is left out.
func Plot(dir string, entries []Entry) ([]string, error) {
	labels := make([]string, len(entries))
	violated := make([]bool, len(entries))
	for i, e := range entries {
		labels[i] = e.Run.Started.UTC().Format("01-02 15:04")
		violated[i] = len(e.Violated) > 0 || e.Run.Error != ""
	}
	values := func(f func(Entry) float64) []float64 {
		out := make([]float64, len(entries))
		for i, e := range entries {
			out[i] = f(e)
		}
		return out
	}
	startup := func(pick func(Entry) float64) func(Entry) float64 {
		return func(e Entry) float64 {
			if e.PodStartup.Count == 0 {
				return math.NaN()
			}
			return pick(e)
		}
	}
	trends := []trend{
		{"history_pod_startup.png", "pod startup (s)", []plots.TrendSeries{
			{Name: "p50", Values: values(startup(func(e Entry) float64 { return e.PodStartup.P50.Seconds() }))},
			{Name: "p90", Values: values(startup(func(e Entry) float64 { return e.PodStartup.P90.Seconds() }))},
			{Name: "p99", Values: values(startup(func(e Entry) float64 { return e.PodStartup.P99.Seconds() }))},
		}},
		{"history_api_slowest.png", "slowest call kind p99 (s)", []plots.TrendSeries{
			{Name: "p99", Values: values(func(e Entry) float64 { return orNaN(e.SlowestCallP99.Seconds()) })}}},
		{"history_scheduling.png", "scheduling throughput p50 (pods/s)", []plots.TrendSeries{
			{Name: "p50", Values: values(func(e Entry) float64 { return orNaN(e.SchedulingP50) })}}},
		{"history_cpu.png", "CPU p50 (cores)", []plots.TrendSeries{
			{Name: "kube-apiserver", Values: values(func(e Entry) float64 { return orNaN(e.APIServerCPU) })},
			{Name: "hollowmark (hollow nodes)", Values: values(func(e Entry) float64 { return orNaN(e.HollowCPU) })}}},
		{"history_memory.png", "RSS max (MiB)", []plots.TrendSeries{
			{Name: "kube-apiserver", Values: values(func(e Entry) float64 { return orNaN(e.APIServerMemory) })},
			{Name: "hollowmark (hollow nodes)", Values: values(func(e Entry) float64 { return orNaN(e.HollowMemory) })}}},
	}
	var written []string
	for _, t := range trends {
		path := filepath.Join(dir, t.file)
		err := plots.Trend(path, labels, t.series, violated, t.yLabel)
		switch {
		case errors.Is(err, plots.ErrNoData):
			continue
		case err != nil:
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}

// orNaN marks an unmeasured (zero) value as missing.
func orNaN(v float64) float64 {
	if v == 0 {
		return math.NaN()
	}
	return v
}
