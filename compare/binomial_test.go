package compare

import (
	"math"
	"testing"
)

func TestBinomialMoments(t *testing.T) {
	const draws = 20000
	for _, tc := range []struct {
		n uint64
		p float64
	}{{10, 0.3}, {31, 0.5}, {1000, 0.01}, {1_000_000, 0.5}, {10_000_000, 1e-4}, {5000, 0.999}} {
		rng := newRNG(1, "binomial")
		var sum, sumSq float64
		for range draws {
			k := binomial(rng, tc.n, tc.p)
			if k > tc.n {
				t.Fatalf("Binomial(%d, %v) drew %d", tc.n, tc.p, k)
			}
			sum += float64(k)
			sumSq += float64(k) * float64(k)
		}
		mean := sum / draws
		variance := sumSq/draws - mean*mean
		wantMean := float64(tc.n) * tc.p
		wantVar := wantMean * (1 - tc.p)
		// Five standard errors of the mean; the variance within 5%.
		if math.Abs(mean-wantMean) > 5*math.Sqrt(wantVar/draws) || math.Abs(variance-wantVar) > 0.05*wantVar {
			t.Errorf("Binomial(%d, %v): mean %.3f variance %.3f; want %.3f and %.3f", tc.n, tc.p, mean, variance, wantMean, wantVar)
		}
	}
}

func TestMultinomial(t *testing.T) {
	rng := newRNG(1, "multinomial")
	weights := []uint64{0, 500, 0, 300, 200, 0}
	out := make([]uint64, len(weights))
	var totals [6]float64
	const draws = 2000
	for range draws {
		multinomial(rng, 1000, weights, out)
		var sum uint64
		for i, k := range out {
			sum += k
			totals[i] += float64(k)
		}
		if sum != 1000 {
			t.Fatalf("multinomial drew %d observations, want 1000: %v", sum, out)
		}
		if out[0] != 0 || out[2] != 0 || out[5] != 0 {
			t.Fatalf("empty buckets drew observations: %v", out)
		}
	}
	for i, w := range weights {
		if mean := totals[i] / draws; math.Abs(mean-float64(w)) > 3 {
			t.Errorf("bucket %d: mean %.1f, want %d", i, mean, w)
		}
	}
}
