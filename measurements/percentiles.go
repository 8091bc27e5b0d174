// Package measurements computes what hollowmark reports against the
// Kubernetes scalability SLOs: latency percentiles of pod startup, and API
// call latency from the API server's own histograms.
package measurements

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/montanaflynn/stats"

	"github.com/hollowmark/hollowmark/results"
)

// Percentiles of a latency sample, by nearest rank.
type Percentiles = results.Percentiles

// ErrNoSamples is returned for an empty sample.
var ErrNoSamples = errors.New("no samples")

// NearestRank computes the percentiles of samples.
func NearestRank(samples []time.Duration) (Percentiles, error) {
	if len(samples) == 0 {
		return Percentiles{}, ErrNoSamples
	}
	data := make(stats.Float64Data, len(samples))
	for i, s := range samples {
		data[i] = float64(s)
	}
	out := Percentiles{Count: len(samples)}
	for _, p := range []struct {
		pct  float64
		into *time.Duration
	}{{50, &out.P50}, {90, &out.P90}, {99, &out.P99}} {
		v, err := stats.PercentileNearestRank(data, p.pct)
		if err != nil {
			return out, fmt.Errorf("percentile %v: %w", p.pct, err)
		}
		*p.into = time.Duration(v)
	}
	return out, nil
}

// confidence is the level of the percentiles' intervals, as compare's.
const confidence = 0.95

// QuantileRanks are the 1-based ranks lo <= hi of the order statistics
// that bound the p-quantile of n samples with 95% confidence: the number
// of samples below the true quantile is Binomial(n, p), so
// [x(lo), x(hi)] covers it with probability P(lo <= B <= hi-1) >= 95%,
// taking lo as the largest rank with P(B <= lo-1) <= 2.5% and hi as the
// smallest with P(B <= hi-1) >= 97.5%. lo is 0 when even the smallest
// sample may lie above the quantile, hi is n+1 when even the largest may
// lie below it (a p99 of fewer than about 370 samples).
func QuantileRanks(n int, p float64) (lo, hi int) {
	tail := (1 - confidence) / 2
	// Below 12 standard deviations under the mean the mass is under
	// 1e-30: start there, so that millions of API calls cost thousands of
	// terms.
	start := max(0, int(float64(n)*p-12*math.Sqrt(float64(n)*p*(1-p))))
	cdf := 0.0
	lo, hi = start, n+1
	logP, logQ := math.Log(p), math.Log1p(-p)
	lgN, _ := math.Lgamma(float64(n + 1))
	for k := start; k <= n; k++ { // after adding P(B = k), cdf is P(B <= k)
		lgK, _ := math.Lgamma(float64(k + 1))
		lgNK, _ := math.Lgamma(float64(n - k + 1))
		cdf += math.Exp(lgN - lgK - lgNK + float64(k)*logP + float64(n-k)*logQ)
		if cdf <= tail {
			lo = k + 1
		}
		if cdf >= 1-tail {
			hi = k + 1
			break
		}
	}
	return lo, hi
}

// percentileLevels are the percentiles the checks bound.
var percentileLevels = [3]float64{0.5, 0.9, 0.99}

// SampleIntervals are the 95% intervals of the p50, p90 and p99 of
// samples, by order statistics (QuantileRanks).
func SampleIntervals(samples []time.Duration) *results.Intervals {
	sorted := slices.Sorted(slices.Values(samples))
	n := len(sorted)
	at := func(rank int) time.Duration { return sorted[rank-1] }
	nearest := func(p float64) time.Duration { return sorted[max(1, int(math.Ceil(float64(n)*p)))-1] }
	return intervals(n, at, nearest)
}

// Intervals are the 95% intervals of the histogram's p50, p90 and p99:
// the interpolated quantiles at the ranks QuantileRanks gives, as a
// sample's are its order statistics at those ranks.
func (h Histogram) Intervals() *results.Intervals {
	n := int(h.Count)
	return intervals(n, func(rank int) time.Duration { return h.Quantile(float64(rank) / float64(n)) }, h.Quantile)
}

// intervals builds the intervals of n samples whose order statistic of a
// rank at gives, and whose p-quantile point gives. An interval holds its
// point: a histogram's interpolation at p can fall outside the bucket
// bound at a rank when there are very few samples.
func intervals(n int, at func(rank int) time.Duration, point func(p float64) time.Duration) *results.Intervals {
	if n == 0 {
		return nil
	}
	var out [3]results.Interval
	for i, p := range percentileLevels {
		lo, hi := QuantileRanks(n, p)
		if lo >= 1 { // below rank 1 the bound is 0: latencies are not negative
			out[i].Low = at(lo)
		}
		if hi > n {
			out[i].Open, out[i].High = true, at(n)
		} else {
			out[i].High = at(hi)
		}
		v := point(p)
		out[i].Low, out[i].High = min(out[i].Low, v), max(out[i].High, v)
	}
	return &results.Intervals{P50: out[0], P90: out[1], P99: out[2]}
}
