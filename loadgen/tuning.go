// Package loadgen paces and issues the API calls of a scenario.
package loadgen

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/utils/clock"
)

// TuningSet says when each of n actions starts, and how many may run at
// once. Start times are offsets from one origin, so an action that starts
// late does not delay the ones after it and the rate holds.
type TuningSet struct {
	Name string
	// Offsets returns the start offset of each of n actions, action i's at
	// index i. They need not be in order: actions start in the order of
	// their offsets.
	Offsets func(n int, rng *rand.Rand) []time.Duration
	// Parallelism caps concurrently running actions; 0 means no cap.
	Parallelism int
	// Limiter, if set, also paces every start through a token bucket.
	// Tuning sets holding the same limiter share its rate, wherever and
	// whenever they run (GlobalQPS).
	Limiter *rate.Limiter
	// Clock is the real clock when nil.
	Clock clock.Clock
}

// QPS starts actions at a fixed rate (ClusterLoader2's qpsLoad: one start
// every 1/qps).
func QPS(qps float64) TuningSet {
	return TuningSet{Name: fmt.Sprintf("qps=%g", qps), Offsets: func(n int, _ *rand.Rand) []time.Duration {
		return evenly(n, time.Duration(float64(time.Second)/qps))
	}}
}

// RandomizedQPS starts actions at an average rate with intervals drawn
// uniformly from [0, 2/qps) (ClusterLoader2's randomizedLoad, averageQps).
func RandomizedQPS(qps float64) TuningSet {
	mean := float64(time.Second) / qps
	return TuningSet{Name: fmt.Sprintf("randomized-qps=%g", qps), Offsets: func(n int, rng *rand.Rand) []time.Duration {
		return cumulative(n, func() float64 { return rng.Float64() * 2 * mean })
	}}
}

// Poisson starts actions as a Poisson process of the given average rate
// (ClusterLoader2's poissonLoad, expectedActionsPerSecond).
func Poisson(rate float64) TuningSet {
	mean := float64(time.Second) / rate
	return TuningSet{Name: fmt.Sprintf("poisson=%g", rate), Offsets: func(n int, rng *rand.Rand) []time.Duration {
		return cumulative(n, func() float64 { return rng.ExpFloat64() * mean })
	}}
}

// SteppedBurst starts size actions at once, then the next size after delay
// (ClusterLoader2's steppedLoad, burstSize and stepDelay).
func SteppedBurst(size int, delay time.Duration) TuningSet {
	return TuningSet{Name: fmt.Sprintf("stepped-burst=%dx%s", size, delay), Offsets: func(n int, _ *rand.Rand) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = time.Duration(i/size) * delay
		}
		return out
	}}
}

// TimeLimited spreads the actions evenly over d, whatever their number:
// one start every d/n (ClusterLoader2's timeLimitedLoad, timeLimit).
func TimeLimited(d time.Duration) TuningSet {
	return TuningSet{Name: fmt.Sprintf("time-limited=%s", d), Offsets: func(n int, _ *rand.Rand) []time.Duration {
		if n == 0 {
			return nil
		}
		return evenly(n, d/time.Duration(n))
	}}
}

// RandomizedTimeLimited starts each action at a time drawn on its own,
// uniformly from [0, d) (ClusterLoader2's randomizedTimeLimitedLoad,
// timeLimit): the actions start in random order, all within d.
func RandomizedTimeLimited(d time.Duration) TuningSet {
	return TuningSet{Name: fmt.Sprintf("randomized-time-limited=%s", d), Offsets: func(n int, rng *rand.Rand) []time.Duration {
		out := make([]time.Duration, n)
		if d <= 0 {
			return out
		}
		for i := range out {
			out[i] = time.Duration(rng.Int64N(int64(d)))
		}
		return out
	}}
}

// ParallelismLimited runs at most p actions at a time, as fast as they end
// (ClusterLoader2's parallelismLimitedLoad, parallelismLimit).
func ParallelismLimited(p int) TuningSet {
	return TuningSet{Name: fmt.Sprintf("parallelism=%d", p), Parallelism: p,
		Offsets: func(n int, _ *rand.Rand) []time.Duration { return make([]time.Duration, n) }}
}

// GlobalQPS starts actions through a token bucket of qps and burst
// (ClusterLoader2's globalQPSLoad). The bucket belongs to the tuning set
// returned: every Execute of it, and of copies of it, takes from the same
// bucket, so phases that use one set (at once or one after another) share
// the rate between them. Make one per named set and run.
func GlobalQPS(qps float64, burst int) TuningSet {
	return TuningSet{Name: fmt.Sprintf("global-qps=%g,burst=%d", qps, burst), Limiter: rate.NewLimiter(rate.Limit(qps), burst),
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
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		more int
	)
	paceErr := ts.pace(ctx, n, seed, func(i int, release func()) {
		wg.Go(func() {
			defer release()
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
	})
	wg.Wait()
	if more > 0 {
		errs = append(errs, fmt.Errorf("and %d more actions failed", more))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return paceErr
}

// pace calls start for each action when its time has come, in the order of
// the offsets, once a parallelism slot and a limiter token are free; start
// must call release when the action ends. It returns ctx's error if ctx
// ended before every action started.
func (ts TuningSet) pace(ctx context.Context, n int, seed uint64, start func(i int, release func())) error {
	clk := ts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	offsets := ts.Offsets(n, rand.New(rand.NewPCG(seed, seed)))
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(offsets[a], offsets[b]) })
	var sem chan struct{}
	if ts.Parallelism > 0 {
		sem = make(chan struct{}, ts.Parallelism)
	}
	release := func() {
		if sem != nil {
			<-sem
		}
	}
	origin := clk.Now()
	for _, i := range order {
		if err := sleep(ctx, clk, origin.Add(offsets[i]).Sub(clk.Now())); err != nil {
			return err
		}
		if sem != nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := ts.takeToken(ctx, clk); err != nil {
			release()
			return err
		}
		start(i, release)
	}
	return ctx.Err()
}

// takeToken waits for the limiter, if there is one.
func (ts TuningSet) takeToken(ctx context.Context, clk clock.Clock) error {
	if ts.Limiter == nil {
		return ctx.Err()
	}
	now := clk.Now()
	r := ts.Limiter.ReserveN(now, 1)
	if !r.OK() {
		return fmt.Errorf("tuning set %s: a burst of %d cannot start an action", ts.Name, ts.Limiter.Burst())
	}
	if err := sleep(ctx, clk, r.DelayFrom(now)); err != nil {
		r.CancelAt(clk.Now())
		return err
	}
	return nil
}

// sleep waits for d on clk, or until ctx ends.
func sleep(ctx context.Context, clk clock.Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}
