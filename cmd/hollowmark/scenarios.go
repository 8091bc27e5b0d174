package main

import (
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hollowmark/hollowmark/cl2"
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
	var src scenarioSource
	var nodes int
	cmd := &cobra.Command{
		Use:   "validate FILE|NAME",
		Short: "Check a scenario file, a ClusterLoader2 config or a built-in scenario, and print what it resolves to",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if src.params, err = parseParams(params); err != nil {
				return err
			}
			src.arg = args[0]
			s, err := src.load(nodes)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: valid scenario %q, %d steps, %d namespaces\n", args[0], s.Name, len(s.Steps), s.Namespaces.Count)
			for i, st := range s.Steps {
				fmt.Fprintf(out, "  step %d of %d: %s\n", i+1, len(s.Steps), st.Name)
			}
			for _, w := range s.Warnings {
				fmt.Fprintf(out, "warning: %s\n", w)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&params, "param", nil, "override a scenario parameter, k=v (repeatable)")
	cmd.Flags().StringArrayVar(&src.testOverrides, "testoverrides", nil, "ClusterLoader2 overrides file (repeatable, later files win)")
	cmd.Flags().IntVar(&nodes, "nodes", 100, "the cluster size a ClusterLoader2 config sees as .Nodes")
	return cmd
}

// scenarioSource is the scenario a command names: a built-in one, a file
// of ours, or a ClusterLoader2 config, with its overrides.
type scenarioSource struct {
	arg           string
	params        map[string]string
	testOverrides []string
	seed          uint64
}

// isCL2 says whether the source is a ClusterLoader2 config.
func (src scenarioSource) isCL2() (bool, error) {
	if _, err := os.Stat(src.arg); err != nil {
		return false, nil
	}
	return cl2.IsConfig(src.arg)
}

// load reads the scenario for a cluster of nodes Ready nodes: a CL2
// config sees them as .Nodes; our scenarios get them as parameter "nodes"
// if they declare it and --param does not set it (nodes 0: leave it).
func (src scenarioSource) load(nodes int) (*scenarios.Scenario, error) {
	isCL2, err := src.isCL2()
	if err != nil {
		return nil, err
	}
	if isCL2 {
		return cl2.Load(src.arg, cl2.Options{Overrides: src.testOverrides, Params: src.params, Env: os.Environ(),
			Nodes: nodes, Seed: src.seed})
	}
	if len(src.testOverrides) > 0 {
		return nil, fmt.Errorf("--testoverrides is for ClusterLoader2 configs; %s is a scenario of ours (use --param)", src.arg)
	}
	s, err := loadScenario(src.arg, src.params)
	if err != nil || nodes < 1 {
		return s, err
	}
	if _, set := src.params["nodes"]; set || !hasParameter(s, "nodes") {
		return s, nil
	}
	withNodes := maps.Clone(src.params)
	withNodes["nodes"] = strconv.Itoa(nodes)
	return loadScenario(src.arg, withNodes)
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
