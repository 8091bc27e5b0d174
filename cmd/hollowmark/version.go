package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/hollowmark/hollowmark/controlplane"
)

func newVersionCommand(build buildInfo) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print hollowmark's version and the pinned Kubernetes and etcd versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			commit := build.commit
			if commit == "" {
				commit = "unknown: built without the Makefile"
			}
			fmt.Fprintf(out, "hollowmark %s (commit %s)\n", build.version, commit)
			fmt.Fprintf(out, "kubernetes %s (control plane built from k8s.io/kubernetes)\n", controlplane.KubernetesVersion)
			fmt.Fprintf(out, "etcd %s (built from go.etcd.io/etcd/server/v3)\n", controlplane.EtcdVersion)
			fmt.Fprintf(out, "go %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
