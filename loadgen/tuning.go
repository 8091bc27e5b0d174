// Package loadgen paces and issues the API calls of a scenario.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// TuningSet says when each of n actions starts, and how many may run at
// once. Start times are offsets from one origin, so an action that starts
// late does not delay the ones after it and the rate holds.
type TuningSet struct {
	Name string
	// Offsets returns n start offsets, in order.
	Offsets func(n int, rng *rand.Rand) []time.Duration
	// Parallelism caps concurrently running actions; 0 means no cap.
	Parallelism int
}

// QPS starts actions at a fixed rate.
func QPS(qps float64) TuningSet {
	return TuningSet{Name: fmt.Sprintf("qps=%g", qps), Offsets: func(n int, _ *rand.Rand) []time.Duration {
		return evenly(n, time.Duration(float64(time.Second)/qps))
	}}
}

// RandomizedQPS starts actions at an average rate with intervals drawn
// uniformly from [0, 2/qps].
func RandomizedQPS(qps float64) TuningSet {
	mean := float64(time.Second) / qps
	return TuningSet{Name: fmt.Sprintf("randomized-qps=%g", qps), Offsets: func(n int, rng *rand.Rand) []time.Duration {
		return cumulative(n, func() float64 { return rng.Float64() * 2 * mean })
	}}
}

// Poisson starts actions as a Poisson process of the given average rate.
func Poisson(rate float64) TuningSet {
	mean := float64(time.Second) / rate
	return TuningSet{Name: fmt.Sprintf("poisson=%g", rate), Offsets: func(n int, rng *rand.Rand) []time.Duration {
		return cumulative(n, func() float64 { return rng.ExpFloat64() * mean })
	}}
}

// SteppedBurst starts size actions at once, then the next size after delay.
func SteppedBurst(size int, delay time.Duration) TuningSet {
	return TuningSet{Name: fmt.Sprintf("stepped-burst=%dx%s", size, delay), Offsets: func(n int, _ *rand.Rand) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = time.Duration(i/size) * delay
		}
		return out
	}}
}

// TimeLimited spreads the actions evenly over d, whatever their number.
func TimeLimited(d time.Duration) TuningSet {
	return TuningSet{Name: fmt.Sprintf("time-limited=%s", d), Offsets: func(n int, _ *rand.Rand) []time.Duration {
		if n == 0 {
			return nil
		}
		return evenly(n, d/time.Duration(n))
	}}
}

// ParallelismLimited runs at most p actions at a time, as fast as they end.
func ParallelismLimited(p int) TuningSet {
	return TuningSet{Name: fmt.Sprintf("parallelism=%d", p), Parallelism: p,
		Offsets: func(n int, _ *rand.Rand) []time.Duration { return make([]time.Duration, n) }}
}

func evenly(n int, step time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i) * step
	}
	return out
}

// cumulative sums n intervals, the first action starting at once.
func cumulative(n int, interval func() float64) []time.Duration {
	out := make([]time.Duration, n)
	var t float64
	for i := 1; i < n; i++ {
		t += interval()
		out[i] = time.Duration(t)
	}
	return out
}

// Execute runs action for i in [0, n) on the tuning set's schedule, each in
// its own goroutine, and waits for them. It stops starting actions when ctx
// ends. It returns the first few action errors, with a count of the rest.
func (ts TuningSet) Execute(ctx context.Context, n int, seed uint64, action func(ctx context.Context, i int) error) error {
	offsets := ts.Offsets(n, rand.New(rand.NewPCG(seed, seed)))
	var sem chan struct{}
	if ts.Parallelism > 0 {
		sem = make(chan struct{}, ts.Parallelism)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		more int
	)
	origin := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i, off := range offsets {
		if wait := time.Until(origin.Add(off)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
		}
		if sem != nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			if sem != nil {
				defer func() { <-sem }()
			}
			if err := action(ctx, i); err != nil {
				mu.Lock()
				if len(errs) < 5 {
					errs = append(errs, err)
				} else {
					more++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if more > 0 {
		errs = append(errs, fmt.Errorf("and %d more actions failed", more))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}
