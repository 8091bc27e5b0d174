package benchpeers

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/montanaflynn/stats"
)

// Row is one line of the comparison: a figure every run measures.
type Row struct {
	Key   string // the column of runs.csv
	Label string
}

// Row keys.
const (
	RowNodesReady      = "nodes_ready_s"
	RowEmulatorCPU     = "emulator_idle_cpu_cores"
	RowEmulatorRSS     = "emulator_idle_rss_mib"
	RowAPIServerCPU    = "apiserver_idle_cpu_cores"
	RowAPIServerRSS    = "apiserver_idle_rss_mib"
	RowWatches         = "watches_total"
	RowEmulatorWatches = "watches_emulator"
	RowPodsRunning     = "pods_running_s"
	RowPodsDeleted     = "pods_deleted_s"
	RowNotReady        = "notready_transitions"
)

// Rows are the comparison's rows, in the table's order.
var Rows = []Row{
	{RowNodesReady, "nodes to Ready (s)"},
	{RowEmulatorCPU, "emulator idle CPU (cores)"},
	{RowEmulatorRSS, "emulator idle RSS (MiB)"},
	{RowAPIServerCPU, "kube-apiserver idle CPU (cores)"},
	{RowAPIServerRSS, "kube-apiserver idle RSS (MiB)"},
	{RowWatches, "watches at the API server"},
	{RowEmulatorWatches, "of which the emulator's"},
	{RowPodsRunning, "pods to Running (s)"},
	{RowPodsDeleted, "deletion to zero pods (s)"},
	{RowNotReady, "node NotReady transitions in the pod run"},
}

// RunResult is what one run of one emulator measured.
type RunResult struct {
	ID       string // e.g. "3-hollowmark": the run's place in the order, and its emulator
	Emulator string
	Repeat   int
	Values   map[string]float64 // by row key; a row not measured is missing
	// Partial marks a run that did not finish (interrupted, or failed at
	// Err): the rows it has were measured in full, the others are missing.
	Partial  bool
	Err      string
	NotReady []Transition
}

// Stats are one emulator's runs of one row.
type Stats struct {
	N                int
	Median, Min, Max float64
}

// Summary is one row of the table.
type Summary struct {
	Row Row
	// Stats by emulator, in the order of the table's columns.
	Stats []Stats
	// Ratio is hollowmark's median over KWOK's; NaN when either is missing
	// or KWOK's is zero.
	Ratio   float64
	Verdict string
}

// Summarize computes the table from the runs: per row and emulator the
// median and range of the runs that measured it.
func Summarize(runs []RunResult, emulators []string) []Summary {
	var out []Summary
	for _, row := range Rows {
		s := Summary{Row: row, Ratio: math.NaN()}
		for _, e := range emulators {
			s.Stats = append(s.Stats, statsOf(values(runs, e, row.Key)))
		}
		h, k := slices.Index(emulators, Hollowmark), slices.Index(emulators, KWOK)
		if h >= 0 && k >= 0 {
			s.Ratio = ratio(s.Stats[h], s.Stats[k])
			s.Verdict = verdict(s.Stats[h], s.Stats[k])
		}
		out = append(out, s)
	}
	return out
}

func values(runs []RunResult, emulator, key string) []float64 {
	var out []float64
	for _, r := range runs {
		if v, ok := r.Values[key]; ok && r.Emulator == emulator {
			out = append(out, v)
		}
	}
	return out
}

func statsOf(v []float64) Stats {
	if len(v) == 0 {
		return Stats{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	m, _ := stats.Median(v) // fails only on empty input
	return Stats{N: len(v), Median: m, Min: slices.Min(v), Max: slices.Max(v)}
}

func ratio(h, k Stats) float64 {
	if h.N == 0 || k.N == 0 || k.Median == 0 {
		return math.NaN()
	}
	return h.Median / k.Median
}

// verdict compares hollowmark's runs with KWOK's. With fewer than two
// runs each there is no spread to judge a difference against; when the
// ranges overlap, the difference is smaller than the run-to-run spread and
// is called noise.
func verdict(h, k Stats) string {
	switch {
	case h.N == 0 || k.N == 0:
		return "not measured"
	case h.N < 2 || k.N < 2:
		return "too few runs"
	case h.Min <= k.Max && k.Min <= h.Max:
		return "noise"
	case h.Median < k.Median:
		return "hollowmark lower"
	}
	return "hollowmark higher"
}

// Table renders the summary as a Markdown table.
func Table(summaries []Summary, emulators []string) string {
	var b strings.Builder
	head := []string{"row"}
	for _, e := range emulators {
		head = append(head, e+" median (min–max, n)")
	}
	both := slices.Contains(emulators, Hollowmark) && slices.Contains(emulators, KWOK)
	if both {
		head = append(head, "hollowmark/KWOK", "verdict")
	}
	writeRow(&b, head)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = "---:"
	}
	sep[0] = "---"
	if both {
		sep[len(sep)-1] = "---"
	}
	writeRow(&b, sep)
	for _, s := range summaries {
		cells := []string{s.Row.Label}
		for _, st := range s.Stats {
			cells = append(cells, formatStats(st))
		}
		if both {
			cells = append(cells, formatRatio(s.Ratio), s.Verdict)
		}
		writeRow(&b, cells)
	}
	return b.String()
}

func writeRow(b *strings.Builder, cells []string) {
	b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
}

func formatStats(s Stats) string {
	if s.N == 0 {
		return "—"
	}
	if s.N == 1 {
		return formatValue(s.Median) + " (n=1)"
	}
	return fmt.Sprintf("%s (%s–%s, n=%d)", formatValue(s.Median), formatValue(s.Min), formatValue(s.Max), s.N)
}

func formatRatio(r float64) string {
	if math.IsNaN(r) {
		return "—"
	}
	return formatValue(r)
}

// formatValue prints about three significant digits, and whole numbers
// and values of 100 or more without decimals.
func formatValue(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100 || v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
