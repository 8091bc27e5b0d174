package main

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/hollowmark/hollowmark/controlplane"
)

// watch supervises the control plane: the returned context is cancelled,
// with the supervisor's error as its cause, when a component exits and is
// not restarted. Everything that waits on the cluster then stops as it does
// on Ctrl-C. unwatch ends the supervision; call it before stopping the
// control plane, whose components then exit on purpose.
func (f *clusterFlags) watch(ctx context.Context, s *session, cp *controlplane.ControlPlane) (_ context.Context, unwatch func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := cp.Supervise(ctx, f.restartCrashed); err != nil {
			s.log.Debug("control plane failed", zap.Error(err))
			cancel(err)
		}
	}()
	return ctx, func() {
		cancel(nil)
		<-done
	}
}

// crashCause returns the component exit that ended ctx, or nil when ctx is
// live or was ended otherwise (Ctrl-C).
func crashCause(ctx context.Context) error {
	cause := context.Cause(ctx)
	if crash := (*controlplane.ExitError)(nil); errors.As(cause, &crash) {
		return cause
	}
	return nil
}

// explainCrash puts the crashed component and the end of its log into err,
// the command's final error, when a crash is what ended the command.
func explainCrash(ctx context.Context, err error) error {
	crash := crashCause(ctx)
	if err == nil || crash == nil {
		return err
	}
	var exit *exitError
	if !errors.As(err, &exit) {
		exit = &exitError{code: exitFailed, msg: fmt.Sprintf("%v (%v)", crash, err)}
		if errors.Is(err, crash) {
			exit.msg = err.Error()
		}
	}
	var ee *controlplane.ExitError
	errors.As(crash, &ee)
	exit.msg += fmt.Sprintf("\nlast lines of %s:\n%s", ee.LogFile, ee.LastLines)
	return exit
}
