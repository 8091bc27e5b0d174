package measurements

import (
	"context"

	"github.com/hollowmark/hollowmark/results"
)

// Measurement observes a run: Start before the workload, Gather after it
// (or when the run is interrupted, with what was seen so far). The context
// of Start bounds starting only: a measurement observes until Gather.
type Measurement interface {
	Name() string
	Start(ctx context.Context) error
	Gather(ctx context.Context) (*Summary, error)
}

// Disposer is a measurement that only holds the run (a barrier in
// ClusterLoader2's start and gather form): it has nothing to record, so a
// run that stops before its gather disposes of it instead of waiting.
type Disposer interface {
	Dispose()
}

// Summary is what a measurement found.
type Summary = results.Summary
