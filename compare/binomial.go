package compare

import (
	"math"
	"math/rand/v2"
)

// multinomial draws n observations over categories with the given weights
// (counts), writing how many fell in each into out. It draws the
// categories one by one as binomials conditional on those before, which
// costs O(categories · log n), not O(n): an API server histogram can hold
// millions of calls.
func multinomial(rng *rand.Rand, n uint64, weights []uint64, out []uint64) {
	var rest uint64
	for _, w := range weights {
		rest += w
	}
	for i, w := range weights {
		switch {
		case w == 0 || n == 0:
			out[i] = 0
		case w >= rest: // the last category with weight takes what is left
			out[i] = n
		default:
			out[i] = binomial(rng, n, float64(w)/float64(rest))
		}
		n -= out[i]
		rest -= w
	}
}

// directBinomial is the size below which binomial counts successes one
// trial at a time.
const directBinomial = 32

// binomial draws from Binomial(n, p) exactly, by Knuth's recursion (The
// Art of Computer Programming, vol. 2, 3.4.1 F): the a-th smallest of n
// uniforms is Beta(a, n+1−a); whether it falls below p says how many of
// the uniforms on one side are successes for sure, leaving a binomial of
// half the size on the other side.
func binomial(rng *rand.Rand, n uint64, p float64) uint64 {
	var k uint64
	for n >= directBinomial {
		if p <= 0 {
			return k
		}
		if p >= 1 {
			return k + n
		}
		a := 1 + n/2
		b := n + 1 - a
		x := beta(rng, float64(a), float64(b))
		if x >= p {
			n, p = a-1, p/x
		} else {
			k += a
			n, p = b-1, (p-x)/(1-x)
		}
	}
	for range n {
		if rng.Float64() < p {
			k++
		}
	}
	return k
}

// beta draws from Beta(a, b) for a, b >= 1.
func beta(rng *rand.Rand, a, b float64) float64 {
	x := gamma(rng, a)
	return x / (x + gamma(rng, b))
}

// gamma draws from Gamma(shape, 1) for shape >= 1 (Marsaglia and Tsang,
// 2000).
func gamma(rng *rand.Rand, shape float64) float64 {
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}
