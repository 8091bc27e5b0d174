// Package results holds what a run found and writes it in the formats its
// readers use: PerfData JSON for perf-dash, JUnit XML for CI, Markdown for
// people, and CSV for anyone who wants to recompute a figure.
package results

import (
	"fmt"
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

// Check is one SLO check: measured percentiles against their thresholds.
type Check struct {
	// SLO names what is checked, e.g. "PodStartupLatency (stateless)".
	SLO        string      `json:"slo"`
	Thresholds Thresholds  `json:"thresholds"`
	Measured   Percentiles `json:"measured"`
	// Partial marks a value measured on a run that was interrupted.
	Partial bool `json:"partial,omitempty"`
	// Skipped, if set, says why the check was not made (a measurement
	// hollowmark does not support): it neither passes nor fails.
	Skipped string `json:"skipped,omitempty"`
}

type bound struct {
	name           string
	limit, measure time.Duration
}

func (c Check) bounds() []bound {
	var out []bound
	for _, b := range []bound{{"p50", c.Thresholds.P50, c.Measured.P50}, {"p90", c.Thresholds.P90, c.Measured.P90},
		{"p99", c.Thresholds.P99, c.Measured.P99}} {
		if b.limit > 0 {
			out = append(out, b)
		}
	}
	return out
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
	if c.Skipped != "" {
		return fmt.Sprintf("%s: skipped, %s", c.SLO, c.Skipped)
	}
	if c.Measured.Count == 0 {
		return fmt.Sprintf("%s: no samples, cannot show %s", c.SLO, c.Limit())
	}
	var over []string
	for _, b := range c.bounds() {
		if b.measure > b.limit {
			over = append(over, fmt.Sprintf("%s = %s > %s", b.name, b.measure, b.limit))
		}
	}
	if len(over) > 0 {
		return fmt.Sprintf("%s violated: %s over %d samples", c.SLO, strings.Join(over, ", "), c.Measured.Count)
	}
	return fmt.Sprintf("%s held: %s (p50 %s, p90 %s, p99 %s over %d samples)", c.SLO, c.Limit(),
		c.Measured.P50, c.Measured.P90, c.Measured.P99, c.Measured.Count)
}
