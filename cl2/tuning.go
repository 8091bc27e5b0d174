package cl2

import (
	"fmt"
	"time"

	"github.com/hollowmark/hollowmark/scenarios"
)

// translateTuningSet translates a CL2 tuning set into ours; exactly one kind must
// be given, as CL2 validates.
func translateTuningSet(ts tuningSet, at origin) (scenarios.TuningSetSpec, error) {
	out := scenarios.TuningSetSpec{Name: ts.Name}
	kinds := 0
	var err error
	set := func(ok bool, key string, fill func() error) {
		if !ok || err != nil {
			return
		}
		kinds++
		if e := fill(); e != nil {
			err = at.fail(e.Error(), key)
		}
	}
	set(ts.QPSLoad != nil, "qpsLoad", func() error {
		v, e := positive(ts.QPSLoad.QPS, "qps")
		out.QPS = v
		return e
	})
	set(ts.RandomizedLoad != nil, "randomizedLoad", func() error {
		v, e := positive(ts.RandomizedLoad.AverageQPS, "averageQps")
		out.RandomizedQPS = v
		return e
	})
	set(ts.PoissonLoad != nil, "poissonLoad", func() error {
		v, e := positive(ts.PoissonLoad.ExpectedActionsPerSecond, "expectedActionsPerSecond")
		out.Poisson = v
		return e
	})
	set(ts.SteppedLoad != nil, "steppedLoad", func() error {
		d, err := duration(ts.SteppedLoad.StepDelay, "stepDelay")
		if err != nil {
			return err
		}
		if ts.SteppedLoad.BurstSize < 1 {
			return fmt.Errorf("burstSize must be positive, have %d", ts.SteppedLoad.BurstSize)
		}
		out.SteppedBurst = &scenarios.SteppedBurst{Size: ts.SteppedLoad.BurstSize, Delay: scenarios.Duration(d)}
		return nil
	})
	set(ts.TimeLimitedLoad != nil, "timeLimitedLoad", func() error {
		d, err := duration(ts.TimeLimitedLoad.TimeLimit, "timeLimit")
		out.TimeLimited = scenarios.Duration(d)
		return err
	})
	set(ts.RandomizedTimeLimitedLoad != nil, "randomizedTimeLimitedLoad", func() error {
		return fmt.Errorf("not supported yet")
	})
	set(ts.ParallelismLimitedLoad != nil, "parallelismLimitedLoad", func() error {
		if ts.ParallelismLimitedLoad.ParallelismLimit < 1 {
			return fmt.Errorf("parallelismLimit must be positive, have %d", ts.ParallelismLimitedLoad.ParallelismLimit)
		}
		out.Parallelism = ts.ParallelismLimitedLoad.ParallelismLimit
		return nil
	})
	set(ts.GlobalQPSLoad != nil, "globalQPSLoad", func() error {
		return fmt.Errorf("not supported yet")
	})
	if err != nil {
		return out, err
	}
	if kinds != 1 {
		return out, at.fail(fmt.Sprintf("give exactly one of qpsLoad, randomizedLoad, steppedLoad, timeLimitedLoad, randomizedTimeLimitedLoad, parallelismLimitedLoad, globalQPSLoad, poissonLoad (have %d)", kinds))
	}
	return out, nil
}

func positive(v float64, name string) (float64, error) {
	if v <= 0 {
		return 0, fmt.Errorf("%s must be positive, have %g", name, v)
	}
	return v, nil
}

func duration(s, name string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s must be a positive duration such as 30s, have %q", name, s)
	}
	return d, nil
}
