package runner

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hollowmark/hollowmark/measurements"
	"github.com/hollowmark/hollowmark/results"
)

// gathered records the context its Gather got.
type gathered struct {
	deadline bool
	err      error // ctx.Err() once Gather returns
}

func (g *gathered) Name() string                { return "fake" }
func (g *gathered) Start(context.Context) error { return nil }
func (g *gathered) Gather(ctx context.Context) (*measurements.Summary, error) {
	_, g.deadline = ctx.Deadline()
	select {
	case <-ctx.Done():
	case <-time.After(100 * time.Millisecond):
	}
	g.err = ctx.Err()
	return nil, nil
}

// barrier is a gathered measurement that only holds the run.
type barrier struct{ gathered }

func (b *barrier) Dispose() {}

// A measurement's gather outlives a cancelled step and is bounded; a
// barrier's gather waits as long as its own timeout says, and stops with
// the step.
func TestGatherContexts(t *testing.T) {
	for _, tc := range []struct {
		name         string
		m            interface{ got() *gathered }
		deadline     bool
		cancelledErr error
	}{
		{"measurement", &plain{}, true, nil},
		{"barrier", &barrier{}, false, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &runner{log: zap.NewNop(), run: &results.Run{},
				started: map[string]startedMeasurement{"x": {method: "fake", m: tc.m.(measurements.Measurement)}}}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := r.gather(ctx, "x"); err != nil {
				t.Fatal(err)
			}
			g := tc.m.got()
			if g.deadline != tc.deadline || !errors.Is(g.err, tc.cancelledErr) {
				t.Errorf("gather saw a deadline %v, error %v after a cancelled step; want %v, %v", g.deadline, g.err, tc.deadline, tc.cancelledErr)
			}
		})
	}
}

type plain struct{ gathered }

func (p *plain) got() *gathered   { return &p.gathered }
func (b *barrier) got() *gathered { return &b.gathered }
