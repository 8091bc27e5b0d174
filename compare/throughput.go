package compare

import "github.com/hollowmark/hollowmark/analysis"

// throughputRows compares the per-interval scheduling throughput; higher
// is better.
func throughputRows(base, cand *analysis.Run, opts Options) []Row {
	return series{group: GroupThroughput, name: "throughput", unit: "pods/s",
		base: rates(base.Throughput), cand: rates(cand.Throughput),
		inBase: len(base.Throughput) > 0, inCand: len(cand.Throughput) > 0,
		stats: []statistic{p50, p90, pMax}, floor: opts.MinThroughput, higherIsBetter: true}.rows(opts)
}

func rates(intervals []analysis.Interval) []float64 {
	out := make([]float64, len(intervals))
	for i, iv := range intervals {
		out[i] = iv.PerSecond
	}
	return out
}
