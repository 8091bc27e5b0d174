package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/controlplane/pki"
	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/internal/metricsserver"
	"github.com/hollowmark/hollowmark/internal/periodic"
)

// nodeFlags configure a pool of hollow nodes.
type nodeFlags struct {
	count, shard, shards, concurrency int
	namePrefix                        string
	cpu, memory, storage              string
	maxPods                           int64
	statusImages                      int
	images                            []string
	sandbox, pull, start, stop        string
	crashAfter, jobRunTime            string
	fault                             string
	faultyFraction                    float64
	perNodeProxyConns                 bool
	metricsAddr                       string
	fidelity                          string
}

func (f *nodeFlags) register(fs *pflag.FlagSet, countFlag string) {
	d := hollow.DefaultNodeConfig()
	fs.IntVar(&f.count, countFlag, 0, "number of hollow nodes (across all shards)")
	fs.IntVar(&f.shard, "shard", 0, "this process runs the nodes whose index modulo --shards is --shard")
	fs.IntVar(&f.shards, "shards", 1, "number of processes sharing the nodes")
	fs.IntVar(&f.concurrency, "concurrency", 64, "nodes registering at once")
	fs.StringVar(&f.namePrefix, "name-prefix", "hollow-node-", "node name prefix; the index follows")
	fs.StringVar(&f.cpu, "node-cpu", d.CPU.String(), "CPU capacity of each node")
	fs.StringVar(&f.memory, "node-memory", d.Memory.String(), "memory capacity of each node")
	fs.StringVar(&f.storage, "node-ephemeral-storage", d.EphemeralStorage.String(), "ephemeral storage of each node")
	fs.Int64Var(&f.maxPods, "max-pods", d.MaxPods, "pods each node accepts")
	fs.IntVar(&f.statusImages, "node-status-images", d.StatusImages, "images each node lists in its status (--images first, then stand-ins); real nodes list up to 50")
	fs.StringSliceVar(&f.images, "images", d.Images, "images present on every node (pulling others takes --pull-latency)")
	fs.StringVar(&f.sandbox, "sandbox-latency", d.SandboxLatency.String(), "pod sandbox creation time (50ms, uniform:A-B, normal:MEAN,SD, file:PATH)")
	fs.StringVar(&f.pull, "pull-latency", d.PullLatency.String(), "image pull time for images not on the node")
	fs.StringVar(&f.start, "start-latency", d.StartLatency.String(), "container start time")
	fs.StringVar(&f.stop, "stop-latency", d.StopLatency.String(), "container stop time (capped by the grace period)")
	fs.StringVar(&f.crashAfter, "crash-after", d.CrashAfter.String(), "run time of crash-looping containers")
	fs.StringVar(&f.jobRunTime, "job-run-time", d.JobRunTime.String(), "run time of containers in pods that never restart, unless the pod says "+hollow.RunDurationKey)
	fs.StringVar(&f.fault, "fault", "", "inject a fault into every pod of the faulty nodes: image-pull-error, crash-loop, oom-kill, never-ready")
	fs.Float64Var(&f.faultyFraction, "faulty-node-fraction", 1, "fraction of nodes --fault applies to")
	fs.BoolVar(&f.perNodeProxyConns, "per-node-proxy-connections", true, "give each hollow proxy its own connection, as real kube-proxies have; false shares a pool of connections")
	fs.StringVar(&f.fidelity, "fidelity", string(d.Fidelity), "full: every API request a v1.36 kubelet and kube-proxy make (docs/fidelity.md); lean: only the core (leases, node status, pod watches and status), about half the per-pod load, for the cheapest nodes")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "127.0.0.1:0", "where to serve /metrics and /debug/pprof/ (port 0 picks one)")
}

func (f *nodeFlags) poolConfig() (hollow.PoolConfig, error) {
	cfg := hollow.PoolConfig{Count: f.count, Shard: f.shard, Shards: f.shards, NamePrefix: f.namePrefix,
		Concurrency: f.concurrency, PerNodeProxyConnections: f.perNodeProxyConns, Node: hollow.DefaultNodeConfig()}
	n := &cfg.Node
	for flag, q := range map[string]struct {
		value string
		into  *resource.Quantity
	}{"--node-cpu": {f.cpu, &n.CPU}, "--node-memory": {f.memory, &n.Memory}, "--node-ephemeral-storage": {f.storage, &n.EphemeralStorage}} {
		v, err := resource.ParseQuantity(q.value)
		if err != nil {
			return cfg, fmt.Errorf("%s %q: %w", flag, q.value, err)
		}
		*q.into = v
	}
	n.MaxPods, n.Images, n.FaultyNodeFraction, n.StatusImages = f.maxPods, f.images, f.faultyFraction, f.statusImages
	for flag, l := range map[string]struct {
		spec string
		into *hollow.Latency
	}{"--sandbox-latency": {f.sandbox, &n.SandboxLatency}, "--pull-latency": {f.pull, &n.PullLatency},
		"--start-latency": {f.start, &n.StartLatency}, "--stop-latency": {f.stop, &n.StopLatency},
		"--crash-after": {f.crashAfter, &n.CrashAfter}, "--job-run-time": {f.jobRunTime, &n.JobRunTime}} {
		v, err := hollow.ParseLatency(l.spec)
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", flag, err)
		}
		*l.into = v
	}
	fault, err := hollow.ParseFault(f.fault)
	if err != nil {
		return cfg, fmt.Errorf("--fault: %w", err)
	}
	n.Fault = fault
	if n.Fidelity, err = hollow.ParseFidelity(f.fidelity); err != nil {
		return cfg, fmt.Errorf("--fidelity: %w", err)
	}
	if f.count < 0 || f.maxPods < 1 || f.faultyFraction < 0 || f.faultyFraction > 1 || f.statusImages < 0 || f.statusImages > 50 {
		return cfg, fmt.Errorf("node counts must be >= 0, --max-pods >= 1, --node-status-images within [0, 50] and --faulty-node-fraction within [0, 1]")
	}
	return cfg, nil
}

// runningPool is a started pool with its metrics endpoint and probe file.
type runningPool struct {
	pool    *hollow.Pool
	metrics *metricsserver.Server
	probes  *hollow.ProbeFile
}

// startNodes starts the pool against cp, printing progress, and returns once
// every node is registered.
func (f *nodeFlags) startNodes(ctx context.Context, s *session, cp *controlplane.ControlPlane) (*runningPool, error) {
	cfg, err := f.poolConfig()
	if err != nil {
		return nil, err
	}
	creds, cleanup, err := nodeCredentials(ctx, s, cp)
	if err != nil {
		return nil, err
	}
	defer cleanup(context.Background())
	metrics := hollow.NewMetrics()
	srv, err := metricsserver.Start(f.metricsAddr, metrics.Registry)
	if err != nil {
		return nil, err
	}
	probes, err := hollow.CreateProbeFile(filepath.Join(s.runDir, "probes.jsonl"))
	if err != nil {
		srv.Stop(context.Background())
		return nil, err
	}
	s.log.Info("starting hollow nodes", zap.Int("nodes", len(cfg.Names())), zap.String("metrics", srv.URL+"/metrics"))
	var registered atomic.Int64
	stopProgress := progressTicker(s, "nodes registered", &registered, int64(len(cfg.Names())))
	begin := time.Now()
	pool, err := hollow.StartPool(ctx, creds, cfg, metrics, probes, s.log, func(n, _ int) { registered.Store(int64(n)) })
	stopProgress()
	if err != nil {
		probes.Close()
		srv.Stop(context.Background())
		return nil, fmt.Errorf("starting hollow nodes: %w", err)
	}
	s.log.Info("hollow nodes registered", zap.Int("nodes", len(pool.Names())), zap.Duration("took", time.Since(begin).Round(time.Millisecond)))
	return &runningPool{pool: pool, metrics: srv, probes: probes}, nil
}

// stop stops the nodes and, with deleteNodes, deletes their Node objects
// using the operator's kubeconfig.
func (r *runningPool) stop(ctx context.Context, cp *controlplane.ControlPlane, deleteNodes bool) error {
	r.pool.Stop()
	var errs []error
	if deleteNodes {
		client, err := kubernetes.NewForConfig(cp.Config)
		if err == nil {
			err = hollow.DeleteNodes(ctx, client, r.pool.Names())
		}
		errs = append(errs, err)
	}
	errs = append(errs, r.probes.Close(), r.metrics.Stop(ctx))
	return errors.Join(errs...)
}

// nodeCredentials picks how hollow nodes authenticate: certificates from
// the cluster CA when we hold it (our cluster, or a 'hollowmark up' run
// directory beside the kubeconfig), else certificates bootstrapped through
// CSRs as kubelets do, else the kubeconfig's own identity. cleanup removes
// what bootstrapping created once the nodes have their certificates.
func nodeCredentials(ctx context.Context, s *session, cp *controlplane.ControlPlane) (hollow.Credentials, func(context.Context), error) {
	none := func(context.Context) {}
	ca := cp.Authority
	if ca == nil {
		ca = authorityBeside(cp.KubeconfigPath, s.log)
	}
	if ca != nil {
		creds, err := hollow.CredentialsFromConfig(cp.Config, ca)
		return creds, none, err
	}
	creds, cleanup, err := hollow.BootstrapCredentials(ctx, cp.Config)
	if err == nil {
		return creds, cleanup, nil
	}
	s.log.Warn("cannot bootstrap node certificates; falling back to the kubeconfig's identity", zap.Error(err))
	creds, err = hollow.CredentialsFromConfig(cp.Config, nil)
	return creds, none, err
}

// authorityBeside finds the CA of a `hollowmark up` run directory next to
// the kubeconfig, so that nodes joining it get certificates of their own.
func authorityBeside(kubeconfig string, log *zap.Logger) *pki.Authority {
	dir := filepath.Join(filepath.Dir(kubeconfig), "pki")
	if _, err := os.Stat(filepath.Join(dir, "ca.key")); err != nil {
		return nil
	}
	ca, err := pki.LoadAuthority(dir)
	if err != nil {
		log.Warn("ignoring CA beside the kubeconfig", zap.Error(err))
		return nil
	}
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return nil
	}
	for _, cluster := range cfg.Clusters {
		if string(cluster.CertificateAuthorityData) == string(ca.CertPEM) {
			log.Info("using the cluster CA of the hollowmark run directory", zap.String("dir", dir))
			return ca
		}
	}
	return nil
}

// progressTicker logs "what n/total" every second until stopped.
func progressTicker(s *session, what string, n *atomic.Int64, total int64) (stop func()) {
	return periodic.Every(time.Second, func() {
		s.log.Info(what, zap.Int64("done", n.Load()), zap.Int64("of", total))
	})
}
