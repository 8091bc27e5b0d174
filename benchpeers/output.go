package benchpeers

import (
	"encoding/csv"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hollowmark/hollowmark/plots"
	"github.com/hollowmark/hollowmark/results"
)

// Files in the results directory.
const (
	RunsCSV     = "runs.csv"     // one line per run, a column per row: the raw figures
	SummaryCSV  = "summary.csv"  // per row and emulator: runs, median, min, max; ratio, verdict
	SummaryMD   = "summary.md"   // the table as printed
	SummaryPNG  = "summary.png"  // a panel per row, a dot per run
	NotReadyCSV = "notready.csv" // every node NotReady transition, with the node's name
	LogFile     = "benchpeers.log"
	// In each run's directory under runs/.
	TimelineCSV = "timeline.csv"
	TimelinePNG = "timeline.png"
)

func writeCSV(path string, records [][]string) error {
	var b strings.Builder
	w := csv.NewWriter(&b)
	if err := w.WriteAll(records); err != nil {
		return err
	}
	return results.WriteFile(path, []byte(b.String()))
}

// writeRunsCSV writes the raw figures: a line per run, in run order.
func writeRunsCSV(path string, runs []RunResult) error {
	head := []string{"run", "emulator", "repeat", "partial", "error"}
	for _, r := range Rows {
		head = append(head, r.Key)
	}
	records := [][]string{head}
	for _, run := range runs {
		rec := []string{run.ID, run.Emulator, strconv.Itoa(run.Repeat), strconv.FormatBool(run.Partial), run.Err}
		for _, r := range Rows {
			cell := ""
			if v, ok := run.Values[r.Key]; ok {
				cell = strconv.FormatFloat(v, 'g', -1, 64)
			}
			rec = append(rec, cell)
		}
		records = append(records, rec)
	}
	return writeCSV(path, records)
}

// writeSummaryCSV writes the table with full precision.
func writeSummaryCSV(path string, summaries []Summary, emulators []string) error {
	head := []string{"row", "label"}
	for _, e := range emulators {
		head = append(head, e+"_n", e+"_median", e+"_min", e+"_max")
	}
	head = append(head, "ratio_hollowmark_kwok", "verdict")
	records := [][]string{head}
	for _, s := range summaries {
		rec := []string{s.Row.Key, s.Row.Label}
		for _, st := range s.Stats {
			rec = append(rec, strconv.Itoa(st.N), number(st.Median), number(st.Min), number(st.Max))
		}
		rec = append(rec, number(s.Ratio), s.Verdict)
		records = append(records, rec)
	}
	return writeCSV(path, records)
}

// number is a CSV cell: empty for NaN, a value not measured.
func number(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// writeNotReadyCSV lists every transition of every run.
func writeNotReadyCSV(path string, runs []RunResult) error {
	records := [][]string{{"run", "emulator", "time", "node", "status", "reason", "phase"}}
	for _, run := range runs {
		for _, t := range run.NotReady {
			records = append(records, []string{run.ID, run.Emulator, t.At.UTC().Format(time.RFC3339Nano), t.Node,
				string(t.Status), t.Reason, t.Phase})
		}
	}
	return writeCSV(path, records)
}

// drawSummary draws a panel per row with each run's value by emulator.
func drawSummary(path string, runs []RunResult, emulators []string) error {
	var strips []plots.Strip
	for _, row := range Rows {
		s := plots.Strip{Title: row.Label}
		for _, e := range emulators {
			var v []float64
			for _, run := range runs {
				if run.Emulator != e {
					continue
				}
				x, ok := run.Values[row.Key]
				if !ok {
					x = math.NaN()
				}
				v = append(v, x)
			}
			s.Values = append(s.Values, v)
		}
		strips = append(strips, s)
	}
	return plots.Strips(path, emulators, strips)
}
