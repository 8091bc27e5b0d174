package measurements

import (
	"testing"
	"time"
)

// TestQuantileRanks against the tables of distribution-free confidence
// intervals for quantiles (e.g. Conover, Practical Nonparametric
// Statistics, table A3; the median of 100: x(40) to x(61)).
func TestQuantileRanks(t *testing.T) {
	tests := []struct {
		n      int
		p      float64
		lo, hi int
	}{
		{100, 0.5, 40, 61},
		{25, 0.5, 8, 18},
		{25, 0.99, 23, 26},   // too few to bound a p99 from above
		{100, 0.99, 97, 101}, // still too few
		{500, 0.99, 490, 500},
		{1, 0.5, 0, 2},
	}
	for _, tt := range tests {
		lo, hi := QuantileRanks(tt.n, tt.p)
		if lo != tt.lo || hi != tt.hi {
			t.Errorf("n=%d p=%v: ranks %d..%d, want %d..%d", tt.n, tt.p, lo, hi, tt.lo, tt.hi)
		}
	}
}

func TestSampleIntervals(t *testing.T) {
	var samples []time.Duration
	for i := 100; i >= 1; i-- {
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	ci := SampleIntervals(samples)
	if ci.P50.Low != 40*time.Millisecond || ci.P50.High != 61*time.Millisecond || ci.P50.Open {
		t.Errorf("p50 %+v, want 40ms..61ms", ci.P50)
	}
	if ci.P99.Low != 97*time.Millisecond || !ci.P99.Open || ci.P99.High != 100*time.Millisecond {
		t.Errorf("p99 %+v, want from 97ms, open", ci.P99)
	}
	if SampleIntervals(nil) != nil {
		t.Error("intervals of no samples")
	}
}

func TestHistogramIntervals(t *testing.T) {
	// 10,000 calls: 9,800 under 0.5 s, 150 between 0.5 and 1 s, 50 up
	// to 2 s. The p99 (rank 9,900) is in the 0.5–1 s bucket; its interval
	// is the interpolated quantiles at ranks 9,880 and 9,920.
	h := Histogram{Count: 10_000, Buckets: []Bucket{{UpperBound: 0.5, Count: 9_800}, {UpperBound: 1, Count: 9_950}, {UpperBound: 2, Count: 10_000}}}
	lo, hi := QuantileRanks(10_000, 0.99)
	ci := h.Intervals().P99
	if ci.Low != h.Quantile(float64(lo)/10_000) || ci.High != h.Quantile(float64(hi)/10_000) || ci.Open {
		t.Errorf("p99 interval %+v, ranks %d..%d", ci, lo, hi)
	}
	if !(ci.Low < h.Quantile(0.99) && h.Quantile(0.99) < ci.High) {
		t.Errorf("p99 %v outside its interval %+v", h.Quantile(0.99), ci)
	}
}

// TestIntervalsHoldTheirPoint: with two calls in one bucket, the p99
// interpolates below the bucket's bound that the ranks give; the interval
// still holds it.
func TestIntervalsHoldTheirPoint(t *testing.T) {
	h := Histogram{Count: 2, Buckets: []Bucket{{UpperBound: 0.05, Count: 2}, {UpperBound: 0.1, Count: 2}}}
	ci := h.Intervals().P99
	if p99 := h.Quantile(0.99); !ci.Contains(p99) || !ci.Open {
		t.Errorf("p99 %v, interval %+v", p99, ci)
	}
}
