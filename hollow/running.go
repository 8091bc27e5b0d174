package hollow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/hollowmark/hollowmark/internal/metricsserver"
)

// RunOptions configure a running pool: its nodes, where it serves its
// endpoints, and what becomes of its Nodes when it stops. `up`, `nodes` and
// `run` all start their nodes through Run.
type RunOptions struct {
	Pool PoolConfig
	// MetricsAddr serves /metrics, /readyz, /livez and /debug/pprof/.
	MetricsAddr string
	// MetricsURLFile, if set, receives the endpoint's URL once it listens
	// (a pod's exec probes find it there when the port was picked).
	MetricsURLFile string
	// ProbeFile is where the nodes' pod probes go (probes.jsonl).
	ProbeFile string
	// ReadyTimeout bounds the wait for the nodes to be Ready as the API
	// server sees them; 0 returns once they are registered.
	ReadyTimeout time.Duration
	// DeleteNodes deletes the pool's Nodes when it stops, or fails to get
	// Ready, on a cluster that outlives us; without it a pool started again
	// with the same names adopts them (same UIDs) and their Leases.
	DeleteNodes bool
	Log         *zap.Logger
	// Progress, if set, hears each registration.
	Progress func(registered, total int)
	// ReadyProgress, if set, hears the ready count after every poll of
	// the wait for Ready.
	ReadyProgress func(ready, total int)
}

// Running is a started pool with its endpoints and probe file.
type Running struct {
	Pool    *Pool
	Metrics *metricsserver.Server
	// deleter deletes the Nodes at Stop; nil keeps them.
	deleter   kubernetes.Interface
	probes    *probes
	probeFile *ProbeFile
	log       *zap.Logger
}

// deleteQPS lets a stopping pool delete a thousand Nodes within a pod's
// grace period (client-go's default of 5 QPS would take minutes).
const deleteQPS = 100

// Run starts a pool's endpoints, then its nodes with credentials chosen by
// ChooseCredentials, and returns once every node is registered (and, with
// ReadyTimeout, Ready). The probe endpoints answer from the start: not
// ready while the nodes register.
func Run(ctx context.Context, c Cluster, o RunOptions) (_ *Running, err error) {
	r := &Running{probes: newProbes(), log: o.Log}
	if o.DeleteNodes && !c.Owned {
		cfg := rest.CopyConfig(c.Config)
		cfg.QPS, cfg.Burst = deleteQPS, 2*deleteQPS
		if r.deleter, err = kubernetes.NewForConfig(cfg); err != nil {
			return nil, fmt.Errorf("creating client: %w", err)
		}
	}
	metrics := NewMetrics()
	if r.Metrics, err = metricsserver.Start(o.MetricsAddr, metrics.Registry, r.probes.handlers()); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			r.Metrics.Stop(context.Background())
		}
	}()
	if o.MetricsURLFile != "" {
		if err := os.WriteFile(o.MetricsURLFile, []byte(r.Metrics.URL+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("writing the metrics URL: %w", err)
		}
	}
	creds, cleanup, err := ChooseCredentials(ctx, c, o.Log)
	if err != nil {
		return nil, err
	}
	defer cleanup(context.Background())
	if r.probeFile, err = CreateProbeFile(o.ProbeFile); err != nil {
		return nil, err
	}
	o.Log.Info("starting hollow nodes", zap.Int("nodes", len(o.Pool.Names())), zap.String("metrics", r.Metrics.URL+"/metrics"))
	begin := time.Now()
	if r.Pool, err = StartPool(ctx, creds, o.Pool, metrics, r.probeFile, o.Log, o.Progress); err != nil {
		r.probeFile.Close()
		return nil, fmt.Errorf("starting hollow nodes: %w", err)
	}
	r.probes.running(r.Pool)
	o.Log.Info("hollow nodes registered", zap.Int("nodes", len(r.Pool.Names())), zap.Duration("took", time.Since(begin).Round(time.Millisecond)))
	if o.ReadyTimeout > 0 {
		if err := r.waitReady(ctx, c.Config, o.ReadyTimeout, o.ReadyProgress); err != nil {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			if stopErr := r.Stop(stopCtx); stopErr != nil {
				o.Log.Warn("stopping hollow nodes", zap.Error(stopErr))
			}
			return nil, fmt.Errorf("hollow nodes: %w", err)
		}
	}
	return r, nil
}

func (r *Running) waitReady(ctx context.Context, cfg *rest.Config, timeout time.Duration, progress func(ready, total int)) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	names := r.Pool.Names()
	w := &WaitForNodesReady{Client: client, Names: names, MinCount: len(names), Timeout: timeout,
		Progress: func(ready, _ int) {
			r.log.Debug("nodes ready", zap.Int("ready", ready), zap.Int("of", len(names)))
			if progress != nil {
				progress(ready, len(names))
			}
		}}
	if err := w.Wait(ctx); err != nil {
		return err
	}
	r.log.Info("hollow nodes ready", zap.Int("nodes", len(names)))
	return nil
}

// Stop stops the nodes (the probes say so first), deletes their Nodes if
// the pool was started to, and closes the endpoints and the probe file.
func (r *Running) Stop(ctx context.Context) error {
	r.probes.stopping()
	begin := time.Now()
	r.Pool.Stop()
	var errs []error
	if r.deleter != nil {
		errs = append(errs, DeleteNodes(ctx, r.deleter, r.Pool.Names()))
	}
	errs = append(errs, r.probeFile.Close(), r.Metrics.Stop(ctx))
	r.log.Info("hollow nodes stopped", zap.Int("nodes", len(r.Pool.Names())), zap.Bool("deleted", r.deleter != nil),
		zap.Duration("took", time.Since(begin).Round(time.Millisecond)))
	return errors.Join(errs...)
}

// ReadProbes reads back what the nodes recorded in the probe file.
func (r *Running) ReadProbes() ([]PodProbes, error) { return r.probeFile.ReadAll() }

// CountReady counts the cluster's Ready, schedulable nodes, ours and any
// others; a cluster without any cannot run pods.
func CountReady(ctx context.Context, cfg *rest.Config) (int, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return 0, fmt.Errorf("creating client: %w", err)
	}
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return 0, fmt.Errorf("counting nodes: %w", err)
	}
	ready, _ := readyNodes(list.Items)
	if ready == 0 {
		return 0, errors.New("the cluster has no Ready nodes to run pods on (give --nodes N to add hollow nodes)")
	}
	return ready, nil
}
