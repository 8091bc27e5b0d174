package compare

import (
	"math"

	"github.com/montanaflynn/stats"
)

// statistic is a percentile by nearest rank; 100 is the maximum.
type statistic struct {
	label string
	pct   float64
}

var (
	p50  = statistic{"p50", 50}
	p90  = statistic{"p90", 90}
	p99  = statistic{"p99", 99}
	pMax = statistic{"max", 100}
)

// series is one metric's raw samples in both runs, and the statistics of
// them to compare. inBase and inCand tell a run that measured the metric
// from one that did not: a component whose only sample has no CPU reading
// was measured, with too few samples.
type series struct {
	group, name, unit string
	base, cand        []float64
	inBase, inCand    bool
	stats             []statistic // by increasing percentile
	floor             float64
	higherIsBetter    bool
	wholeSeconds      bool // a difference of two second-truncated times
}

// rows compares the series, one row per statistic.
func (s series) rows(opts Options) []Row {
	if !s.inBase && !s.inCand {
		return nil
	}
	out := make([]Row, len(s.stats))
	for i, st := range s.stats {
		base, cand := nearestRank(s.base, st.pct), nearestRank(s.cand, st.pct)
		out[i] = Row{Group: s.group, Metric: s.name + " " + st.label, Unit: s.unit,
			Base: base, Candidate: cand, ChangePercent: changePercent(base, cand),
			CILow: math.NaN(), CIHigh: math.NaN(), PValue: math.NaN(),
			BaseSamples: len(s.base), CandidateSamples: len(s.cand)}
	}
	verdict := func(v Verdict) []Row {
		for i := range out {
			out[i].Verdict = v
		}
		return out
	}
	switch {
	case !s.inCand:
		return verdict(OnlyInBase)
	case !s.inBase:
		return verdict(OnlyInCandidate)
	case len(s.base) < minSamples || len(s.cand) < minSamples:
		return verdict(TooFewSamples)
	case s.wholeSeconds:
		return verdict(WholeSeconds)
	}
	pcts := make([]float64, len(s.stats))
	for i, st := range s.stats {
		pcts[i] = st.pct
	}
	cis := bootstrapDiff(s.base, s.cand, pcts, opts.Iterations, newRNG(opts.Seed, s.group+"/"+s.name))
	_, p := mannWhitney(s.base, s.cand)
	for i := range out {
		out[i].CILow, out[i].CIHigh, out[i].PValue = cis[i].low, cis[i].high, p
		out[i].Verdict = judge(out[i].Base, cis[i], s.floor, opts.Tolerance, s.higherIsBetter)
	}
	return out
}

// nearestRank is the pct-th percentile of samples as the measurements
// compute it, NaN for no samples.
func nearestRank(samples []float64, pct float64) float64 {
	v, err := stats.PercentileNearestRank(samples, pct)
	if err != nil {
		return math.NaN()
	}
	return v
}
