package measurements

import (
	"context"
	"fmt"

	"github.com/hollowmark/hollowmark/results"
)

// UnsupportedName names the method that stands for a measurement
// hollowmark does not have (e.g. one a ClusterLoader2 config asks for):
// the run goes on, and the results show it skipped, never passed.
const UnsupportedName = "Unsupported"

func unsupportedMethod() Method {
	name := StringParam("measurement", "", "the measurement asked for, e.g. ClusterLoader2's NetworkProgrammingLatency").Require()
	reason := StringParam("reason", "not supported by hollowmark", "why it is not measured")
	skip := func(p Params) *Summary { return UnsupportedSummary(name.Get(p), reason.Get(p)) }
	return Method{
		Name: UnsupportedName,
		Doc: "measures nothing: records `measurement` as a skipped check, with `reason` (summary.md and junit.xml show it " +
			"skipped; it neither passes nor fails the run); takes start and gather or wait, as the measurement it stands for",
		Params: []ParamSpec{name, reason},
		Start:  func(p Params, _ Deps) (Measurement, error) { return unsupported{skip(p)}, nil },
		Wait: func(p Params, _ Deps) (Barrier, error) {
			return func(context.Context) (*Summary, error) { return skip(p), nil }, nil
		},
	}
}

// UnsupportedSummary is the findings of a measurement that was not made: one
// skipped check.
func UnsupportedSummary(measurement, reason string) *Summary {
	return &Summary{PerfData: results.NewPerfData(),
		Checks: []results.Check{{SLO: measurement, Skipped: reason}},
		Notes:  []string{fmt.Sprintf("%s was not measured: %s.", measurement, reason)}}
}

// unsupported is the start and gather form: nothing to start, the skipped
// check at gather.
type unsupported struct{ summary *Summary }

func (u unsupported) Name() string                             { return UnsupportedName }
func (u unsupported) Start(context.Context) error              { return nil }
func (u unsupported) Gather(context.Context) (*Summary, error) { return u.summary, nil }
