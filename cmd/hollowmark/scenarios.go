package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hollowmark/hollowmark/measurements"
	"github.com/hollowmark/hollowmark/scenarios"
)

func newScenariosCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "scenarios",
		Short: "List the built-in scenarios",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, name := range scenarios.List() {
				s, err := scenarios.Load(scenarios.Builtin(), name+".yaml", nil)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", name, s.Description)
			}
			return nil
		},
	}
}

func newMethodsCommand() *cobra.Command {
	var markdown bool
	cmd := &cobra.Command{
		Use:   "methods",
		Short: "List the measurement methods a scenario may use, with their actions and parameters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			methods := measurements.NewRegistry()
			if markdown {
				fmt.Fprint(cmd.OutOrStdout(), methods.Markdown())
			} else {
				fmt.Fprint(cmd.OutOrStdout(), methods.Text())
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the reference of docs/scenarios.md (between its markers)")
	return cmd
}

func newValidateCommand() *cobra.Command {
	var params []string
	cmd := &cobra.Command{
		Use:   "validate FILE|NAME",
		Short: "Check a scenario file (or a built-in scenario) and print what it resolves to",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			overrides, err := parseParams(params)
			if err != nil {
				return err
			}
			s, err := loadScenario(args[0], overrides)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: valid scenario %q, %d steps, %d namespaces\n", args[0], s.Name, len(s.Steps), s.Namespaces.Count)
			for i, st := range s.Steps {
				fmt.Fprintf(out, "  step %d of %d: %s\n", i+1, len(s.Steps), st.Name)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&params, "param", nil, "override a scenario parameter, k=v (repeatable)")
	return cmd
}

// loadScenario reads a file, or a built-in scenario by name.
func loadScenario(arg string, overrides map[string]string) (*scenarios.Scenario, error) {
	if _, err := os.Stat(arg); err == nil {
		return scenarios.LoadFile(arg, overrides)
	}
	for _, name := range scenarios.List() {
		if name == arg {
			return scenarios.Load(scenarios.Builtin(), name+".yaml", overrides)
		}
	}
	return nil, fmt.Errorf("%s: no such file, and not a built-in scenario (%s)", arg, strings.Join(scenarios.List(), ", "))
}

func parseParams(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--param %q: want key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}
