package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
)

func newUpCommand() *cobra.Command {
	var flags clusterFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a control plane (or attach to one) and keep it running until Ctrl-C",
		Long: `up starts etcd, kube-apiserver, kube-scheduler and kube-controller-manager as
child processes on loopback, prints the kubeconfig to use, and keeps them
running until interrupted; then it stops them in order (API server before
etcd) and leaves no process behind.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, err := flags.newSession()
			if err != nil {
				return err
			}
			defer s.close()
			begin := time.Now()
			cp, err := flags.openCluster(ctx, s, 0)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "control plane ready in %s (run directory %s)\n", time.Since(begin).Round(time.Millisecond), s.runDir)
			fmt.Fprintf(out, "export KUBECONFIG=%s\n", cp.KubeconfigPath)
			fmt.Fprintln(out, "press Ctrl-C to stop")
			<-ctx.Done()
			s.log.Info("stopping control plane")
			if err := cp.Stop(); err != nil {
				return fmt.Errorf("stopping control plane: %w", err)
			}
			s.log.Info("stopped", zap.String("runDir", s.runDir))
			return nil
		},
	}
	flags.register(cmd.Flags())
	return cmd
}
