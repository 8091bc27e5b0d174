package main

import (
	"github.com/spf13/cobra"
)

func newRootCommand(version string) *cobra.Command {
	root := &cobra.Command{
		Use:   "hollowmark",
		Short: "Emulate big Kubernetes clusters with hollow nodes and measure them against the scalability SLOs",
		// Errors are printed once, by main; usage only for usage errors.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.AddCommand(newUpCommand(), newNodesCommand(), newRunCommand(), newReportCommand(), newCompareCommand(), newHistoryCommand(), newScenariosCommand(), newMethodsCommand(), newValidateCommand(), newVersionCommand(version))
	return root
}
