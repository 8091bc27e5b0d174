package main

import (
	"math"
	"slices"

	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/measurements"
	"github.com/hollowmark/hollowmark/results"
)

// heartbeatDelays is how late the pool's heartbeats were answered between
// two readings of its delay histograms.
func heartbeatDelays(before, after map[string]hollow.DelayHistogram) []results.HeartbeatDelays {
	var out []results.HeartbeatDelays
	for _, kind := range []string{"lease", "node-status"} {
		end, ok := after[kind]
		if !ok {
			continue
		}
		h := window(before[kind], end)
		out = append(out, results.HeartbeatDelays{Kind: kind, Answered: h.Count, LateAfter: hollow.LateHeartbeat,
			Late: h.SlowerThan(hollow.LateHeartbeat), P50: h.Quantile(0.5), P99: h.Quantile(0.99)})
	}
	return out
}

// window is what end counted since start, as a histogram to read
// percentiles from; a start with other buckets counts as empty.
func window(start, end hollow.DelayHistogram) measurements.Histogram {
	h := measurements.Histogram{Count: end.Count}
	same := slices.Equal(start.Bounds, end.Bounds)
	if same {
		h.Count -= start.Count
	}
	for i, bound := range end.Bounds {
		n := end.Counts[i]
		if same {
			n -= start.Counts[i]
		}
		h.Buckets = append(h.Buckets, measurements.Bucket{UpperBound: bound, Count: n})
	}
	h.Buckets = append(h.Buckets, measurements.Bucket{UpperBound: math.Inf(1), Count: h.Count})
	return h
}
