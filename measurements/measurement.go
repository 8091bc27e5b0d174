package measurements

import (
	"context"

	"github.com/hollowmark/hollowmark/results"
)

// Measurement observes a run: Start before the workload, Gather after it
// (or when the run is interrupted, with what was seen so far).
type Measurement interface {
	Name() string
	Start(ctx context.Context) error
	Gather(ctx context.Context) (*Summary, error)
}

// Summary is what a measurement found.
type Summary struct {
	Checks   []results.Check
	PerfData results.PerfData
	// Tables are raw rows (a header first) to write as CSV, by file name,
	// so that every reported figure can be recomputed.
	Tables map[string][][]string
}
