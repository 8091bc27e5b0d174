package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/internal/logging"
	"github.com/hollowmark/hollowmark/internal/rundir"
)

// clusterFlags are the flags of every command that needs a cluster: either
// one we start, or one we attach to.
type clusterFlags struct {
	runDir                 string
	binDir                 string
	kubeconfig             string
	schedulerQPS           float32
	schedulerBurst         int
	controllerManagerQPS   float32
	controllerManagerBurst int
	etcdNoFsync            bool
	readyTimeout           time.Duration
	verbose                bool
	restartCrashed         int
}

func (f *clusterFlags) register(fs *pflag.FlagSet) {
	f.registerAttach(fs, "attach to the cluster of this kubeconfig instead of starting a control plane")
	fs.StringVar(&f.binDir, "control-plane-bin-dir", "", "directory with etcd, kube-apiserver, kube-scheduler and kube-controller-manager (default: the directory of this executable)")
	// As the scalability jobs' masters (README, "Other clusters and other
	// builds").
	fs.Float32Var(&f.schedulerQPS, "scheduler-qps", 100, "kube-scheduler client QPS, as the scalability jobs set it")
	fs.IntVar(&f.schedulerBurst, "scheduler-burst", 0, "kube-scheduler client burst (0: the same as its QPS, as the scalability jobs set it)")
	fs.Float32Var(&f.controllerManagerQPS, "controller-manager-qps", 100, "kube-controller-manager client QPS, as the scalability jobs set it")
	fs.IntVar(&f.controllerManagerBurst, "controller-manager-burst", 0, "kube-controller-manager client burst (0: the same as its QPS)")
	fs.BoolVar(&f.etcdNoFsync, "etcd-unsafe-no-fsync", false, "run etcd without fsync: faster on slow disks, not durable")
	fs.DurationVar(&f.readyTimeout, "ready-timeout", 2*time.Minute, "how long each component may take to become healthy")
}

// registerAttach adds the flags that apply when attaching to a cluster,
// all that `nodes` has.
func (f *clusterFlags) registerAttach(fs *pflag.FlagSet, kubeconfigUsage string) {
	fs.StringVar(&f.runDir, "run-dir", "", "directory for credentials, logs and records (default runs/<timestamp>)")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", kubeconfigUsage)
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "print debug logs on the terminal too")
}

// registerSupervision adds the flag of the commands that keep a control
// plane running: up and run.
func (f *clusterFlags) registerSupervision(fs *pflag.FlagSet) {
	fs.IntVar(&f.restartCrashed, "restart-crashed-components", 0,
		"restart a control-plane component that exits unexpectedly, up to N times per component; with 0 such an exit ends the command with exit code 2")
}

// session is what a command works in: a run directory with its log file.
type session struct {
	runDir string
	log    *zap.Logger
	close  func()
}

func (f *clusterFlags) newSession() (*session, error) {
	runDir := f.runDir
	if runDir == "" {
		runDir = filepath.Join("runs", time.Now().UTC().Format("20060102-150405"))
	}
	runDir, err := filepath.Abs(runDir)
	if err != nil {
		return nil, fmt.Errorf("resolving run directory: %w", err)
	}
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating run directory: %w", err)
	}
	log, closeLog, err := logging.New(os.Stderr, filepath.Join(runDir, "hollowmark.log"), f.verbose)
	if err != nil {
		return nil, err
	}
	release, err := rundir.Claim(runDir)
	if err != nil {
		closeLog()
		return nil, err
	}
	markStaleRuns(log, runDir)
	return &session{runDir: runDir, log: log, close: func() { release(); closeLog() }}, nil
}

// markStaleRuns marks the run directories beside ours whose hollowmark was
// killed: what they hold is incomplete, and a reader must not take it for a
// run that is still going or one that ended.
func markStaleRuns(log *zap.Logger, runDir string) {
	stale, err := rundir.MarkStale(runDir)
	for _, s := range stale {
		log.Warn("run directory left by a hollowmark that was killed; marked stale", zap.String("dir", s.Dir),
			zap.Int("pid", s.PID), zap.String("since", s.Since), zap.String("file", rundir.StaleFile))
	}
	if err != nil {
		log.Warn("looking for stale run directories", zap.Error(err))
	}
}

// openCluster attaches to --kubeconfig or starts the embedded control plane.
func (f *clusterFlags) openCluster(ctx context.Context, s *session, nodes int) (*controlplane.ControlPlane, error) {
	if f.kubeconfig != "" {
		cp, err := controlplane.Attach(ctx, f.kubeconfig)
		if err != nil {
			return nil, err
		}
		s.log.Info("attached to cluster", zap.String("server", cp.Record.Server), zap.String("version", cp.Record.ServerVersion))
		return cp, nil
	}
	binDir := f.binDir
	if binDir == "" {
		var err error
		if binDir, err = executableDir(); err != nil {
			return nil, err
		}
	}
	return controlplane.Start(ctx, controlplane.Options{
		RunDir:                 s.runDir,
		BinDir:                 binDir,
		Nodes:                  nodes,
		SchedulerQPS:           f.schedulerQPS,
		SchedulerBurst:         f.schedulerBurst,
		ControllerManagerQPS:   f.controllerManagerQPS,
		ControllerManagerBurst: f.controllerManagerBurst,
		EtcdUnsafeNoFsync:      f.etcdNoFsync,
		ReadyTimeout:           f.readyTimeout,
		Logger:                 s.log,
	})
}

func executableDir() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("locating hollowmark executable: %w", err)
	}
	exe, err = filepath.EvalSymlinks(exe)
	if err != nil {
		return "", fmt.Errorf("locating hollowmark executable: %w", err)
	}
	return filepath.Dir(exe), nil
}

// hollowCluster is the cluster hollow nodes join: ours, which goes away
// with us, or the one attached to.
func (f *clusterFlags) hollowCluster(cp *controlplane.ControlPlane) hollow.Cluster {
	return hollow.Cluster{Config: cp.Config, Authority: cp.Authority, KubeconfigPath: cp.KubeconfigPath, Owned: f.kubeconfig == ""}
}
