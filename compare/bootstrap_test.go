package compare

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/montanaflynn/stats"
)

func normalSample(seed uint64, n int, mean, sd float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]float64, n)
	for i := range out {
		out[i] = mean + sd*rng.NormFloat64()
	}
	return out
}

// TestBootstrapDiff checks the intervals over many sample pairs: a 95%
// interval must hold the true difference about 95% of the time (no fewer
// than 88 of 100 here, which a correct bootstrap fails with a chance of
// about one in a thousand, and the seeds are fixed), and tell a clear
// shift from none every time.
func TestBootstrapDiff(t *testing.T) {
	pcts := []float64{50, 90}
	const pairs = 100
	for _, tc := range []struct {
		name               string
		nBase, nCand       int
		baseMean, candMean float64
		excludes0          bool
	}{
		{"clear shift", 200, 200, 100, 150, true},
		{"same distribution", 200, 200, 100, 100, false},
		{"same distribution, unequal sizes", 50, 500, 100, 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			truth := tc.candMean - tc.baseMean // of every percentile: a pure shift
			covered, excluded0 := make([]int, len(pcts)), make([]int, len(pcts))
			for s := range uint64(pairs) {
				base, cand := normalSample(2*s, tc.nBase, tc.baseMean, 10), normalSample(2*s+1, tc.nCand, tc.candMean, 10)
				for i, ci := range bootstrapDiff(base, cand, pcts, 1000, newRNG(s, tc.name)) {
					if ci.low <= truth && truth <= ci.high {
						covered[i]++
					}
					if ci.low > 0 || ci.high < 0 {
						excluded0[i]++
					}
				}
			}
			for i, p := range pcts {
				if covered[i] < 88 {
					t.Errorf("p%v: %d of %d intervals hold the true difference %v; want about 95", p, covered[i], pairs, truth)
				}
				if tc.excludes0 && excluded0[i] != pairs {
					t.Errorf("p%v: %d of %d intervals of a clear shift exclude 0; want all", p, excluded0[i], pairs)
				}
			}
		})
	}
}

func TestBootstrapDeterministic(t *testing.T) {
	base, cand := normalSample(1, 100, 10, 1), normalSample(2, 100, 11, 1)
	a := bootstrapDiff(base, cand, []float64{50, 99}, 500, newRNG(9, "x"))
	b := bootstrapDiff(base, cand, []float64{50, 99}, 500, newRNG(9, "x"))
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different intervals: %v and %v", a, b)
	}
}

// TestResamplerNearestRank checks the counting shortcut against sorting
// the resample and taking stats.PercentileNearestRank of it.
func TestResamplerNearestRank(t *testing.T) {
	pcts := []float64{1, 50, 90, 99, 100}
	for _, n := range []int{1, 5, 7, 100, 333} {
		sample := normalSample(uint64(n), n, 0, 1)
		r := newResampler(sample, pcts)
		got := make([]float64, len(pcts))
		rng, twin := newRNG(3, "r"), newRNG(3, "r")
		for range 20 {
			r.draw(rng, got)
			// The same draws, made by hand.
			resample := make([]float64, n)
			for i := range resample {
				resample[i] = r.sorted[twin.IntN(n)]
			}
			for i, p := range pcts {
				want, err := stats.PercentileNearestRank(resample, p)
				if err != nil {
					t.Fatal(err)
				}
				if got[i] != want {
					t.Fatalf("n=%d p%v: resampler %v, sorted resample %v", n, p, got[i], want)
				}
			}
		}
	}
}
