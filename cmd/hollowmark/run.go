package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/notready"
	"github.com/hollowmark/hollowmark/report"
	"github.com/hollowmark/hollowmark/results"
	"github.com/hollowmark/hollowmark/runner"
	"github.com/hollowmark/hollowmark/scenarios"
)

// runFlags are the flags of `hollowmark run` beyond cluster and nodes.
type runFlags struct {
	scenario       string
	params         []string
	testOverrides  []string
	out            string
	seed           uint64
	nodesTimeout   time.Duration
	cleanupTimeout time.Duration
}

func newRunCommand() *cobra.Command {
	var cluster clusterFlags
	var nodes nodeFlags
	var flags runFlags
	cmd := &cobra.Command{
		Use:   "run --scenario NAME|FILE [--nodes N] [--kubeconfig FILE]",
		Short: "Run a scenario and check the SLOs; exit 0 when they held, 1 when one was violated, 2 when the run failed",
		Long: `run starts the embedded control plane (or attaches to --kubeconfig), starts
--nodes hollow nodes, runs the scenario step by step, and writes the results
directory: summary.md, junit.xml, run.json, PerfData JSON and CSV tables per
measurement, the scenario as it ran, and the control-plane record.

The scenario parameter "nodes" is the number of Ready nodes in the cluster
once ours are up, unless --param nodes=N says otherwise. With --kubeconfig
and --nodes 0 the scenario runs on the cluster's own nodes.

Ctrl-C (or SIGTERM) stops the run, gathers what was measured so far
(marked partial), cleans up and writes the results. So does a control-plane
component that exits unexpectedly, unless --restart-crashed-components
restarts it; the run then exits 2 naming the component and showing the end
of its log.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runScenario(cmd.Context(), cmd.OutOrStdout(), &cluster, &nodes, &flags)
		},
	}
	cluster.register(cmd.Flags())
	cluster.registerSupervision(cmd.Flags())
	nodes.register(cmd.Flags(), "nodes")
	f := cmd.Flags()
	f.StringVar(&flags.scenario, "scenario", "", "built-in scenario name or scenario file (required)")
	f.StringArrayVar(&flags.params, "param", nil, "override a scenario parameter, k=v (repeatable)")
	f.StringArrayVar(&flags.testOverrides, "testoverrides", nil, "ClusterLoader2 overrides file for a ClusterLoader2 config (repeatable, later files win)")
	f.StringVar(&flags.out, "out", "", "results directory (default results/<run-id>)")
	f.Uint64Var(&flags.seed, "seed", 1, "seed of randomized tuning sets and of RandIntRange in object templates")
	f.DurationVar(&flags.nodesTimeout, "nodes-ready-timeout", 5*time.Minute, "how long hollow nodes may take to become Ready")
	f.DurationVar(&flags.cleanupTimeout, "cleanup-timeout", 5*time.Minute, "how long to wait for the run's namespaces to be deleted on an attached cluster")
	return cmd
}

func runScenario(ctx context.Context, stdout io.Writer, cluster *clusterFlags, nodes *nodeFlags, flags *runFlags) (err error) {
	if flags.scenario == "" {
		return errors.New("--scenario is required: a built-in scenario (see `hollowmark scenarios`) or a file")
	}
	if cluster.restartCrashed < 0 {
		return errors.New("--restart-crashed-components must be 0 or more")
	}
	if cluster.kubeconfig == "" && nodes.count < 1 {
		return errors.New("--nodes must be at least 1 on the embedded control plane (or give --kubeconfig to use a cluster's own nodes)")
	}
	params, err := parseParams(flags.params)
	if err != nil {
		return err
	}
	src := scenarioSource{arg: flags.scenario, params: params, testOverrides: flags.testOverrides, seed: flags.seed}
	// Fail on a bad scenario before starting anything; the node count is
	// known once the nodes are up.
	sc, err := src.load(max(nodes.count, 1))
	if err != nil {
		return err
	}
	if err := checkChaos(sc, nodes.count); err != nil {
		return err
	}
	runID := sc.Name + "-" + time.Now().UTC().Format("20060102-150405")
	if cluster.runDir == "" {
		cluster.runDir = filepath.Join("runs", runID)
	}
	out := flags.out
	if out == "" {
		out = filepath.Join("results", runID)
	}
	s, err := cluster.newSession()
	if err != nil {
		return err
	}
	defer s.close()
	cp, err := cluster.openCluster(ctx, s, nodes.count)
	if err != nil {
		return err
	}
	defer func() {
		if stopErr := cp.Stop(); stopErr != nil && err == nil {
			err = fmt.Errorf("stopping control plane: %w", stopErr)
		}
	}()
	ctx, unwatch := cluster.watch(ctx, s, cp)
	defer unwatch()
	defer func() { err = explainCrash(ctx, err) }()
	run := &results.Run{ID: runID, Cluster: results.Cluster{Mode: cp.Record.Mode, Server: cp.Record.Server,
		ServerVersion: cp.Record.ServerVersion, HollowNodes: nodes.count}}
	if nodes.count > 0 {
		run.Cluster.HollowFidelity = nodes.fidelity
	}
	var pool *hollow.Running
	if nodes.count > 0 {
		if pool, err = nodes.run(ctx, s, cluster.hollowCluster(cp), flags.nodesTimeout); err != nil {
			return err
		}
		defer stopNodes(ctx, s, pool, 2*time.Minute)
	}
	if run.Cluster.Nodes, err = hollow.CountReady(ctx, cp.Config); err != nil {
		return err
	}
	if sc, err = src.load(run.Cluster.Nodes); err != nil {
		return err
	}
	run.Scenario, run.Parameters = sc.Name, sc.Parameters
	run.Warnings = append(run.Warnings, sc.Warnings...)
	record, err := json.MarshalIndent(cp.Record, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding control-plane record: %w", err)
	}
	run.Files = map[string][]byte{"scenario.yaml": sc.Rendered, controlplane.RecordFile: append(record, '\n')}
	cfg := runner.Config{Scenario: sc, RunID: runID, Rest: cp.Config, Log: s.log, Seed: flags.seed,
		Processes: cp.PIDs, DeleteNamespaces: cluster.kubeconfig != "", CleanupTimeout: flags.cleanupTimeout}
	if pool != nil {
		cfg.Probes = func() []hollow.PodProbes {
			probes, err := pool.ReadProbes()
			if err != nil {
				s.log.Warn("reading node-side probes", zap.Error(err))
			}
			return probes
		}
	}
	fmt.Fprintf(stdout, "running scenario %s on %d nodes (run %s, logs in %s)\n", sc.Name, run.Cluster.Nodes, runID, s.runDir)
	run.Started = time.Now()
	readiness, err := notready.Start(ctx, notready.Options{Config: cp.Config, Lease: leaseOf(pool), Log: s.log})
	if err != nil {
		return err
	}
	var delays map[string]hollow.DelayHistogram
	if pool != nil {
		delays = pool.Pool.HeartbeatDelays()
	}
	stopFailures, err := startNodeFailures(ctx, sc, pool, cp.Config, flags.seed, s.log)
	if err != nil {
		return err
	}
	runner.Run(ctx, cfg, run)
	if events := stopFailures(); sc.Chaos != nil && sc.Chaos.NodeFailure != nil {
		run.SetNodeFailures(events)
	}
	run.SetNodeReadiness(run.Started, time.Now(), readiness.Stop())
	if pool != nil {
		run.NodeReadiness.Heartbeats = heartbeatDelays(delays, pool.Pool.HeartbeatDelays())
	}
	if crash := crashCause(ctx); crash != nil {
		run.Error = fmt.Sprintf("%v (%s)", crash, run.Error)
	}
	if err := run.Write(out); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	fmt.Fprint(stdout, "\n"+run.VerdictTable())
	fmt.Fprintf(stdout, "results: %s\n", out)
	// The results stand without the report; a report that cannot be drawn
	// is said, not allowed to change the verdict.
	if _, err := report.Write(out); err != nil {
		s.log.Error("writing the HTML report", zap.Error(err))
	} else {
		fmt.Fprintf(stdout, "report: %s\n", filepath.Join(out, report.File))
	}
	if code := run.ExitCode(); code != results.ExitPassed {
		return &exitError{code: code, msg: run.Verdict() + ": " + outcomeReason(run)}
	}
	return nil
}

// leaseOf gives a hollow node's view of its lease for the NotReady
// record; nil without a pool.
func leaseOf(pool *hollow.Running) func(string) *results.LeaseAtTransition {
	if pool == nil {
		return nil
	}
	return func(node string) *results.LeaseAtTransition {
		l, ok := pool.Pool.LeaseState(node)
		if !ok {
			return nil
		}
		return &results.LeaseAtTransition{Renewed: l.Renewed, LastDelay: l.LastDelay, Paused: !l.PausedUntil.IsZero()}
	}
}

func outcomeReason(run *results.Run) string {
	if run.Error != "" {
		return run.Error
	}
	return fmt.Sprintf("%d SLO checks violated", run.Violated())
}

func hasParameter(s *scenarios.Scenario, name string) bool {
	_, ok := s.Parameters[name]
	return ok
}

// exitError ends the process with a code other than the generic error's.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }
