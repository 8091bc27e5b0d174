package compare

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/hollowmark/hollowmark/analysis"
	"github.com/hollowmark/hollowmark/measurements"
)

// apiQuantile is the quantile the API call latency SLO is set on.
const apiQuantile = 0.99

// apiCallRows compares the p99 of every call kind inside the SLO. WATCH
// and streaming calls last as long as the client wants, so their latency
// says nothing of the API server; the measurement leaves them out, and so
// does the comparison should a table hold them.
func apiCallRows(base, cand *analysis.Run, opts Options) []Row {
	b, c := apiCalls(base), apiCalls(cand)
	var kinds []measurements.CallKind
	for k := range b {
		kinds = append(kinds, k)
	}
	for k := range c {
		if _, ok := b[k]; !ok {
			kinds = append(kinds, k)
		}
	}
	slices.SortFunc(kinds, func(x, y measurements.CallKind) int { return strings.Compare(x.String(), y.String()) })
	var out []Row
	for _, k := range kinds {
		out = append(out, apiCallRow(k, b[k], c[k], opts))
	}
	return out
}

func apiCalls(r *analysis.Run) map[measurements.CallKind]*analysis.APICall {
	out := map[measurements.CallKind]*analysis.APICall{}
	for i, a := range r.APICalls {
		if a.Kind.InSLO() {
			out[a.Kind] = &r.APICalls[i]
		}
	}
	return out
}

// apiCallRow compares one call kind; a nil call is one the run did not see.
func apiCallRow(kind measurements.CallKind, base, cand *analysis.APICall, opts Options) Row {
	row := Row{Group: GroupAPICalls, Metric: kind.String(), Unit: "ms",
		Base: math.NaN(), Candidate: math.NaN(), CILow: math.NaN(), CIHigh: math.NaN(), PValue: math.NaN()}
	if base != nil {
		row.Base, row.BaseSamples = apiP99(base), int(base.Histogram.Count)
	}
	if cand != nil {
		row.Candidate, row.CandidateSamples = apiP99(cand), int(cand.Histogram.Count)
	}
	row.ChangePercent = changePercent(row.Base, row.Candidate)
	switch {
	case cand == nil:
		row.Verdict = OnlyInBase
	case base == nil:
		row.Verdict = OnlyInCandidate
	case base.Histogram.Count < minHistogramCount || cand.Histogram.Count < minHistogramCount:
		row.Verdict = TooFewSamples
	default:
		ci := bootstrapHistogramDiff(base.Histogram, cand.Histogram, opts.Iterations,
			newRNG(opts.Seed, GroupAPICalls+"/"+kind.String()))
		row.CILow, row.CIHigh = ci.low, ci.high
		row.Verdict = judge(row.Base, ci, opts.latencyFloor(), opts.Tolerance, false)
	}
	return row
}

// apiP99 is the call kind's p99 from its histogram, as the measurement
// computes it, or the table's figure when the buckets were not recorded.
func apiP99(a *analysis.APICall) float64 {
	if len(a.Histogram.Buckets) == 0 {
		return ms(a.P99)
	}
	return ms(a.Histogram.Quantile(apiQuantile))
}

// bootstrapHistogramDiff is the 95% parametric-bootstrap interval of the
// difference of p99 between two histograms.
func bootstrapHistogramDiff(base, cand measurements.Histogram, iterations int, rng *rand.Rand) interval {
	b, c := newHistogramResampler(base), newHistogramResampler(cand)
	diffs := make([]float64, iterations)
	for i := range diffs {
		diffs[i] = c.draw(rng) - b.draw(rng)
	}
	return percentileInterval(diffs, int(min(base.Count, cand.Count)))
}

// histogramResampler draws histograms of as many observations as one
// histogram holds, from its bucket shares.
type histogramResampler struct {
	perBucket []uint64 // observations in each bucket, not cumulative
	total     uint64
	drawn     []uint64
	h         measurements.Histogram
}

func newHistogramResampler(h measurements.Histogram) *histogramResampler {
	r := &histogramResampler{perBucket: make([]uint64, len(h.Buckets)), drawn: make([]uint64, len(h.Buckets)),
		h: measurements.Histogram{Buckets: slices.Clone(h.Buckets)}}
	var below uint64
	for i, b := range h.Buckets {
		// Cumulative counts never go down in a histogram the measurement
		// wrote; should one, its bucket is taken as empty, not negative.
		if b.Count > below {
			r.perBucket[i] = b.Count - below
			below = b.Count
		}
	}
	r.total = below
	return r
}

// draw resamples the histogram once and returns its p99 in milliseconds.
func (r *histogramResampler) draw(rng *rand.Rand) float64 {
	multinomial(rng, r.total, r.perBucket, r.drawn)
	var cum uint64
	for i, n := range r.drawn {
		cum += n
		r.h.Buckets[i].Count = cum
	}
	r.h.Count = cum
	return ms(r.h.Quantile(apiQuantile))
}
