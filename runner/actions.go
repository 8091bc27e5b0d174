package runner

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/hollowmark/hollowmark/measurements"
	"github.com/hollowmark/hollowmark/scenarios"
)

// progressInterval is how often phases log how far they are.
const progressInterval = 5 * time.Second

// runActions runs a step's measurement actions in parallel.
func (r *runner) runActions(ctx context.Context, actions []scenarios.MeasurementAction) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, a := range actions {
		g.Go(func() error {
			var err error
			switch a.Action {
			case measurements.ActionStart:
				err = r.start(gctx, a)
			case measurements.ActionGather:
				err = r.gather(gctx, a.Identifier)
			case measurements.ActionWait:
				err = r.wait(gctx, a)
			default:
				err = fmt.Errorf("unknown action %q", a.Action)
			}
			if err != nil {
				return fmt.Errorf("%s %s: %w", a.Action, a.Identifier, err)
			}
			return nil
		})
	}
	return g.Wait()
}

func (r *runner) start(ctx context.Context, a scenarios.MeasurementAction) error {
	m, err := r.methods.Measurement(a.Method, measurements.Params(a.Params), r.deps)
	if err != nil {
		return err
	}
	if err := m.Start(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	r.started[a.Identifier] = startedMeasurement{method: a.Method, m: m}
	r.startOrder = append(r.startOrder, a.Identifier)
	r.mu.Unlock()
	return nil
}

// gather gathers a started measurement and adds its findings to the run.
// Gathering outlives ctx (bounded by gatherTimeout): a Ctrl-C or a failing
// sibling action must not lose what the measurement saw. A barrier's
// gather (one that only holds the run) is the step's wait instead: bounded
// by its own timeout (CL2's operationTimeout, often 20 minutes), and ended
// by ctx.
func (r *runner) gather(ctx context.Context, id string) error {
	r.mu.Lock()
	s, ok := r.started[id]
	delete(r.started, id)
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("measurement %s was not started", id)
	}
	if _, barrier := s.m.(measurements.Disposer); !barrier {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), gatherTimeout)
		defer cancel()
	}
	sum, err := s.m.Gather(ctx)
	if err != nil {
		return err
	}
	r.record(id, s.method, sum)
	return nil
}

// dispose drops a started measurement that only holds the run.
func (r *runner) dispose(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.started[id].m.(measurements.Disposer)
	if ok {
		d.Dispose()
		delete(r.started, id)
	}
	return ok
}

// record adds findings to the run, if there are any.
func (r *runner) record(id, method string, sum *measurements.Summary) {
	if sum == nil {
		return
	}
	r.mu.Lock()
	r.run.Add(id, method, sum)
	r.mu.Unlock()
	for _, c := range sum.Checks {
		switch {
		case c.Skipped != "":
			r.log.Warn("SLO check skipped", zap.String("check", c.Verdict()))
		case c.Passed():
			r.log.Debug("SLO held", zap.String("check", c.Verdict()))
		case c.NotEnforced != "":
			r.log.Info("SLO violated, not enforced", zap.String("check", c.Verdict()))
		default:
			r.log.Warn("SLO violated", zap.String("check", c.Verdict()))
		}
	}
}

// wait runs a barrier; barriers log their own progress.
func (r *runner) wait(ctx context.Context, a scenarios.MeasurementAction) error {
	b, err := r.methods.Barrier(a.Method, measurements.Params(a.Params), r.deps)
	if err != nil {
		return err
	}
	sum, err := b(ctx)
	if err != nil {
		return err
	}
	r.record(a.Identifier, a.Method, sum)
	return nil
}
