package runner

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/measurements"
	"github.com/hollowmark/hollowmark/results"
	"github.com/hollowmark/hollowmark/scenarios"
)

// Defaults of measurement parameters a scenario leaves out.
const (
	defaultWaitTimeout = 15 * time.Minute
	defaultInterval    = 5 * time.Second
	progressInterval   = 5 * time.Second
)

// runActions runs a step's measurement actions in parallel.
func (r *runner) runActions(ctx context.Context, actions []scenarios.MeasurementAction) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, a := range actions {
		g.Go(func() error {
			var err error
			switch a.Action {
			case "start":
				err = r.start(gctx, a)
			case "gather":
				err = r.gather(gctx, a.Identifier)
			case "wait":
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
	m, err := r.newMeasurement(a)
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
// sibling action must not lose what the measurement saw.
func (r *runner) gather(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), gatherTimeout)
	defer cancel()
	r.mu.Lock()
	s, ok := r.started[id]
	delete(r.started, id)
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("measurement %s was not started", id)
	}
	sum, err := s.m.Gather(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.run.Add(id, s.method, sum)
	r.mu.Unlock()
	for _, c := range sum.Checks {
		if c.Passed() {
			r.log.Debug("SLO held", zap.String("check", c.Verdict()))
		} else {
			r.log.Warn("SLO violated", zap.String("check", c.Verdict()))
		}
	}
	return nil
}

func (r *runner) newMeasurement(a scenarios.MeasurementAction) (measurements.Measurement, error) {
	selector := a.String("labelSelector", "")
	switch a.Method {
	case "PodStartupLatency":
		all := a.Duration("threshold", measurements.DefaultPodStartupThreshold)
		th := results.Thresholds{P50: all, P90: all, P99: all}
		p50, p90, p99 := a.Percentiles("thresholds")
		for _, o := range []struct{ set, into *time.Duration }{{&p50, &th.P50}, {&p90, &th.P90}, {&p99, &th.P99}} {
			if *o.set > 0 {
				*o.into = *o.set
			}
		}
		src, err := measurements.ParseTimestampSource(a.String("timestampSource", string(measurements.WatchTimes)))
		if err != nil {
			return nil, err
		}
		return &measurements.PodStartupLatency{Client: r.client, LabelSelector: selector, Namespaces: r.namespaces,
			Thresholds: th, TimestampSource: src, Probes: r.cfg.Probes}, nil
	case "APIResponsiveness":
		return &measurements.APIResponsiveness{Client: r.client, ScrapeInterval: a.Duration("scrapeInterval", 0),
			Window: a.Duration("window", 0)}, nil
	case "SchedulingThroughput":
		return &measurements.SchedulingThroughput{Client: r.client, LabelSelector: selector,
			Interval: a.Duration("interval", defaultInterval)}, nil
	case "ResourceUsage":
		return &measurements.ResourceUsage{Client: r.client, Processes: r.cfg.Processes,
			Interval: a.Duration("interval", defaultInterval)}, nil
	}
	return nil, fmt.Errorf("no measurement method %q", a.Method)
}

// wait runs a barrier, logging progress.
func (r *runner) wait(ctx context.Context, a scenarios.MeasurementAction) error {
	begin := time.Now()
	timeout := a.Duration("timeout", defaultWaitTimeout)
	switch a.Method {
	case "WaitForControlledPodsRunning":
		last := time.Time{}
		w := &measurements.WaitForControlledPodsRunning{Client: r.client, Namespaces: r.namespaces,
			LabelSelector: a.String("labelSelector", ""), Timeout: timeout,
			Progress: func(c measurements.PodCounts) {
				if time.Since(last) >= progressInterval {
					last = time.Now()
					r.log.Info("pods running", zap.Int("running", c.Running), zap.Int("want", c.Want),
						zap.Int("exist", c.Exist), zap.Duration("elapsed", time.Since(begin).Round(time.Second)))
				}
			}}
		return w.Wait(ctx)
	case "WaitForNodesReady":
		last := time.Time{}
		w := &hollow.WaitForNodesReady{Client: r.client, LabelSelector: a.String("labelSelector", ""),
			MinCount: a.Int("minCount", 1), Timeout: timeout,
			Progress: func(ready, total int) {
				if time.Since(last) >= progressInterval {
					last = time.Now()
					r.log.Info("nodes ready", zap.Int("ready", ready), zap.Int("nodes", total),
						zap.Duration("elapsed", time.Since(begin).Round(time.Second)))
				}
			}}
		return w.Wait(ctx)
	}
	return fmt.Errorf("no barrier %q", a.Method)
}
