package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newNodesCommand() *cobra.Command {
	var cluster clusterFlags
	var nodes nodeFlags
	var stopTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "nodes --count N --kubeconfig FILE",
		Short: "Run N hollow nodes (or one shard of them) against a cluster until Ctrl-C or SIGTERM",
		Long: `nodes runs hollow kubelets and proxies in this process against the cluster of
--kubeconfig. Next to a kubeconfig written by 'hollowmark up' it finds the
cluster CA and gives every node a certificate of its own (system:node:<name>);
otherwise nodes bootstrap certificates through CertificateSigningRequests,
and failing that use the kubeconfig's identity.

With --shards S, S processes (e.g. the pods of a StatefulSet, see
'hollowmark manifests') share the --count nodes; --shard ordinal takes this
one's index from its pod name. /readyz answers 200 once every node of the
process is registered and renewing its lease, /livez unless its heartbeats
stopped. On SIGTERM the nodes stop within --stop-timeout; with
--delete-nodes=false their Nodes stay, and a process started again with the
same flags adopts them (same names, same UIDs) and their Leases.`,
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
			pool, err := nodes.run(ctx, s, cluster.hollowCluster(cp), 0)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%d hollow nodes running (metrics %s/metrics, run directory %s)\n", len(pool.Pool.Names()), pool.Metrics.URL, s.runDir)
			fmt.Fprintln(out, "press Ctrl-C to stop")
			<-ctx.Done()
			return stopNodes(ctx, s, pool, stopTimeout)
		},
	}
	cluster.registerAttach(cmd.Flags(), "the cluster to join (required)")
	nodes.register(cmd.Flags(), "count")
	cmd.Flags().StringVar(&nodes.metricsURLFile, "metrics-url-file", "", "write the URL of /metrics, /readyz and /livez to this file once served (for a pod's exec probes when the port is picked)")
	cmd.Flags().DurationVar(&stopTimeout, "stop-timeout", 25*time.Second, "how long stopping (and deleting, with --delete-nodes) may take; keep it under the pod's termination grace period")
	return cmd
}
