// Package measurements computes what hollowmark reports against the
// Kubernetes scalability SLOs: latency percentiles of pod startup, and API
// call latency from the API server's own histograms.
package measurements

import (
	"errors"
	"fmt"
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
