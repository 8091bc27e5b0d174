// Package history follows key metrics across many runs (e.g. a nightly
// job's results directories), the way the performance dashboards' build
// pages do, marking runs that violated an SLO.
package history

import (
	"cmp"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hollowmark/hollowmark/measurements"
	"github.com/hollowmark/hollowmark/results"
)

// Entry is one run's key metrics. Zero values were not measured.
type Entry struct {
	Dir     string
	Run     *results.Run
	Verdict string
	// Violated names the SLO checks that failed.
	Violated []string
	// PodStartup is the stateless pod startup check's percentiles, and
	// PodTimestamps the definition they were taken under: "watch", or
	// "api" (also for runs from before the choice).
	PodStartup    results.Percentiles
	PodTimestamps string
	// SlowestCall is the call kind with the highest p99 relative to its
	// threshold, and that p99: of its worst window, or of the whole run
	// for runs from before windows (APIWholeRun).
	SlowestCall    string
	SlowestCallP99 time.Duration
	APIWholeRun    bool
	// SchedulingP50 is the median scheduling throughput, pods/s.
	SchedulingP50 float64
	// APIServerCPU and APIServerMemory are the API server's median CPU
	// (cores) and peak RSS (MiB); HollowCPU and HollowMemory the same of
	// the hollowmark process, which runs the hollow kubelets (the builds
	// page of the node performance dashboard plots the kubelet's).
	APIServerCPU, APIServerMemory float64
	HollowCPU, HollowMemory       float64
}

// Read finds the results directories under dir (any depth) and returns
// their entries, oldest first. Directories that are not results are
// skipped; a results directory that cannot be read is an error.
func Read(dir string) ([]Entry, error) {
	var dirs []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == results.RunFile {
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finding runs in %s: %w", dir, err)
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("no runs (directories with %s) in %s", results.RunFile, dir)
	}
	var entries []Entry
	for _, d := range dirs {
		r, err := results.ReadRun(d)
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry(d, r))
	}
	slices.SortStableFunc(entries, func(a, b Entry) int { return a.Run.Started.Compare(b.Run.Started) })
	return entries, nil
}

func entry(dir string, r *results.Run) Entry {
	e := Entry{Dir: dir, Run: r, Verdict: r.Verdict()}
	// Every API call latency check's name starts so; the call kind follows.
	apiCheckPrefix := measurements.APIResponsivenessCheck("")
	worst := -1.0
	for _, c := range r.Checks() {
		if c.Fails() {
			e.Violated = append(e.Violated, c.Name())
		}
		switch {
		case c.SLO == measurements.PodStartupCheck("stateless") && e.PodStartup.Count == 0:
			// The first pod startup measurement, as compare and report use.
			e.PodStartup = c.Measured
		case strings.HasPrefix(c.SLO, apiCheckPrefix) && c.Thresholds.P99 > 0:
			if ratio := float64(c.Measured.P99) / float64(c.Thresholds.P99); ratio > worst {
				worst, e.SlowestCall, e.SlowestCallP99 = ratio, strings.TrimPrefix(c.SLO, apiCheckPrefix), c.Measured.P99
			}
		}
	}
	for _, m := range r.Measurements {
		switch {
		case m.Method == measurements.PodStartupLatencyName && e.PodTimestamps == "":
			e.PodTimestamps = cmp.Or(m.Definitions["timestampSource"], "api")
		case m.Method == measurements.APIResponsivenessName:
			e.APIWholeRun = m.Definitions["window"] == ""
		}
		for _, it := range m.Summary.PerfData.DataItems {
			switch {
			case m.Method == measurements.SchedulingThroughputName && it.Labels["Metric"] == measurements.SchedulingThroughputName:
				e.SchedulingP50 = it.Data["Perc50"]
			case m.Method == measurements.ResourceUsageName:
				e.addUsage(it.Labels["Component"], it.Labels["Metric"], it.Data)
			}
		}
	}
	return e
}

func (e *Entry) addUsage(component, metric string, data map[string]float64) {
	var cpu, mem *float64
	switch component {
	case "kube-apiserver":
		cpu, mem = &e.APIServerCPU, &e.APIServerMemory
	case "hollowmark":
		cpu, mem = &e.HollowCPU, &e.HollowMemory
	default:
		return
	}
	switch metric {
	case "CPU":
		*cpu = data["Perc50"]
	case "Memory":
		*mem = data["Max"]
	}
}

// Markdown is the trend table, one row per run, oldest first.
func Markdown(entries []Entry) string {
	var b strings.Builder
	violating := 0
	for _, e := range entries {
		if len(e.Violated) > 0 || e.Run.Error != "" {
			violating++
		}
	}
	fmt.Fprintf(&b, "%d runs, %d of them violated an SLO or failed.\n\n", len(entries), violating)
	b.WriteString("| # | run | started | nodes | verdict | pod startup p50 | p90 | p99 | slowest call (p99) | scheduling p50 (pods/s) " +
		"| apiserver CPU p50 (cores) | apiserver RSS max (MiB) | hollowmark CPU p50 (cores) | hollowmark RSS max (MiB) |\n")
	b.WriteString("|---:|---|---|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|\n")
	for i, e := range entries {
		verdict := e.Verdict
		if len(e.Violated) > 0 {
			verdict = fmt.Sprintf("**%s**: %s", e.Verdict, strings.Join(e.Violated, "; "))
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", i+1, e.Run.ID,
			e.Run.Started.UTC().Format("2006-01-02 15:04"), e.Run.Cluster.Nodes, verdict,
			startup(e, e.PodStartup.P50), startup(e, e.PodStartup.P90), startup(e, e.PodStartup.P99), slowest(e),
			number(e.SchedulingP50), number(e.APIServerCPU), number(e.APIServerMemory), number(e.HollowCPU), number(e.HollowMemory))
	}
	if slices.ContainsFunc(entries, func(e Entry) bool { return e.PodStartup.Count > 0 && e.PodTimestamps == "api" }) {
		b.WriteString("\n" + apiMark + " pod startup from the API's timestamps, truncated to the second (timestampSource: api, " +
			"as every run before watch times): up to a second longer than from watch receive times, as the other runs.\n")
	}
	if slices.ContainsFunc(entries, func(e Entry) bool { return e.SlowestCall != "" && e.APIWholeRun }) {
		b.WriteString("\n" + wholeRunMark + " API call p99 over the whole run (runs from before windows); the others are of the worst window.\n")
	}
	return b.String()
}

// Marks of figures defined as they were before watch times and windows.
const (
	apiMark      = "†"
	wholeRunMark = "‡"
)

// startup is a pod startup percentile, marked if of the API's timestamps.
func startup(e Entry, d time.Duration) string {
	s := duration(d, e.PodStartup.Count)
	if e.PodStartup.Count > 0 && e.PodTimestamps == "api" {
		s += " " + apiMark
	}
	return s
}

func duration(d time.Duration, samples int) string {
	if samples == 0 {
		return "–"
	}
	return results.FormatDuration(d)
}

func slowest(e Entry) string {
	if e.SlowestCall == "" {
		return "–"
	}
	s := fmt.Sprintf("%s (%s)", e.SlowestCall, results.FormatDuration(e.SlowestCallP99))
	if e.APIWholeRun {
		s += " " + wholeRunMark
	}
	return s
}

func number(v float64) string {
	if v == 0 {
		return "–"
	}
	return fmt.Sprintf("%.3f", v)
}
