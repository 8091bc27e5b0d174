// Package results holds what a run found and writes it in the formats its
// readers use: PerfData JSON for perf-dash, JUnit XML for CI.
package results

import (
	"fmt"
	"time"
)

// Check is one SLO check: a measured value against its threshold.
type Check struct {
	// SLO names what is checked, e.g. "PodStartupLatency p99 (stateless)".
	SLO       string
	Threshold time.Duration
	Measured  time.Duration
	// Samples is how many observations the value comes from.
	Samples int
	// Partial marks a value measured on a run that was interrupted.
	Partial bool
}

// Passed reports whether the measured value is within the threshold. A
// check without samples has not shown that the SLO holds, so it fails.
func (c Check) Passed() bool { return c.Samples > 0 && c.Measured <= c.Threshold }

// Verdict explains the outcome in one line.
func (c Check) Verdict() string {
	switch {
	case c.Samples == 0:
		return fmt.Sprintf("no samples: cannot show %s <= %s", c.SLO, c.Threshold)
	case c.Passed():
		return fmt.Sprintf("%s = %s <= %s over %d samples", c.SLO, c.Measured, c.Threshold, c.Samples)
	default:
		return fmt.Sprintf("%s = %s > %s over %d samples", c.SLO, c.Measured, c.Threshold, c.Samples)
	}
}
