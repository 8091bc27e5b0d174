// Package results holds what a run found and writes it in the formats its
// readers use: PerfData JSON for perf-dash, JUnit XML for CI, Markdown for
// people, and CSV for anyone who wants to recompute a figure.
package results

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Percentiles of a latency sample, by nearest rank: the p-th percentile of
// n sorted samples is sorted[ceil(n*p)-1], a value that was measured.
type Percentiles struct {
	Count int           `json:"count"`
	P50   time.Duration `json:"p50"`
	P90   time.Duration `json:"p90"`
	P99   time.Duration `json:"p99"`
}

// Thresholds bound percentiles; a zero threshold is not checked.
type Thresholds struct {
	P50 time.Duration `json:"p50,omitempty"`
	P90 time.Duration `json:"p90,omitempty"`
	P99 time.Duration `json:"p99,omitempty"`
}

// Interval is a 95% confidence interval of a percentile from the samples
// behind it (docs/measurements.md, "How close a check was"). Open means
// the samples are too few to bound it from above: a p99 of fewer than
// about 370 samples.
type Interval struct {
	Low  time.Duration `json:"low"`
	High time.Duration `json:"high"`
	Open bool          `json:"open,omitempty"`
}

// Contains reports whether d lies within the interval.
func (i Interval) Contains(d time.Duration) bool {
	return i.Low <= d && (i.Open || d <= i.High)
}

// Intervals are the confidence intervals of the percentiles.
type Intervals struct {
	P50 Interval `json:"p50"`
	P90 Interval `json:"p90"`
	P99 Interval `json:"p99"`
}

// Check is one SLO check: measured percentiles against their thresholds.
type Check struct {
	// SLO names what is checked, e.g. "PodStartupLatency (stateless)".
	SLO        string      `json:"slo"`
	Thresholds Thresholds  `json:"thresholds"`
	Measured   Percentiles `json:"measured"`
	// Intervals, when known, say how far the percentiles could be from
	// what the same system would show on another sample of this size.
	Intervals *Intervals `json:"intervals,omitempty"`
	// Partial marks a value measured on a run that was interrupted.
	Partial bool `json:"partial,omitempty"`
	// Skipped, if set, says why the check was not made (a measurement
	// hollowmark does not support): it neither passes nor fails.
	Skipped string `json:"skipped,omitempty"`
	// NotEnforced, if set, says why the check is reported but changes no
	// verdict (a ClusterLoader2 measurement with enableViolations: false).
	NotEnforced string `json:"notEnforced,omitempty"`
	// Measurement is the identifier of the measurement that made the
	// check when it is not the method's name: ClusterLoader2's configs run
	// one method under two identifiers (APIResponsivenessPrometheus and
	// …Simple), whose checks would otherwise read alike.
	Measurement string `json:"measurement,omitempty"`
}

// Name is the SLO, with the measurement's identifier when it has one.
func (c Check) Name() string {
	if c.Measurement == "" {
		return c.SLO
	}
	return c.SLO + " [" + c.Measurement + "]"
}

type bound struct {
	name           string
	limit, measure time.Duration
	ci             *Interval
}

func (c Check) bounds() []bound {
	var ci Intervals
	if c.Intervals != nil {
		ci = *c.Intervals
	}
	var out []bound
	for _, b := range []bound{{"p50", c.Thresholds.P50, c.Measured.P50, &ci.P50}, {"p90", c.Thresholds.P90, c.Measured.P90, &ci.P90},
		{"p99", c.Thresholds.P99, c.Measured.P99, &ci.P99}} {
		if c.Intervals == nil {
			b.ci = nil
		}
		if b.limit > 0 {
			out = append(out, b)
		}
	}
	return out
}

// closest is the checked percentile highest relative to its threshold:
// the one nearest it, or furthest over it.
func (c Check) closest() (bound, bool) {
	var best bound
	found := false
	for _, b := range c.bounds() {
		if !found || float64(b.measure)/float64(b.limit) > float64(best.measure)/float64(best.limit) {
			best, found = b, true
		}
	}
	return best, found
}

// Closeness says how near the check came to its threshold, e.g.
// "p99 at 38% (95% CI 35–41%)": the percentile nearest its threshold, as
// a share of it, with its confidence interval when known.
func (c Check) Closeness() string {
	b, ok := c.closest()
	if !ok || c.Measured.Count == 0 || c.Skipped != "" {
		return ""
	}
	share := func(d time.Duration) float64 { return 100 * float64(d) / float64(b.limit) }
	out := fmt.Sprintf("%s at %.0f%%", b.name, share(b.measure))
	if b.ci != nil {
		high := fmt.Sprintf("%.0f%%", share(b.ci.High))
		if b.ci.Open {
			high = "?"
		}
		out += fmt.Sprintf(" (95%% CI %.0f–%s)", share(b.ci.Low), high)
	}
	return out
}

// WithinNoise names the checked percentiles whose threshold lies inside
// their confidence interval: another sample of as many from the same
// system could have given the other verdict. A percentile passing with an
// interval open above is not counted (TooFewSamples): nothing that small
// could show it holds, and saying so for every rare call kind would bury
// the warnings that matter.
func (c Check) WithinNoise() []string {
	if c.Measured.Count == 0 || c.Skipped != "" {
		return nil
	}
	var out []string
	for _, b := range c.bounds() {
		if b.ci == nil || (b.ci.Open && b.measure <= b.limit) {
			continue
		}
		if b.ci.Contains(b.limit) {
			out = append(out, b.name)
		}
	}
	return out
}

// TooFewSamples reports whether a checked percentile held on too few
// samples to bound it from above.
func (c Check) TooFewSamples() bool {
	if c.Measured.Count == 0 || c.Skipped != "" {
		return false
	}
	for _, b := range c.bounds() {
		if b.ci != nil && b.ci.Open && b.measure <= b.limit {
			return true
		}
	}
	return false
}

// NoiseWarning says, for a check whose verdict is within noise, which
// percentile and why; "" otherwise.
func (c Check) NoiseWarning() string {
	names := c.WithinNoise()
	if len(names) == 0 {
		return ""
	}
	verdict := "held"
	if !c.Passed() {
		verdict = "was violated"
	}
	var parts []string
	for _, b := range c.bounds() {
		if !slices.Contains(names, b.name) {
			continue
		}
		high := FormatDuration(b.ci.High)
		if b.ci.Open {
			high = "unbounded (too few samples)"
		}
		parts = append(parts, fmt.Sprintf("%s = %s, 95%% CI %s to %s, threshold %s", b.name, FormatDuration(b.measure),
			FormatDuration(b.ci.Low), high, b.limit))
	}
	return fmt.Sprintf("%s %s by less than its noise over %d samples: %s; a run alike could give the other verdict",
		c.Name(), verdict, c.Measured.Count, strings.Join(parts, "; "))
}

// Passed reports whether every checked percentile is within its threshold.
// A check without samples has not shown that the SLO holds, so it fails;
// a skipped one has not either, but it is no violation (Violated).
func (c Check) Passed() bool {
	if c.Measured.Count == 0 || c.Skipped != "" {
		return false
	}
	for _, b := range c.bounds() {
		if b.measure > b.limit {
			return false
		}
	}
	return true
}

// Violated reports whether the check was made and failed.
func (c Check) Violated() bool { return c.Skipped == "" && !c.Passed() }

// Fails reports whether the check was violated and is enforced: whether
// it fails the run.
func (c Check) Fails() bool { return c.Violated() && c.NotEnforced == "" }

// Limit says what the check demands, e.g. "p99 <= 1s", or
// "p50, p90, p99 <= 5s" when the percentiles share a threshold.
func (c Check) Limit() string {
	bounds := c.bounds()
	var names []string
	for _, b := range bounds {
		if b.limit != bounds[0].limit {
			names = nil
			break
		}
		names = append(names, b.name)
	}
	if names != nil {
		return fmt.Sprintf("%s <= %s", strings.Join(names, ", "), bounds[0].limit)
	}
	var parts []string
	for _, b := range bounds {
		parts = append(parts, fmt.Sprintf("%s <= %s", b.name, b.limit))
	}
	return strings.Join(parts, ", ")
}

// Verdict explains the outcome in one line.
func (c Check) Verdict() string {
	out := c.verdict()
	if c.Violated() && c.NotEnforced != "" {
		out += " (not enforced: " + c.NotEnforced + ")"
	}
	return out
}

func (c Check) verdict() string {
	if c.Skipped != "" {
		return fmt.Sprintf("%s: skipped, %s", c.Name(), c.Skipped)
	}
	if c.Measured.Count == 0 {
		return fmt.Sprintf("%s: no samples, cannot show %s", c.Name(), c.Limit())
	}
	var over []string
	for _, b := range c.bounds() {
		if b.measure > b.limit {
			over = append(over, fmt.Sprintf("%s = %s > %s", b.name, b.measure, b.limit))
		}
	}
	if len(over) > 0 {
		return fmt.Sprintf("%s violated: %s over %d samples", c.Name(), strings.Join(over, ", "), c.Measured.Count)
	}
	return fmt.Sprintf("%s held: %s (p50 %s, p90 %s, p99 %s over %d samples)", c.Name(), c.Limit(),
		c.Measured.P50, c.Measured.P90, c.Measured.P99, c.Measured.Count)
}
