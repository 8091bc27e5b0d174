package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/internal/periodic"
)

// nodeFlags configure a pool of hollow nodes.
type nodeFlags struct {
	count, shards, concurrency  int
	shard                       string
	namePrefix                  string
	cpu, memory, storage        string
	maxPods                     int64
	statusImages                int
	images                      []string
	sandbox, pull, start, stop  string
	crashAfter, jobRunTime      string
	fault                       string
	faultyFraction              float64
	perNodeProxyConns           bool
	metricsAddr, metricsURLFile string
	fidelity                    string
	deleteNodes                 bool
	pauseHeartbeats             []string
}

func (f *nodeFlags) register(fs *pflag.FlagSet, countFlag string) {
	d := hollow.DefaultNodeConfig()
	fs.IntVar(&f.count, countFlag, 0, "number of hollow nodes (across all shards)")
	fs.StringVar(&f.shard, "shard", "0", "this process runs the nodes whose index modulo --shards is --shard; \"ordinal\" takes it from the StatefulSet pod name in $POD_NAME (else the host name): hollow-nodes-2 is shard 2")
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
	fs.StringVar(&f.metricsAddr, "metrics-addr", "127.0.0.1:0", "where to serve /metrics, /readyz, /livez and /debug/pprof/ (port 0 picks one)")
	fs.StringArrayVar(&f.pauseHeartbeats, "pause-heartbeats", nil, "fault: hold NODE's lease renewals and node status reports for DURATION once the nodes are Ready, NODE=DURATION (repeatable), "+
		"e.g. hollow-node-3=90s; the node lifecycle controller marks a node Unknown when its lease is older than its grace period (50 s), and a run counts and names the NotReady nodes")
	fs.BoolVar(&f.deleteNodes, "delete-nodes", true, "on exit, delete the Nodes this process registered in an attached cluster (with false, a process started again with the same nodes adopts them: same UIDs, same Leases)")
}

func (f *nodeFlags) poolConfig() (hollow.PoolConfig, error) {
	shard, err := parseShard(f.shard, os.Getenv("POD_NAME"), os.Hostname)
	if err != nil {
		return hollow.PoolConfig{}, err
	}
	cfg := hollow.PoolConfig{Count: f.count, Shard: shard, Shards: f.shards, NamePrefix: f.namePrefix,
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
	if f.shards < 1 || cfg.Shard >= f.shards {
		return cfg, fmt.Errorf("--shard %d --shards %d: want 0 <= shard < shards", cfg.Shard, f.shards)
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

// run starts the pool through hollow.Run, logging registration progress
// every second; with readyTimeout it also waits for the nodes to be Ready.
// Heartbeat pauses start once it returns.
func (f *nodeFlags) run(ctx context.Context, s *session, c hollow.Cluster, readyTimeout time.Duration) (*hollow.Running, error) {
	cfg, err := f.poolConfig()
	if err != nil {
		return nil, err
	}
	pauses, err := parsePauses(f.pauseHeartbeats, cfg.Names())
	if err != nil {
		return nil, err
	}
	var registered, ready atomic.Int64
	ready.Store(-1)
	stopProgress := progressTicker(s, &registered, &ready, int64(len(cfg.Names())))
	defer stopProgress()
	r, err := hollow.Run(ctx, c, hollow.RunOptions{
		Pool: cfg, MetricsAddr: f.metricsAddr, MetricsURLFile: f.metricsURLFile,
		ProbeFile: filepath.Join(s.runDir, "probes.jsonl"), ReadyTimeout: readyTimeout,
		DeleteNodes: f.deleteNodes, Log: s.log,
		Progress:      func(n, _ int) { registered.Store(int64(n)) },
		ReadyProgress: func(n, _ int) { ready.Store(int64(n)) },
	})
	if err != nil {
		return nil, err
	}
	for _, p := range pauses {
		if err := r.Pool.PauseHeartbeats(p.node, p.d); err != nil {
			s.log.Warn("pausing heartbeats", zap.Error(err))
		}
	}
	return r, nil
}

// heartbeatPause is one --pause-heartbeats.
type heartbeatPause struct {
	node string
	d    time.Duration
}

// parsePauses reads --pause-heartbeats NODE=DURATION values; NODE must be
// one of names, the nodes this process runs.
func parsePauses(values, names []string) ([]heartbeatPause, error) {
	var out []heartbeatPause
	for _, v := range values {
		node, dur, ok := strings.Cut(v, "=")
		d, err := time.ParseDuration(dur)
		if !ok || err != nil || d <= 0 {
			return nil, fmt.Errorf("--pause-heartbeats %q: want NODE=DURATION with a positive duration, e.g. hollow-node-3=90s", v)
		}
		if !slices.Contains(names, node) {
			return nil, fmt.Errorf("--pause-heartbeats %q: %q is not one of the hollow nodes this process runs (%s)", v, node, firstNames(names, 3))
		}
		out = append(out, heartbeatPause{node, d})
	}
	return out, nil
}

// firstNames names the first n names, and how many there are.
func firstNames(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, … %d in all", strings.Join(names[:n], ", "), len(names))
}

// stopNodes stops a running pool within timeout, logging a failure.
func stopNodes(ctx context.Context, s *session, r *hollow.Running, timeout time.Duration) error {
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := r.Stop(stopCtx)
	if err != nil {
		s.log.Warn("stopping hollow nodes", zap.Error(err))
	}
	return err
}

// progressTicker logs the nodes registered every second, and once the
// wait for Ready has begun (ready >= 0) the nodes ready, until stopped.
func progressTicker(s *session, registered, ready *atomic.Int64, total int64) (stop func()) {
	return periodic.Every(time.Second, func() {
		if n := ready.Load(); n >= 0 {
			s.log.Info("nodes ready", zap.Int64("done", n), zap.Int64("of", total))
			return
		}
		s.log.Info("nodes registered", zap.Int64("done", registered.Load()), zap.Int64("of", total))
	})
}

// parseShard reads --shard: a number, or "ordinal", the index a StatefulSet
// gives its pod at the end of its name (hollow-nodes-2 is 2), from podName
// (the manifests set $POD_NAME from the pod's name: with hostNetwork the
// host name is the node's) or else the host name.
func parseShard(value, podName string, hostname func() (string, error)) (int, error) {
	if value != "ordinal" {
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("--shard %q: want a number >= 0 or \"ordinal\"", value)
		}
		return n, nil
	}
	name, from := podName, "$POD_NAME"
	if name == "" {
		var err error
		if name, err = hostname(); err != nil {
			return 0, fmt.Errorf("--shard ordinal: no $POD_NAME and no host name: %w", err)
		}
		from = "the host name"
	}
	i := strings.LastIndexByte(name, '-')
	n, err := strconv.Atoi(name[i+1:])
	if i < 0 || err != nil || n < 0 {
		return 0, fmt.Errorf("--shard ordinal: %s %q does not end in -<ordinal> as a StatefulSet pod's name does", from, name)
	}
	return n, nil
}
