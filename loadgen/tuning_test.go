package loadgen

import (
	"context"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"
)

func TestSchedules(t *testing.T) {
	s := time.Second
	tests := []struct {
		ts   TuningSet
		n    int
		want []time.Duration
	}{
		{QPS(10), 5, []time.Duration{0, s / 10, 2 * s / 10, 3 * s / 10, 4 * s / 10}},
		{SteppedBurst(3, s), 7, []time.Duration{0, 0, 0, s, s, s, 2 * s}},
		{TimeLimited(10 * s), 5, []time.Duration{0, 2 * s, 4 * s, 6 * s, 8 * s}},
		{ParallelismLimited(4), 3, []time.Duration{0, 0, 0}},
		{QPS(10), 0, []time.Duration{}},
	}
	for _, tt := range tests {
		t.Run(tt.ts.Name, func(t *testing.T) {
			if got := tt.ts.Offsets(tt.n, rand.New(rand.NewPCG(1, 1))); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// Random schedules hold their average rate within 5% over many actions.
func TestRandomSchedulesHoldTheirRate(t *testing.T) {
	for _, ts := range []TuningSet{RandomizedQPS(50), Poisson(50)} {
		t.Run(ts.Name, func(t *testing.T) {
			const n = 20000
			off := ts.Offsets(n, rand.New(rand.NewPCG(7, 7)))
			rate := float64(n-1) / off[n-1].Seconds()
			if rate < 47.5 || rate > 52.5 {
				t.Errorf("rate %.2f/s, want 50 ± 5%%", rate)
			}
			if !slices.IsSorted(off) {
				t.Error("offsets not in order")
			}
		})
	}
}

// pacedRun is one tuning set executing n actions.
type pacedRun struct {
	ts TuningSet
	n  int
}

func newFakeClock() *testingclock.FakeClock {
	return testingclock.NewFakeClock(time.Unix(1_000_000, 0))
}

// paceOnFakeClock runs the tuning sets at once on clk and returns when each
// action started, from the clock's time at the call. Time moves on by step
// only while every run waits on the clock, so each start is seen at the
// first step at or after its due time.
func paceOnFakeClock(t *testing.T, clk *testingclock.FakeClock, step time.Duration, runs ...pacedRun) [][]time.Duration {
	t.Helper()
	origin := clk.Now()
	var mu sync.Mutex
	starts := make([][]time.Duration, len(runs))
	var active atomic.Int32
	active.Store(int32(len(runs)))
	errs := make(chan error, len(runs))
	for j, r := range runs {
		r.ts.Clock = clk
		starts[j] = make([]time.Duration, r.n)
		go func() {
			defer active.Add(-1)
			errs <- r.ts.pace(context.Background(), r.n, 1, func(i int, release func()) {
				mu.Lock()
				starts[j][i] = clk.Since(origin)
				mu.Unlock()
				release()
			})
		}()
	}
	// A guard against a hang, not a measure of speed.
	giveUp := time.Now().Add(time.Minute)
	for active.Load() > 0 {
		if time.Now().After(giveUp) {
			t.Fatalf("pacing did not end; fake time %s", clk.Since(origin))
		}
		if clk.Waiters() == int(active.Load()) {
			clk.Step(step)
		} else {
			runtime.Gosched()
		}
	}
	for range runs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return starts
}

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, m := range v {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

// near says whether got is want to within one clock step.
func near(got, want []time.Duration, step time.Duration) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if d := got[i] - want[i]; d < -step || d > step {
			return false
		}
	}
	return true
}

// Each kind, executed on a fake clock, starts its actions when
// ClusterLoader2's tuning set of the same name would.
func TestPacingOnAFakeClock(t *testing.T) {
	const step = time.Millisecond
	tests := []struct {
		name string
		ts   TuningSet
		n    int
		want []time.Duration
	}{
		{"qpsLoad: one every 1/qps", QPS(10), 5, ms(0, 100, 200, 300, 400)},
		{"timeLimitedLoad: timeLimit/n apart", TimeLimited(time.Second), 4, ms(0, 250, 500, 750)},
		{"steppedLoad: burstSize, then stepDelay", SteppedBurst(2, 300*time.Millisecond), 5, ms(0, 0, 300, 300, 600)},
		{"parallelismLimitedLoad: all at once when they end at once", ParallelismLimited(2), 3, ms(0, 0, 0)},
		{"globalQPSLoad burst 1: one every 1/qps", GlobalQPS(10, 1), 4, ms(0, 100, 200, 300)},
		{"globalQPSLoad burst 3: three at once, then 1/qps", GlobalQPS(10, 3), 5, ms(0, 0, 0, 100, 200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := paceOnFakeClock(t, newFakeClock(), step, pacedRun{tt.ts, tt.n})[0]
			if !near(got, tt.want, step) {
				t.Errorf("started at %v, want %v", got, tt.want)
			}
		})
	}
}

// Randomized kinds start each action at the offset drawn for it.
func TestRandomizedPacingFollowsTheDraws(t *testing.T) {
	const step = time.Millisecond
	for _, ts := range []TuningSet{RandomizedTimeLimited(2 * time.Second), RandomizedQPS(20), Poisson(20)} {
		t.Run(ts.Name, func(t *testing.T) {
			const n = 40
			want := ts.Offsets(n, rand.New(rand.NewPCG(1, 1)))
			got := paceOnFakeClock(t, newFakeClock(), step, pacedRun{ts, n})[0]
			if !near(got, want, step) {
				t.Errorf("started at %v, want the drawn offsets %v", got, want)
			}
		})
	}
}

// globalQPSLoad's bucket is shared by every phase that uses the set, at
// once or one after another (ClusterLoader2 keeps one limiter per set
// name); another set of the same kind has its own.
func TestGlobalQPSIsSharedAcrossPhases(t *testing.T) {
	const step = time.Millisecond
	t.Run("two phases at once", func(t *testing.T) {
		shared := GlobalQPS(10, 1)
		starts := paceOnFakeClock(t, newFakeClock(), step, pacedRun{shared, 3}, pacedRun{shared, 3})
		all := slices.Sorted(slices.Values(slices.Concat(starts...)))
		if !near(all, ms(0, 100, 200, 300, 400, 500), step) {
			t.Errorf("starts of both phases %v, want one every 100ms between them", all)
		}
	})
	t.Run("a later phase waits for the tokens an earlier one took", func(t *testing.T) {
		shared, clk := GlobalQPS(10, 1), newFakeClock()
		first := paceOnFakeClock(t, clk, step, pacedRun{shared, 3})[0]
		// The first phase took its last token at 200ms and ended there:
		// the next token is due 100ms later.
		second := paceOnFakeClock(t, clk, step, pacedRun{shared, 2})[0]
		if !near(first, ms(0, 100, 200), step) || !near(second, ms(100, 200), step) {
			t.Errorf("first phase started at %v, the second at %v from its start; want 0, 100ms, 200ms and 100ms, 200ms", first, second)
		}
	})
	t.Run("separate sets do not share", func(t *testing.T) {
		starts := paceOnFakeClock(t, newFakeClock(), step, pacedRun{GlobalQPS(10, 1), 2}, pacedRun{GlobalQPS(10, 1), 2})
		for j, s := range starts {
			if !near(s, ms(0, 100), step) {
				t.Errorf("set %d started at %v, want 0 and 100ms", j, s)
			}
		}
	})
}

// randomizedTimeLimitedLoad draws every start on its own from [0, timeLimit):
// in random order, spread evenly over the limit, the same for a seed.
func TestRandomizedTimeLimitedDraws(t *testing.T) {
	const n, limit = 20000, 10 * time.Second
	ts := RandomizedTimeLimited(limit)
	off := ts.Offsets(n, rand.New(rand.NewPCG(3, 3)))
	var sum time.Duration
	for _, o := range off {
		if o < 0 || o >= limit {
			t.Fatalf("offset %s outside [0, %s)", o, limit)
		}
		sum += o
	}
	if mean := sum / n; mean < limit/2-limit/20 || mean > limit/2+limit/20 {
		t.Errorf("mean offset %s, want %s ± 10%%", mean, limit/2)
	}
	if slices.IsSorted(off) {
		t.Error("offsets in order: actions would start in index order")
	}
	if again := ts.Offsets(n, rand.New(rand.NewPCG(3, 3))); !slices.Equal(off, again) {
		t.Error("the same seed drew other offsets")
	}
	if zero := RandomizedTimeLimited(0).Offsets(3, rand.New(rand.NewPCG(3, 3))); !slices.Equal(zero, ms(0, 0, 0)) {
		t.Errorf("timeLimit 0: offsets %v, want all at once", zero)
	}
}

func TestParallelismIsCapped(t *testing.T) {
	var running, peak atomic.Int32
	err := ParallelismLimited(3).Execute(context.Background(), 12, 1, func(context.Context, int) error {
		now := running.Add(1)
		for {
			p := peak.Load()
			if now <= p || peak.CompareAndSwap(p, now) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		running.Add(-1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if peak.Load() != 3 {
		t.Errorf("peak concurrency %d, want 3", peak.Load())
	}
}

func TestExecuteStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var started atomic.Int32
	err := QPS(10).Execute(ctx, 100, 1, func(context.Context, int) error {
		if started.Add(1) == 3 {
			cancel()
		}
		return nil
	})
	if err != context.Canceled {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if n := started.Load(); n != 3 {
		t.Errorf("%d actions started after cancel at the third", n)
	}
}
