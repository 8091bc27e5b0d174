package controlplane

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"
)

// ExitError says that a component we started exited without being asked
// to. Whatever is measured after that is not to be trusted.
type ExitError struct {
	Component string
	// Err is how the process ended, e.g. "signal: killed".
	Err error
	// Restarts is how many times the component had been restarted before.
	Restarts int
	// LogFile is the component's log; LastLines its end at the exit.
	LogFile   string
	LastLines string

	proc *process
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s exited unexpectedly (%v)", e.Component, e.Err)
	switch {
	case e.Restarts == 1:
		msg += " after 1 restart"
	case e.Restarts > 1:
		msg += fmt.Sprintf(" after %d restarts", e.Restarts)
	}
	return msg
}

// exitQueue holds room for one exit per component; a control plane nobody
// supervises drops the rest (they are logged regardless).
const exitQueue = 4

// reportUnexpectedExit logs a component that dies while it should run and
// hands the exit to Supervise. The log's end is read now, before a restart
// appends to it.
func (cp *ControlPlane) reportUnexpectedExit(p *process) {
	<-p.done
	if p.stopping.Load() {
		return
	}
	cp.opts.Logger.Error("control-plane component exited unexpectedly", zap.String("component", p.name),
		zap.Error(p.waitErr), zap.String("log", p.logPath))
	crash := &ExitError{Component: p.name, Err: p.waitErr, LogFile: p.logPath, LastLines: p.logTail(10), proc: p}
	select {
	case cp.exits <- crash:
	default:
	}
}

// settleDelay is the pause between a crash and acting on it, as a
// supervisor's back-off. Components that die with the crashed one (a
// controller-manager still starting when the API server goes, and often
// reaped first) are reported meanwhile, so that the one they need is named,
// or restarted first.
const settleDelay = time.Second

// Supervise watches the components until ctx ends. A component that exits
// without being asked to is restarted with the same flags and port, as a
// real control plane's supervisor (kubelet, systemd) would, up to
// maxRestarts times per component; past that, Supervise returns the
// *ExitError. A restart that exits before it is ready counts as another
// crash; one that does not become ready ends supervision with its error.
// An attached cluster is not ours to watch: Supervise just waits for ctx.
func (cp *ControlPlane) Supervise(ctx context.Context, maxRestarts int) error {
	restarts := map[string]int{}
	var pending []*ExitError
	for {
		if len(pending) == 0 {
			select {
			case <-ctx.Done():
				return nil
			case crash := <-cp.exits:
				pending = append(pending, crash)
			}
		}
		if !sleep(ctx, settleDelay) {
			return nil
		}
		pending = inStartOrder(append(pending, cp.drainExits()...))
		crash := pending[0]
		pending = pending[1:]
		crash.Restarts = restarts[crash.Component]
		if crash.Restarts >= maxRestarts {
			return crash
		}
		restarts[crash.Component]++
		cp.opts.Logger.Warn("restarting crashed component", zap.String("component", crash.Component),
			zap.Int("restart", restarts[crash.Component]), zap.Int("of", maxRestarts), zap.String("lastLines", crash.LastLines))
		err := cp.respawn(ctx, crash.proc)
		switch {
		case err == nil, errors.Is(err, errExitedEarly): // its exit is queued
		case ctx.Err() != nil:
			return nil
		default:
			return fmt.Errorf("%w; restarting it failed: %w", crash, err)
		}
	}
}

func (cp *ControlPlane) drainExits() []*ExitError {
	var out []*ExitError
	for {
		select {
		case crash := <-cp.exits:
			out = append(out, crash)
		default:
			return out
		}
	}
}

// inStartOrder sorts crashes so that a component comes back after those it
// needs: etcd, the API server, then its clients.
func inStartOrder(crashes []*ExitError) []*ExitError {
	rank := map[string]int{Etcd: 0, APIServer: 1}
	slices.SortStableFunc(crashes, func(a, b *ExitError) int {
		ra, ok := rank[a.Component]
		if !ok {
			ra = 2
		}
		rb, ok := rank[b.Component]
		if !ok {
			rb = 2
		}
		return ra - rb
	})
	return crashes
}

// sleep waits for d and reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
