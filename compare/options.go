package compare

import "time"

// Options tune the comparison. A zero field takes its default; a negative
// Tolerance or floor means none (the margin is then the other one).
type Options struct {
	// Tolerance is the relative change, of the base value, that counts as
	// noise even when the data make it certain. Default 0.10.
	Tolerance float64
	// MinEffect is the smallest latency change that can count. Default 100ms.
	MinEffect time.Duration
	// MinCPU, MinMemory (MiB) and MinThroughput (pods/s) are the floors of
	// the other metrics. Defaults 0.05 cores, 10 MiB, 5 pods/s.
	MinCPU, MinMemory, MinThroughput float64
	// Iterations of every bootstrap. Default 2000.
	Iterations int
	// Seed makes the bootstrap reproducible: the same runs and Options give
	// the same rows.
	Seed uint64
}

// Defaults of Options.
const (
	DefaultTolerance     = 0.10
	DefaultMinEffect     = 100 * time.Millisecond
	DefaultMinCPU        = 0.05 // cores
	DefaultMinMemory     = 10   // MiB
	DefaultMinThroughput = 5    // pods/s
	DefaultIterations    = 2000
)

// Sample sizes below which no verdict is claimed. A bootstrap of four
// values says nothing reliable. A histogram's p99 of n calls is decided by
// its n/100 slowest calls, interpolated within one bucket: with fewer than
// five of them, resampling the histogram sees almost no spread while two
// alike runs differ by a bucket (seen: DELETE pods p99 195 ms vs 392 ms
// over 70 calls each, an interval of [+192, +202] ms).
const (
	minSamples        = 5
	minHistogramCount = 500
)

// withDefaults fills the zero fields; Compare records the result so a
// reader sees what the verdicts were made with.
func (o Options) withDefaults() Options {
	if o.Tolerance == 0 {
		o.Tolerance = DefaultTolerance
	}
	if o.MinEffect == 0 {
		o.MinEffect = DefaultMinEffect
	}
	if o.MinCPU == 0 {
		o.MinCPU = DefaultMinCPU
	}
	if o.MinMemory == 0 {
		o.MinMemory = DefaultMinMemory
	}
	if o.MinThroughput == 0 {
		o.MinThroughput = DefaultMinThroughput
	}
	if o.Iterations <= 0 {
		o.Iterations = DefaultIterations
	}
	return o
}

// latencyFloor is MinEffect in the rows' unit, milliseconds.
func (o Options) latencyFloor() float64 { return ms(o.MinEffect) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
