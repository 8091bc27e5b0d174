package measurements

import (
	"context"
	"fmt"
	"time"
)

// SleepName names the barrier that waits a while.
const SleepName = "Sleep"

func sleepMethod() Method {
	duration := DurationParam("duration", 0, "how long").Require()
	return Method{
		Name:   SleepName,
		Doc:    "holds the run for `duration` (ClusterLoader2's Sleep); Ctrl-C ends it",
		Params: []ParamSpec{duration},
		Wait: func(p Params, _ Deps) (Barrier, error) {
			return noFindings(func(ctx context.Context) error { return Sleep(ctx, duration.Get(p)) }), nil
		},
	}
}

// Sleep waits d, or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sleeping %s: %w", d, ctx.Err())
	}
}
