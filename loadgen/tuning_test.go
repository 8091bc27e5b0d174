package loadgen

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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

// Executed on a real clock, the achieved rate is within 5% of the asked
// one: starts are scheduled from one origin, so delays do not add up.
func TestExecuteHoldsTheRate(t *testing.T) {
	const n, qps = 101, 100.0
	var mu sync.Mutex
	var starts []time.Time
	err := QPS(qps).Execute(context.Background(), n, 1, func(context.Context, int) error {
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	rate := float64(n-1) / starts[n-1].Sub(starts[0]).Seconds()
	if rate < qps*0.95 || rate > qps*1.05 {
		t.Errorf("achieved %.1f/s, want %v ± 5%%", rate, qps)
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
