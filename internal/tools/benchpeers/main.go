// Command benchpeers runs hollowmark and KWOK side by side on identical,
// fresh control planes and prints a table of their medians, spreads and
// ratios (`make bench-peers`; docs/benchmarks.md). It is a tool of the
// repository, not a hollowmark subcommand: it needs bin/kwok and the
// stages `make kwok` builds from KWOK's pinned module, and it measures the
// hollowmark binary from outside, as it measures kwok.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hollowmark/hollowmark/benchpeers"
	"github.com/hollowmark/hollowmark/internal/logging"
)

// Exit codes.
const (
	exitFailed      = 1 // a run failed; the others' figures are written
	exitInterrupted = 2 // bad flags, results not written, or Ctrl-C
)

func main() {
	// The first SIGINT/SIGTERM cancels the context; signals are caught until
	// the teardown is done, so a second Ctrl-C cannot orphan a component.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command with args and returns its exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	code := 0
	cmd := newCommand(&code)
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return exitInterrupted
	}
	return code
}

func newCommand(code *int) *cobra.Command {
	stamp := time.Now().UTC().Format("20060102-150405")
	o := benchpeers.Options{}
	var verbose bool
	cmd := &cobra.Command{
		Use:   "benchpeers",
		Short: "Run hollowmark and KWOK side by side on identical control planes and compare them",
		Long: `benchpeers runs, for each repeat, each emulator on a fresh embedded control
plane: N nodes to Ready, idle CPU and memory of the emulator and of
kube-apiserver, the watches held at the API server, P pods in 10 Deployments
to Running and deleted to zero, and node NotReady transitions meanwhile, with a
per-second timeline of the pod run. It prints a table of each row's median and
range per emulator, their ratio, and "noise" where the ranges overlap; the
raw figures, the summary, timelines and plots go to --out. Ctrl-C stops the
current run and keeps what was measured, marked partial.`,
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
				return fmt.Errorf("creating %s: %w", o.OutDir, err)
			}
			log, closeLog, err := logging.New(cmd.ErrOrStderr(), filepath.Join(o.OutDir, benchpeers.LogFile), verbose)
			if err != nil {
				return err
			}
			defer closeLog()
			o.Logger = log
			rep, err := benchpeers.Bench(cmd.Context(), o)
			if rep.Table != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "\n%s\nresults: %s\n", rep.Table, o.OutDir)
			}
			if err != nil {
				return err
			}
			*code = exitCode(rep, cmd.ErrOrStderr())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.Emulators, "emulators", benchpeers.Emulators, "emulators to run, in this order in every repeat")
	f.IntVar(&o.Repeats, "repeats", 3, "runs per emulator, interleaved")
	f.IntVar(&o.Nodes, "nodes", 1000, "nodes per run")
	f.IntVar(&o.Pods, "pods", 10000, "pods per run, in 10 Deployments")
	f.StringVar(&o.OutDir, "out", filepath.Join("results", "bench-peers-"+stamp), "results directory")
	f.StringVar(&o.RunDir, "run-dir", filepath.Join("runs", "bench-peers-"+stamp), "directory for each run's control plane and emulator files (credentials, logs)")
	f.StringVar(&o.BinDir, "bin-dir", "bin", "directory with the control plane's binaries, hollowmark, kwok and kwok-stages.yaml")
	f.BoolVar(&o.EtcdUnsafeNoFsync, "etcd-unsafe-no-fsync", false, "run etcd without fsync (as hollowmark up's flag); default off, as hollowmark up")
	f.DurationVar(&o.Settle, "settle", 15*time.Second, "pause after the nodes are Ready, before the idle window")
	f.DurationVar(&o.Idle, "idle", time.Minute, "window over which idle CPU is measured")
	f.DurationVar(&o.NodesTimeout, "nodes-timeout", 10*time.Minute, "how long the nodes may take to be Ready")
	f.DurationVar(&o.PodsTimeout, "pods-timeout", 30*time.Minute, "how long the pods may take to run, and again to be gone")
	f.DurationVar(&o.Interval, "interval", time.Second, "timeline sampling period")
	f.BoolVarP(&verbose, "verbose", "v", false, "print debug logs on the terminal too")
	return cmd
}

// exitCode is 0 when every run finished, 1 when one failed, 2 when the
// benchmark was interrupted.
func exitCode(rep benchpeers.Report, stderr io.Writer) int {
	switch {
	case rep.Interrupted:
		return exitInterrupted
	case len(rep.Failed()) > 0:
		for _, r := range rep.Failed() {
			fmt.Fprintf(stderr, "run %s failed: %s\n", r.ID, r.Err)
		}
		return exitFailed
	}
	return 0
}
