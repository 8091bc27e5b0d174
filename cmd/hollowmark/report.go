package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hollowmark/hollowmark/analysis"
	"github.com/hollowmark/hollowmark/compare"
	"github.com/hollowmark/hollowmark/history"
	"github.com/hollowmark/hollowmark/report"
	"github.com/hollowmark/hollowmark/results"
)

func newReportCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "report RUN_DIR",
		Short: "Write report.html with plots, and an updated summary.md, into a results directory",
		Long: `report reads a results directory written by 'hollowmark run' and writes
report.html (self-contained; the PNG plots sit beside it) and summary.md with
links to them. 'hollowmark run' does this at the end of every run; use report
to redo it, e.g. after upgrading hollowmark.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			figures, err := report.Write(args[0])
			if err != nil {
				return err
			}
			printFigures(cmd, args[0], figures)
			return nil
		},
	}
}

func printFigures(cmd *cobra.Command, dir string, figures []report.Plot) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "report: %s\n", filepath.Join(dir, report.File))
	for _, f := range figures {
		if f.Missing != "" {
			fmt.Fprintf(out, "  %s: not drawn, %s\n", f.Title, f.Missing)
		}
	}
}

func newCompareCommand() *cobra.Command {
	var opts compare.Options
	var out string
	cmd := &cobra.Command{
		Use:   "compare BASE_RUN CANDIDATE_RUN",
		Short: "Compare two runs metric by metric; exit 1 when the candidate regressed",
		Long: `compare sets two results directories side by side: pod startup percentiles
per phase, API call p99 per call kind, scheduling throughput and resource
usage, with the change in percent and a verdict per metric (regression,
improvement, within noise) from a bootstrap confidence interval of the
difference (resampling the raw samples, or the API server's histogram for
API calls), against --tolerance and absolute floors.

It prints a Markdown table (for CI logs and PR comments) and writes
compare.md, compare.html and an overlaid pod startup CDF to --out. Exit code
1 when a regression is found, 0 otherwise, 2 on error.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			base, err := analysis.Load(args[0])
			if err != nil {
				return fmt.Errorf("base run: %w", err)
			}
			cand, err := analysis.Load(args[1])
			if err != nil {
				return fmt.Errorf("candidate run: %w", err)
			}
			c := compare.Compare(base, cand, opts)
			dir := out
			if dir == "" {
				dir = filepath.Join(args[1], "compare-vs-"+base.Record.ID)
			}
			if err := report.WriteComparison(dir, base, cand, c); err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), c.Markdown())
			fmt.Fprintf(cmd.OutOrStdout(), "\ncomparison: %s\n", filepath.Join(dir, report.ComparisonFile))
			if n := len(c.Regressions()); n > 0 {
				return &exitError{code: results.ExitViolated, msg: fmt.Sprintf("%d regressions", n)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.Float64Var(&opts.Tolerance, "tolerance", compare.DefaultTolerance, "relative change a metric may show before it counts (0.1 = 10%)")
	f.DurationVar(&opts.MinEffect, "min-effect", compare.DefaultMinEffect, "smallest latency change that counts, whatever the tolerance")
	f.Uint64Var(&opts.Seed, "seed", 1, "seed of the bootstrap")
	f.StringVar(&out, "out", "", "where to write compare.md, compare.html and plots (default CANDIDATE_RUN/compare-vs-<base run id>)")
	return cmd
}

func newHistoryCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "history DIR",
		Short: "Print and plot the trend of key metrics across the runs under DIR",
		Long: `history finds every results directory under DIR (e.g. a nightly job's),
oldest first, prints a table of key metrics per run (pod startup
percentiles, the slowest API call kind, scheduling throughput, CPU and
memory of the API server and of the hollow nodes) marking runs that violated
an SLO, and writes history.md and
trend plots to --out (default DIR).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			entries, err := history.Read(args[0])
			if err != nil {
				return err
			}
			dir := out
			if dir == "" {
				dir = args[0]
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("creating %s: %w", dir, err)
			}
			table := history.Markdown(entries)
			if err := results.WriteFile(filepath.Join(dir, history.File), []byte(table)); err != nil {
				return fmt.Errorf("writing history: %w", err)
			}
			files, err := history.Plot(dir, entries)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), table)
			fmt.Fprintf(cmd.OutOrStdout(), "\nwritten: %s", filepath.Join(dir, history.File))
			for _, f := range files {
				fmt.Fprintf(cmd.OutOrStdout(), ", %s", f)
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "where to write history.md and the trend plots (default DIR)")
	return cmd
}
