package compare

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/montanaflynn/stats"
)

// confidence is the level of every interval.
const confidence = 0.95

// interval is a confidence interval.
type interval struct{ low, high float64 }

// bootstrapDiff is, for each percentile of pcts (increasing, 100 the
// maximum), the 95% bootstrap interval of its difference between cand and
// base: each iteration resamples both with replacement and takes the
// difference of the statistic on the resamples.
func bootstrapDiff(base, cand, pcts []float64, iterations int, rng *rand.Rand) []interval {
	b, c := newResampler(base, pcts), newResampler(cand, pcts)
	diffs := make([][]float64, len(pcts))
	for i := range diffs {
		diffs[i] = make([]float64, iterations)
	}
	bv, cv := make([]float64, len(pcts)), make([]float64, len(pcts))
	for it := range iterations {
		b.draw(rng, bv)
		c.draw(rng, cv)
		for i := range pcts {
			diffs[i][it] = cv[i] - bv[i]
		}
	}
	out := make([]interval, len(pcts))
	for i, d := range diffs {
		out[i] = percentileInterval(d, min(len(base), len(cand)))
	}
	return out
}

// percentileInterval is the 95% interval of a bootstrap distribution of
// a statistic of samples of (at least) n: the expanded percentile interval
// (Hesterberg, "What Teachers Should Know About the Bootstrap", 2015). The
// plain 2.5th to 97.5th percentiles are too narrow for small samples: a
// resample varies less than the population by (n−1)/n, and the normal
// quantile stands where Student's t should. Expanding the percentiles to
// Φ(−√(n/(n−1))·t(n−1)) undoes both: for 5 samples the interval runs from
// the 0.1st to the 99.9th percentile, for 30 from the 1.9th to the 98.1st,
// and for hundreds it is the plain one. Without it, runs of a handful of
// samples drawn alike came out as regressions several times in a hundred.
func percentileInterval(diffs []float64, n int) interval {
	tail := 100 * (1 - confidence) / 2
	if n > 1 {
		df := float64(n - 1)
		tail = 100 * stats.NormCdf(-math.Sqrt(float64(n)/df)*studentT(1-(1-confidence)/2, df), 0, 1)
	}
	lo, err1 := stats.PercentileNearestRank(diffs, tail)
	hi, err2 := stats.PercentileNearestRank(diffs, 100-tail)
	if err1 != nil || err2 != nil {
		return interval{math.NaN(), math.NaN()}
	}
	return interval{lo, hi}
}

// studentT is the p-quantile of Student's t with df degrees of freedom, by
// the Cornish-Fisher expansion around the normal quantile (Abramowitz and
// Stegun 26.7.5): within 0.001 of the exact value from 4 degrees of
// freedom, which minSamples ensures.
func studentT(p, df float64) float64 {
	z := stats.NormPpf(p, 0, 1)
	z2 := z * z
	g1 := (z2 + 1) * z / 4
	g2 := ((5*z2+16)*z2 + 3) * z / 96
	g3 := (((3*z2+19)*z2+17)*z2 - 15) * z / 384
	g4 := ((((79*z2+776)*z2+1482)*z2-1920)*z2 - 945) * z / 92160
	return z + g1/df + g2/(df*df) + g3/(df*df*df) + g4/(df*df*df*df)
}

// resampler draws bootstrap resamples of one sample and reads order
// statistics off them. It counts how often each sorted value is drawn
// instead of sorting the resample, so an iteration is O(n), not
// O(n log n): thousands of pods times thousands of iterations stay fast.
type resampler struct {
	sorted []float64
	counts []int
	ranks  []int // 1-based nearest ranks of the percentiles, increasing
}

func newResampler(samples, pcts []float64) *resampler {
	r := &resampler{sorted: slices.Sorted(slices.Values(samples)), counts: make([]int, len(samples))}
	n := len(samples)
	for _, p := range pcts {
		// The rank stats.PercentileNearestRank uses, so a resample's
		// statistic is computed as the point estimate is.
		r.ranks = append(r.ranks, min(n, max(1, int(math.Ceil(float64(n)*p/100)))))
	}
	return r
}

// draw resamples once and writes the statistics into out.
func (r *resampler) draw(rng *rand.Rand, out []float64) {
	n := len(r.sorted)
	clear(r.counts)
	for range n {
		r.counts[rng.IntN(n)]++
	}
	seen, k := 0, 0
	for i, c := range r.counts {
		seen += c
		for k < len(r.ranks) && seen >= r.ranks[k] {
			out[k] = r.sorted[i]
			k++
		}
		if k == len(r.ranks) {
			return
		}
	}
}
