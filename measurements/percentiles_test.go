package measurements

import (
	"errors"
	"testing"
	"time"
)

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestNearestRank(t *testing.T) {
	tests := []struct {
		name          string
		samples       []time.Duration
		p50, p90, p99 time.Duration
	}{
		// sorted[ceil(n*p)-1]: n=10 gives ranks 5, 9 and ceil(9.9)=10.
		{"one to ten", ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5), 5 * time.Millisecond, 9 * time.Millisecond, 10 * time.Millisecond},
		// n=3: ceil(1.5)=2, ceil(2.7)=3, ceil(2.97)=3.
		{"three", ms(30, 10, 20), 20 * time.Millisecond, 30 * time.Millisecond, 30 * time.Millisecond},
		{"one", ms(7), 7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond},
		// n=200: ranks 100, 180, 198 - the two slowest pods do not move p99.
		{"two hundred", append(ms(make([]int, 198)...), ms(5000, 9000)...), 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NearestRank(tt.samples)
			if err != nil {
				t.Fatal(err)
			}
			want := Percentiles{Count: len(tt.samples), P50: tt.p50, P90: tt.p90, P99: tt.p99}
			if got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
	if _, err := NearestRank(nil); !errors.Is(err, ErrNoSamples) {
		t.Errorf("empty sample: got %v", err)
	}
}
