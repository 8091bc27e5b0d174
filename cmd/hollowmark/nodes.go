package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newNodesCommand() *cobra.Command {
	var cluster clusterFlags
	var nodes nodeFlags
	var deleteNodes bool
	cmd := &cobra.Command{
		Use:   "nodes --count N --kubeconfig FILE",
		Short: "Run N hollow nodes against a cluster until Ctrl-C",
		Long: `nodes runs hollow kubelets and proxies in this process against the cluster of
--kubeconfig. Next to a kubeconfig written by 'hollowmark up' it finds the
cluster CA and gives every node a certificate of its own (system:node:<name>);
otherwise every node uses the kubeconfig's identity.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cluster.kubeconfig == "" {
				return errors.New("--kubeconfig is required (start a cluster with `hollowmark up` or use `hollowmark up --nodes N`)")
			}
			if nodes.count < 1 {
				return errors.New("--count must be at least 1")
			}
			ctx := cmd.Context()
			s, err := cluster.newSession()
			if err != nil {
				return err
			}
			defer s.close()
			cp, err := cluster.openCluster(ctx, s, nodes.count)
			if err != nil {
				return err
			}
			pool, err := nodes.startNodes(ctx, s, cp)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%d hollow nodes running (metrics %s/metrics, run directory %s)\n", len(pool.pool.Names()), pool.metrics.URL, s.runDir)
			fmt.Fprintln(out, "press Ctrl-C to stop")
			<-ctx.Done()
			stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			return pool.stop(stopCtx, cp, deleteNodes)
		},
	}
	cluster.register(cmd.Flags())
	nodes.register(cmd.Flags(), "count")
	cmd.Flags().BoolVar(&deleteNodes, "delete-nodes", false, "delete the Node objects on exit")
	return cmd
}
