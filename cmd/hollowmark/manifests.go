package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/hollowmark/hollowmark/deploy"
)

func newManifestsCommand(build buildInfo) *cobra.Command {
	var (
		o                  = deploy.Options{PullPolicy: corev1.PullIfNotPresent}
		kubeconfig, server string
		pullPolicy, out    string
	)
	cmd := &cobra.Command{
		Use:   "manifests --nodes N --per-shard M --target-kubeconfig FILE",
		Short: "Write what runs hollow nodes as pods on a base cluster against a target cluster (kubectl apply -f)",
		Long: `manifests writes, as YAML for the base cluster, a Namespace, the target
cluster's kubeconfig as a Secret, a StatefulSet of ceil(N/M) pods each running
one shard of 'hollowmark nodes' against the target, a headless Service for
their /metrics and a PodDisruptionBudget. Resource requests are sized per
shard from 'make bench' figures (docs/scaleout.md).

The kubeconfig goes in self-contained (files inlined, current context only).
Its identity, a client certificate or a token allowed to create bootstrap
tokens, is what the shards use to get every node a certificate of its own
through CertificateSigningRequests. --target-server replaces its server
address by the one the base cluster's pods reach.

A shard's Nodes stay when its pod stops, so that the pod the StatefulSet
starts in its place adopts them. Delete them once done:
  kubectl --kubeconfig TARGET delete nodes -l hollowmark.io/hollow-node=true`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kubeconfig == "" {
				return errors.New("--target-kubeconfig is required: the kubeconfig of the cluster the hollow nodes join")
			}
			switch p := corev1.PullPolicy(pullPolicy); p {
			case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
				o.PullPolicy = p
			default:
				return fmt.Errorf("--image-pull-policy %q: want Always, IfNotPresent or Never", pullPolicy)
			}
			var err error
			if o.TargetKubeconfig, err = deploy.TargetKubeconfig(kubeconfig, server); err != nil {
				return err
			}
			objects, err := deploy.Objects(o)
			if err != nil {
				return err
			}
			yaml, err := deploy.YAML(objects)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(yaml)
				return err
			}
			// The Secret is a credential: owner-only, as kubeconfigs are.
			if err := os.WriteFile(out, yaml, 0o600); err != nil {
				return fmt.Errorf("writing manifests: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d shards of up to %d nodes (%d in all); apply with kubectl apply -f %s\n", out, o.Shards(), o.PerShard, o.Nodes, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Nodes, "nodes", 0, "hollow nodes in all (required)")
	f.IntVar(&o.PerShard, "per-shard", 1000, "hollow nodes per pod")
	f.StringVar(&kubeconfig, "target-kubeconfig", "", "kubeconfig of the target cluster the nodes join (required)")
	f.StringVar(&server, "target-server", "", "the target API server's URL as the base cluster's pods reach it (default: the kubeconfig's)")
	f.StringVar(&o.Namespace, "namespace", "hollowmark", "namespace on the base cluster")
	f.StringVar(&o.Name, "name", "hollow-nodes", "name of the StatefulSet, Service, Secret (with -target) and PodDisruptionBudget")
	f.StringVar(&o.Image, "image", "localhost/hollowmark:"+build.version, "hollowmark image (make image writes this one to bin/hollowmark-image.tar)")
	f.StringVar(&pullPolicy, "image-pull-policy", string(corev1.PullIfNotPresent), "Always, IfNotPresent or Never")
	f.BoolVar(&o.HostNetwork, "host-network", false, "run the shards in the node's network namespace (a target API server on the base nodes' loopback, as on one machine); probes then run `hollowmark health` in the pod")
	f.StringArrayVar(&o.NodeArgs, "node-arg", nil, "one more flag for the shards' `hollowmark nodes` (repeatable), e.g. --node-arg=--fidelity=lean")
	f.Int64Var(&o.StopGrace, "grace-period", 60, "the pods' termination grace period in seconds; a shard stops within 10 s less")
	f.StringVarP(&out, "out", "o", "", "file to write (default: standard output)")
	return cmd
}
