package compare

import (
	"github.com/hollowmark/hollowmark/analysis"
	"github.com/hollowmark/hollowmark/measurements"
)

// podStartupRows compares the transitions of pod startup at p50, p90,
// p99, under one definition for both runs: watch times when both
// measured them, else the API's timestamps, which every run recorded.
// Transitions equal to another by definition are left out (judging the
// same samples twice would only add chances of a false alarm). Under the
// API's, transitions between two second-truncated times are shown but not
// judged.
func podStartupRows(base, cand *analysis.Run, opts Options) []Row {
	src := CommonTimestamps(base, cand)
	b, c := phaseSamples(base.Pods, src), phaseSamples(cand.Pods, src)
	var out []Row
	for _, name := range measurements.Distinct(src) {
		out = append(out, series{group: GroupPodStartup, name: name, unit: "ms",
			base: b[name], cand: c[name], inBase: len(b[name]) > 0, inCand: len(c[name]) > 0,
			stats: []statistic{p50, p90, p99}, floor: opts.latencyFloor(),
			wholeSeconds: measurements.WholeSeconds(src, name)}.rows(opts)...)
	}
	return out
}

// CommonTimestamps is the definition two runs' pod startup can be compared
// under: watch times if both have them, else the API's.
func CommonTimestamps(base, cand *analysis.Run) measurements.TimestampSource {
	if base.PodTimestamps == measurements.WatchTimes && cand.PodTimestamps == measurements.WatchTimes {
		return measurements.WatchTimes
	}
	return measurements.APITimes
}

// phaseSamples are the durations of each transition, in milliseconds, of
// the stateless pods that reached both its ends, as the measurement
// counts them.
func phaseSamples(pods []analysis.Pod, src measurements.TimestampSource) map[string][]float64 {
	out := map[string][]float64{}
	for _, p := range pods {
		if !p.Stateless {
			continue
		}
		for name, d := range p.Transitions(src) {
			out[name] = append(out[name], ms(d))
		}
	}
	return out
}
