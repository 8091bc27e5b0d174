package compare

import (
	"math"
	"testing"
)

func TestMannWhitney(t *testing.T) {
	// Expected values computed by hand: U from the rank sum, p from the
	// normal approximation with tie and continuity correction (they match
	// scipy.stats.mannwhitneyu(x, y, method="asymptotic")).
	for _, tc := range []struct {
		name string
		x, y []float64
		u, p float64
	}{
		// Ranks of x 1, 2, 3: U = 6 − 6 = 0; σ² = 3·3/12·7 = 5.25;
		// z = (4.5 − 0.5)/√5.25 = 1.7457.
		{"separated", []float64{1, 2, 3}, []float64{4, 5, 6}, 0, 0.0808556},
		// Reversed, U is n1·n2 − 0 and p the same.
		{"separated reversed", []float64{4, 5, 6}, []float64{1, 2, 3}, 9, 0.0808556},
		// Pooled 1 2 2 2 3 3 4 5 ranks 1, 3, 3, 3, 5.5, 5.5, 7, 8: x's rank
		// sum 12.5, U = 2.5; ties Σ(t³−t) = 24 + 6 = 30, σ² = 16/12·(9 −
		// 30/56) = 11.2857; z = (5.5 − 0.5)/3.3594 = 1.4884.
		{"ties", []float64{1, 2, 2, 3}, []float64{2, 3, 4, 5}, 2.5, 0.1366582},
		// U at its mean: z is 0 after the continuity correction.
		{"interleaved", []float64{1, 4}, []float64{2, 3}, 2, 1},
		// All equal: the variance vanishes, nothing tells them apart.
		{"all equal", []float64{5, 5, 5}, []float64{5, 5, 5}, 4.5, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, p := mannWhitney(tc.x, tc.y)
			if u != tc.u || math.Abs(p-tc.p) > 1e-6 {
				t.Errorf("mannWhitney = U %v, p %.7f; want U %v, p %.7f", u, p, tc.u, tc.p)
			}
		})
	}
}

func TestMannWhitneyEmpty(t *testing.T) {
	if u, p := mannWhitney(nil, []float64{1}); !math.IsNaN(u) || !math.IsNaN(p) {
		t.Errorf("mannWhitney(empty) = %v, %v; want NaN, NaN", u, p)
	}
}

func TestMannWhitneyShift(t *testing.T) {
	x := make([]float64, 100)
	y := make([]float64, 100)
	for i := range x {
		x[i], y[i] = float64(i), float64(i)+50
	}
	if _, p := mannWhitney(x, y); p > 1e-10 {
		t.Errorf("p for a shift of half the range over 100 samples = %g; want tiny", p)
	}
}
