package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/notready"
	"github.com/hollowmark/hollowmark/results"
)

func newUpCommand() *cobra.Command {
	var flags clusterFlags
	var nodes nodeFlags
	var nodesTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a control plane (or attach to one) and keep it running until Ctrl-C",
		Long: `up starts etcd, kube-apiserver, kube-scheduler and kube-controller-manager as
child processes on loopback, prints the kubeconfig to use, and keeps them
running until interrupted (Ctrl-C or SIGTERM); then it stops them in order
(API server before etcd) and leaves no process behind. A component that
exits unexpectedly stops everything too (exit code 2, naming it and showing
the end of its log), unless --restart-crashed-components restarts it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if flags.restartCrashed < 0 {
				return errors.New("--restart-crashed-components must be 0 or more")
			}
			ctx := cmd.Context()
			s, err := flags.newSession()
			if err != nil {
				return err
			}
			defer s.close()
			begin := time.Now()
			cp, err := flags.openCluster(ctx, s, nodes.count)
			if err != nil {
				return err
			}
			defer func() {
				s.log.Info("stopping control plane")
				if stopErr := cp.Stop(); stopErr != nil && err == nil {
					err = fmt.Errorf("stopping control plane: %w", stopErr)
				}
				s.log.Info("stopped", zap.String("runDir", s.runDir))
			}()
			ctx, unwatch := flags.watch(ctx, s, cp)
			defer unwatch()
			defer func() { err = explainCrash(ctx, err) }()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "control plane ready in %s (run directory %s)\n", time.Since(begin).Round(time.Millisecond), s.runDir)
			var pool *hollow.Running
			if nodes.count > 0 {
				if pool, err = nodes.run(ctx, s, flags.hollowCluster(cp), nodesTimeout); err != nil {
					return err
				}
				fmt.Fprintf(out, "%d hollow nodes ready (metrics %s/metrics)\n", len(pool.Pool.Names()), pool.Metrics.URL)
			}
			readiness, err := notready.Start(ctx, notready.Options{Config: cp.Config, Lease: leaseOf(pool), Log: s.log,
				Seen: func(t results.NotReadyTransition) {
					s.log.Warn("node went NotReady", zap.String("node", t.Node), zap.String("status", t.Status),
						zap.String("reason", t.Reason), zap.String("message", t.Message))
				}})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "export KUBECONFIG=%s\n", cp.KubeconfigPath)
			fmt.Fprintln(out, "press Ctrl-C to stop")
			<-ctx.Done()
			if seen := readiness.Stop(); len(seen) > 0 {
				s.log.Warn("nodes went NotReady while up ran", zap.Int("transitions", len(seen)), zap.Strings("nodes", results.NotReadyNodes(seen)))
			}
			if pool != nil {
				stopNodes(ctx, s, pool, 2*time.Minute)
			}
			return crashCause(ctx)
		},
	}
	flags.register(cmd.Flags())
	flags.registerSupervision(cmd.Flags())
	nodes.register(cmd.Flags(), "nodes")
	cmd.Flags().DurationVar(&nodesTimeout, "nodes-ready-timeout", 5*time.Minute, "how long hollow nodes may take to become Ready")
	return cmd
}
