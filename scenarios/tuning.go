package scenarios

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hollowmark/hollowmark/loadgen"
)

// tuningKind is one kind of tuning set a spec may name: whether the spec
// sets it, and how to build it.
type tuningKind struct {
	field string
	set   bool
	build func() (loadgen.TuningSet, error)
}

func (ts TuningSetSpec) kinds() []tuningKind {
	d := func(v Duration) time.Duration { return time.Duration(v) }
	positive := func(field string, v float64, mk func() loadgen.TuningSet) func() (loadgen.TuningSet, error) {
		return func() (loadgen.TuningSet, error) {
			if v <= 0 {
				return loadgen.TuningSet{}, fmt.Errorf("%s must be > 0", field)
			}
			return mk(), nil
		}
	}
	return []tuningKind{
		{"qps", ts.QPS != 0, positive("qps", ts.QPS, func() loadgen.TuningSet { return loadgen.QPS(ts.QPS) })},
		{"randomizedQPS", ts.RandomizedQPS != 0, positive("randomizedQPS", ts.RandomizedQPS, func() loadgen.TuningSet { return loadgen.RandomizedQPS(ts.RandomizedQPS) })},
		{"poisson", ts.Poisson != 0, positive("poisson", ts.Poisson, func() loadgen.TuningSet { return loadgen.Poisson(ts.Poisson) })},
		{"steppedBurst", ts.SteppedBurst != nil, func() (loadgen.TuningSet, error) {
			if ts.SteppedBurst.Size < 1 || ts.SteppedBurst.Delay <= 0 {
				return loadgen.TuningSet{}, errors.New("steppedBurst needs size >= 1 and a delay")
			}
			return loadgen.SteppedBurst(ts.SteppedBurst.Size, d(ts.SteppedBurst.Delay)), nil
		}},
		{"timeLimited", ts.TimeLimited > 0, func() (loadgen.TuningSet, error) { return loadgen.TimeLimited(d(ts.TimeLimited)), nil }},
		{"qpsLoad", ts.QPSLoad != nil, func() (loadgen.TuningSet, error) {
			return positive("qpsLoad.qps", ts.QPSLoad.QPS, func() loadgen.TuningSet { return loadgen.QPS(ts.QPSLoad.QPS) })()
		}},
		{"randomizedLoad", ts.RandomizedLoad != nil, func() (loadgen.TuningSet, error) {
			return positive("randomizedLoad.averageQps", ts.RandomizedLoad.AverageQPS,
				func() loadgen.TuningSet { return loadgen.RandomizedQPS(ts.RandomizedLoad.AverageQPS) })()
		}},
		{"steppedLoad", ts.SteppedLoad != nil, func() (loadgen.TuningSet, error) {
			if ts.SteppedLoad.BurstSize < 1 {
				return loadgen.TuningSet{}, errors.New("steppedLoad.burstSize must be >= 1")
			}
			return loadgen.SteppedBurst(ts.SteppedLoad.BurstSize, d(ts.SteppedLoad.StepDelay)), nil
		}},
		{"timeLimitedLoad", ts.TimeLimitedLoad != nil, func() (loadgen.TuningSet, error) {
			return loadgen.TimeLimited(d(ts.TimeLimitedLoad.TimeLimit)), nil
		}},
		{"randomizedTimeLimitedLoad", ts.RandomizedTimeLimitedLoad != nil, func() (loadgen.TuningSet, error) {
			return loadgen.RandomizedTimeLimited(d(ts.RandomizedTimeLimitedLoad.TimeLimit)), nil
		}},
		{"parallelismLimitedLoad", ts.ParallelismLimitedLoad != nil, func() (loadgen.TuningSet, error) {
			if ts.ParallelismLimitedLoad.ParallelismLimit < 1 {
				return loadgen.TuningSet{}, errors.New("parallelismLimitedLoad.parallelismLimit must be >= 1")
			}
			return loadgen.ParallelismLimited(ts.ParallelismLimitedLoad.ParallelismLimit), nil
		}},
		{"globalQPSLoad", ts.GlobalQPSLoad != nil, func() (loadgen.TuningSet, error) {
			// A burst of 0 would never let an action start.
			if ts.GlobalQPSLoad.QPS <= 0 || ts.GlobalQPSLoad.Burst < 1 {
				return loadgen.TuningSet{}, errors.New("globalQPSLoad needs qps > 0 and burst >= 1")
			}
			return loadgen.GlobalQPS(ts.GlobalQPSLoad.QPS, ts.GlobalQPSLoad.Burst), nil
		}},
		{"poissonLoad", ts.PoissonLoad != nil, func() (loadgen.TuningSet, error) {
			return positive("poissonLoad.expectedActionsPerSecond", ts.PoissonLoad.ExpectedActionsPerSecond,
				func() loadgen.TuningSet { return loadgen.Poisson(ts.PoissonLoad.ExpectedActionsPerSecond) })()
		}},
	}
}

// TuningSet builds the tuning set a spec describes. A globalQPSLoad set
// gets a token bucket of its own on each call: a run builds each named set
// once, so that every phase using it shares the bucket.
func (ts TuningSetSpec) TuningSet() (loadgen.TuningSet, error) {
	var chosen []tuningKind
	var names []string
	for _, k := range ts.kinds() {
		names = append(names, k.field)
		if k.set {
			chosen = append(chosen, k)
		}
	}
	if ts.Parallelism < 0 {
		return loadgen.TuningSet{}, errors.New("parallelism must be >= 0")
	}
	switch {
	case len(chosen) > 1:
		var set []string
		for _, k := range chosen {
			set = append(set, k.field)
		}
		return loadgen.TuningSet{}, fmt.Errorf("give one of %s (have %s)", strings.Join(names, ", "), strings.Join(set, " and "))
	case len(chosen) == 0 && ts.Parallelism > 0:
		out := loadgen.ParallelismLimited(ts.Parallelism)
		out.Name = ts.Name
		return out, nil
	case len(chosen) == 0:
		return loadgen.TuningSet{}, fmt.Errorf("give one of %s, or parallelism", strings.Join(names, ", "))
	}
	out, err := chosen[0].build()
	if err != nil {
		return loadgen.TuningSet{}, err
	}
	if ts.Parallelism > 0 {
		out.Parallelism = ts.Parallelism
	}
	out.Name = ts.Name
	return out, nil
}
