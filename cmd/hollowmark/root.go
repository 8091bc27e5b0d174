package main

import (
	"github.com/spf13/cobra"
)

// buildInfo is what the build stamped into the binary.
type buildInfo struct{ version, commit string }

func newRootCommand(build buildInfo) *cobra.Command {
	root := &cobra.Command{
		Use:   "hollowmark",
		Short: "Emulate big Kubernetes clusters with hollow nodes and measure them against the scalability SLOs",
		// Errors are printed once, by main; usage only for usage errors.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.AddCommand(newUpCommand(), newNodesCommand(), newRunCommand(), newReportCommand(), newCompareCommand(), newHistoryCommand(), newScenariosCommand(), newMethodsCommand(), newValidateCommand(), newVersionCommand(build), newManifestsCommand(build), newHealthCommand())
	return root
}
