package compare

import (
	"fmt"
	"math"
	"strings"

	"github.com/hollowmark/hollowmark/measurements"
)

// Markdown is the comparison as a CI log or a pull-request comment: a
// line counting the verdicts, the rule they follow, and one table row per
// metric, regressions in bold.
func (c *Comparison) Markdown() string {
	var b strings.Builder
	b.WriteString(c.summary() + "\n\n")
	o := c.Options
	fmt.Fprintf(&b, "A regression (improvement) is a change whose whole 95%% confidence interval, by bootstrap, "+
		"lies beyond max(%s of the base value, floor) in the worse (better) direction; floors: %s, %s, %s, %s. "+
		"The p-value (Mann-Whitney U, raw samples only) is for information.\n\n",
		formatPercent(max(o.Tolerance, 0)*100), formatValue(max(o.latencyFloor(), 0), "ms"),
		formatValue(max(o.MinCPU, 0), "cores"), formatValue(max(o.MinMemory, 0), "MiB"),
		formatValue(max(o.MinThroughput, 0), "pods/s"))
	b.WriteString(c.Definitions() + "\n\n")
	if len(c.Rows) == 0 {
		b.WriteString("Neither run has anything to compare.\n")
		return b.String()
	}
	b.WriteString("| group | metric | base | candidate | change | 95% CI of difference | p-value | verdict | samples (base / candidate) |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---|---:|\n")
	for _, r := range c.Rows {
		metric, verdict := escape(r.Metric), string(r.Verdict)
		if r.Verdict == Regression {
			metric, verdict = "**"+metric+"**", "**"+verdict+"**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %d / %d |\n", r.Group, metric,
			formatValue(r.Base, r.Unit), formatValue(r.Candidate, r.Unit), formatChange(r.ChangePercent),
			formatInterval(r), formatP(r.PValue), verdict, r.BaseSamples, r.CandidateSamples)
	}
	return b.String()
}

// Definitions says what the pod startup and API rows are read from.
func (c *Comparison) Definitions() string {
	s := "Pod startup of both runs is read from watch receive times, as ClusterLoader2 does; there schedule_to_run " +
		"is schedule_to_watch, create_to_run is pod_startup and run_to_watch is 0, so they are not repeated."
	if c.PodTimestamps == measurements.APITimes {
		s = "Pod startup of both runs is read from the API's timestamps (a run from before watch times, or with " +
			"timestampSource: api, has no other); create_to_schedule, schedule_to_run and create_to_run are then " +
			"differences of whole seconds, shown but not judged."
	}
	return s + " API call p99 is over each whole run, whose histogram the interval is drawn from."
}

// summary is the first line: what a reader of a CI log looks for.
func (c *Comparison) summary() string {
	count := map[Verdict]int{}
	for _, r := range c.Rows {
		count[r.Verdict]++
	}
	regressions := plural(count[Regression], "regression", "regressions")
	if count[Regression] > 0 {
		regressions = "**" + regressions + "**"
	}
	s := fmt.Sprintf("%s, %s, %d within noise", regressions,
		plural(count[Improvement], "improvement", "improvements"), count[WithinNoise]+count[TooFewSamples])
	if n := count[TooFewSamples]; n > 0 {
		s += fmt.Sprintf(" (%d of them with too few samples to tell)", n)
	}
	if n := count[WholeSeconds]; n > 0 {
		s += fmt.Sprintf(", %d not judged (whole-second timestamps)", n)
	}
	if n := count[OnlyInBase] + count[OnlyInCandidate]; n > 0 {
		s += fmt.Sprintf(", %d only in base, %d only in candidate", count[OnlyInBase], count[OnlyInCandidate])
	}
	return s + fmt.Sprintf(": candidate `%s` against base `%s`.", c.Candidate, c.Base)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// formatValue shows a value in its unit at a precision that reads well:
// milliseconds with 1 to 3 decimals depending on size, cores to the
// millicore, MiB and pods/s to a tenth.
func formatValue(v float64, unit string) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.*f %s", decimals(v, unit), v, unit)
}

// formatInterval shows both ends at the precision of the larger, so they
// line up.
func formatInterval(r Row) string {
	if math.IsNaN(r.CILow) || math.IsNaN(r.CIHigh) {
		return "–"
	}
	d := decimals(max(math.Abs(r.CILow), math.Abs(r.CIHigh)), r.Unit)
	return fmt.Sprintf("[%+.*f, %+.*f] %s", d, r.CILow, d, r.CIHigh, r.Unit)
}

func decimals(v float64, unit string) int {
	switch unit {
	case "ms":
		switch a := math.Abs(v); {
		case a < 10:
			return 3
		case a < 100:
			return 2
		}
	case "cores":
		return 3
	}
	return 1
}

func formatChange(pct float64) string {
	if math.IsNaN(pct) {
		return "–"
	}
	return fmt.Sprintf("%+.1f%%", pct)
}

func formatPercent(pct float64) string { return fmt.Sprintf("%.4g%%", pct) }

func formatP(p float64) string {
	switch {
	case math.IsNaN(p):
		return "–"
	case p < 0.001:
		return "<0.001"
	}
	return fmt.Sprintf("%.3f", p)
}

// escape keeps a metric name from breaking the table.
func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
