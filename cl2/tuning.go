package cl2

import (
	"fmt"
	"time"

	"github.com/hollowmark/hollowmark/scenarios"
)

// translateTuningSet translates a CL2 tuning set into ours, which has
// CL2's kinds with their parameters and meaning; exactly one kind must be
// given, as CL2 validates. Durations are read here, so that a bad one is
// an error at its line.
func translateTuningSet(ts tuningSet, at origin) (scenarios.TuningSetSpec, error) {
	out := scenarios.TuningSetSpec{Name: ts.Name}
	var kinds []string
	dur := func(s, key, field string) (scenarios.Duration, error) {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return 0, at.fail(fmt.Sprintf("want a positive duration such as 30s, have %q", s), key, field)
		}
		return scenarios.Duration(d), nil
	}
	var err error
	if ts.QPSLoad != nil {
		kinds = append(kinds, "qpsLoad")
		out.QPSLoad = &scenarios.QPSLoad{QPS: ts.QPSLoad.QPS}
	}
	if ts.RandomizedLoad != nil {
		kinds = append(kinds, "randomizedLoad")
		out.RandomizedLoad = &scenarios.RandomizedLoad{AverageQPS: ts.RandomizedLoad.AverageQPS}
	}
	if ts.SteppedLoad != nil {
		kinds = append(kinds, "steppedLoad")
		out.SteppedLoad = &scenarios.SteppedLoad{BurstSize: ts.SteppedLoad.BurstSize}
		out.SteppedLoad.StepDelay, err = dur(ts.SteppedLoad.StepDelay, "steppedLoad", "stepDelay")
	}
	if ts.TimeLimitedLoad != nil {
		kinds = append(kinds, "timeLimitedLoad")
		out.TimeLimitedLoad = &scenarios.TimeLimitedLoad{}
		out.TimeLimitedLoad.TimeLimit, err = dur(ts.TimeLimitedLoad.TimeLimit, "timeLimitedLoad", "timeLimit")
	}
	if ts.RandomizedTimeLimitedLoad != nil {
		kinds = append(kinds, "randomizedTimeLimitedLoad")
		out.RandomizedTimeLimitedLoad = &scenarios.TimeLimitedLoad{}
		out.RandomizedTimeLimitedLoad.TimeLimit, err = dur(ts.RandomizedTimeLimitedLoad.TimeLimit, "randomizedTimeLimitedLoad", "timeLimit")
	}
	if ts.ParallelismLimitedLoad != nil {
		kinds = append(kinds, "parallelismLimitedLoad")
		out.ParallelismLimitedLoad = &scenarios.ParallelismLimitedLoad{ParallelismLimit: ts.ParallelismLimitedLoad.ParallelismLimit}
	}
	if ts.GlobalQPSLoad != nil {
		kinds = append(kinds, "globalQPSLoad")
		out.GlobalQPSLoad = &scenarios.GlobalQPSLoad{QPS: ts.GlobalQPSLoad.QPS, Burst: ts.GlobalQPSLoad.Burst}
	}
	if ts.PoissonLoad != nil {
		kinds = append(kinds, "poissonLoad")
		out.PoissonLoad = &scenarios.PoissonLoad{ExpectedActionsPerSecond: ts.PoissonLoad.ExpectedActionsPerSecond}
	}
	if err != nil {
		return out, err
	}
	if len(kinds) != 1 {
		return out, at.fail(fmt.Sprintf("give exactly one of qpsLoad, randomizedLoad, steppedLoad, timeLimitedLoad, randomizedTimeLimitedLoad, parallelismLimitedLoad, globalQPSLoad, poissonLoad (have %d: %v)", len(kinds), kinds))
	}
	return out, nil
}
