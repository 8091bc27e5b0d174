package compare

import (
	"math"
	"slices"

	"github.com/montanaflynn/stats"
)

// mannWhitney is the Mann-Whitney U test of x against y: u is x's U
// statistic (the number of pairs where x's value is the larger, ties
// counting half), p the two-sided p-value by the normal approximation,
// with the tie correction of the variance and a continuity correction (as
// SciPy's mannwhitneyu with method="asymptotic"). Both are NaN for an
// empty sample.
func mannWhitney(x, y []float64) (u, p float64) {
	n1, n2 := float64(len(x)), float64(len(y))
	if n1 == 0 || n2 == 0 {
		return math.NaN(), math.NaN()
	}
	all := slices.Concat(x, y)
	ranks, err := stats.Rank(all)
	if err != nil {
		return math.NaN(), math.NaN()
	}
	var r1 float64
	for _, r := range ranks[:len(x)] {
		r1 += r
	}
	u = r1 - n1*(n1+1)/2
	n := n1 + n2
	variance := n1 * n2 / 12 * (n + 1 - ties(all)/(n*(n-1)))
	if math.IsNaN(u) || math.IsNaN(variance) {
		return math.NaN(), math.NaN()
	}
	if variance <= 0 {
		return u, 1 // every value equal: nothing tells the samples apart
	}
	z := max(0, math.Abs(u-n1*n2/2)-0.5) / math.Sqrt(variance)
	return u, min(1, 2*stats.NormSf(z, 0, 1))
}

// ties is Σ(t³ − t) over the groups of t equal values: how much ties
// shrink the variance of U.
func ties(values []float64) float64 {
	s := slices.Sorted(slices.Values(values))
	var sum float64
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j] == s[i] {
			j++
		}
		t := float64(j - i)
		sum += t*t*t - t
		i = j
	}
	return sum
}
