// Package controlplane starts a real Kubernetes control plane (etcd,
// kube-apiserver, kube-scheduler, kube-controller-manager) as child processes
// on loopback, or attaches to an existing cluster through a kubeconfig.
//
// Each component is its own OS process so that its CPU and memory can be
// measured as on a real master. Start brings them up in dependency order and
// Stop tears them down in the reverse order, API server before etcd.
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"k8s.io/client-go/rest"

	"github.com/hollowmark/hollowmark/controlplane/pki"
)

// Options configures an embedded control plane. The zero value of every
// field but RunDir and BinDir means "the default".
type Options struct {
	// RunDir receives credentials, kubeconfigs, etcd data, logs and the run
	// record. It is created if missing.
	RunDir string
	// BinDir holds etcd, kube-apiserver, kube-scheduler and
	// kube-controller-manager.
	BinDir string
	// Nodes is the number of nodes the cluster is sized for.
	Nodes int
	// SchedulerQPS and ControllerManagerQPS, with their bursts, are the
	// components' client rate limits. Unset, they are what the scalability
	// jobs give their masters (100 QPS, burst 100, in test-infra's presets
	// and kubemark's KUBEMARK_MASTER_COMPONENTS_QPS_LIMITS): the upstream
	// defaults (50 and 20) would throttle binding and pod creation below
	// what those clusters see, and more would flood a control plane with
	// bursts those clusters never send. A burst left unset equals its QPS.
	SchedulerQPS           float32
	SchedulerBurst         int
	ControllerManagerQPS   float32
	ControllerManagerBurst int
	// EtcdUnsafeNoFsync trades durability for speed on slow disks.
	EtcdUnsafeNoFsync bool
	// ReadyTimeout bounds the wait for each component to become healthy.
	ReadyTimeout time.Duration
	// StopGrace is how long each component gets to exit after SIGTERM.
	StopGrace time.Duration
	Logger    *zap.Logger
}

const (
	defaultComponentQPS = 100
	defaultReadyTimeout = 2 * time.Minute
	defaultStopGrace    = 15 * time.Second
	// portAttempts bounds retries when a freshly chosen port was taken by
	// someone else before the component could bind it.
	portAttempts = 3
)

func (o *Options) setDefaults() {
	if o.SchedulerQPS == 0 {
		o.SchedulerQPS = defaultComponentQPS
	}
	if o.ControllerManagerQPS == 0 {
		o.ControllerManagerQPS = defaultComponentQPS
	}
	// client-go refuses a burst of 0 with a QPS set.
	if o.SchedulerBurst == 0 {
		o.SchedulerBurst = max(1, int(o.SchedulerQPS))
	}
	if o.ControllerManagerBurst == 0 {
		o.ControllerManagerBurst = max(1, int(o.ControllerManagerQPS))
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = defaultReadyTimeout
	}
	if o.StopGrace == 0 {
		o.StopGrace = defaultStopGrace
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
}

// ControlPlane is a running control plane, embedded or attached.
type ControlPlane struct {
	// KubeconfigPath is an admin kubeconfig for the cluster.
	KubeconfigPath string
	// Config is the admin client configuration.
	Config *rest.Config
	// Authority signs client certificates (for hollow nodes). It is nil
	// when attached to a cluster whose CA we do not hold.
	Authority *pki.Authority
	// Record describes what was started; it is written to the run directory.
	Record Record

	opts      Options
	files     *files
	mu        sync.Mutex
	processes []*process // in start order
	ready     map[string]func(context.Context) error
	// exits receives components that exited unexpectedly; Supervise acts
	// on them.
	exits chan *ExitError
}

// Start brings up etcd, the API server, then the scheduler and the
// controller-manager, each after the previous is healthy. On error or
// cancellation it stops whatever it had started.
func Start(ctx context.Context, opts Options) (_ *ControlPlane, err error) {
	opts.setDefaults()
	begin := time.Now()
	if opts.RunDir == "" || opts.BinDir == "" {
		return nil, errors.New("control plane: run directory and binary directory are required")
	}
	binaries, err := resolveBinaries(opts.BinDir)
	if err != nil {
		return nil, err
	}
	for _, dir := range []string{opts.RunDir, filepath.Join(opts.RunDir, "logs")} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating run directory: %w", err)
		}
	}
	ca, f, err := writePKI(opts.RunDir)
	if err != nil {
		return nil, fmt.Errorf("creating PKI in %s: %w", opts.RunDir, err)
	}
	cp := &ControlPlane{
		KubeconfigPath: f.adminKubeconfig,
		Authority:      ca,
		opts:           opts,
		files:          f,
		Record:         Record{Mode: "embedded", RunDir: opts.RunDir, StartedAt: begin},
		exits:          make(chan *ExitError, exitQueue),
	}
	defer func() {
		if err != nil {
			if stopErr := cp.Stop(); stopErr != nil {
				opts.Logger.Warn("stopping partly started control plane", zap.Error(stopErr))
			}
		}
	}()
	cp.Record.Components = versions(ctx, binaries)
	if err := cp.startAll(ctx, binaries); err != nil {
		return nil, err
	}
	cp.Record.Server = cp.Config.Host
	if cp.Record.ServerVersion, err = serverVersion(ctx, cp.Config); err != nil {
		return nil, err
	}
	cp.Record.StartupSeconds = time.Since(begin).Seconds()
	if err := cp.Record.write(opts.RunDir); err != nil {
		return nil, err
	}
	opts.Logger.Info("control plane ready", zap.String("runDir", opts.RunDir),
		zap.Duration("startup", time.Since(begin).Round(time.Millisecond)))
	return cp, nil
}

func resolveBinaries(binDir string) (map[string]string, error) {
	binaries := map[string]string{}
	for _, name := range []string{Etcd, APIServer, Scheduler, ControllerManager} {
		path, err := binaryPath(binDir, name)
		if err != nil {
			return nil, err
		}
		binaries[name] = path
	}
	return binaries, nil
}

func (cp *ControlPlane) startAll(ctx context.Context, binaries map[string]string) error {
	o := cp.opts
	f := cp.files
	var etcdURL, serverURL string
	etcdChecker, err := newHealthChecker(f.etcdProbe, f.etcdCA)
	if err != nil {
		return err
	}
	err = cp.launch(ctx, Etcd, binaries[Etcd], func() ([]string, string, error) {
		ports, err := FreePorts(2)
		if err != nil {
			return nil, "", err
		}
		etcdURL = fmt.Sprintf("https://127.0.0.1:%d", ports[0])
		return etcdArgs(f, filepath.Join(o.RunDir, "etcd-data"), ports[0], ports[1], o.EtcdUnsafeNoFsync), etcdURL, nil
	}, func(ctx context.Context) error { return etcdChecker.checkEtcd(ctx, etcdURL) })
	if err != nil {
		return err
	}
	var checker *healthChecker
	err = cp.launch(ctx, APIServer, binaries[APIServer], func() ([]string, string, error) {
		ports, err := FreePorts(1)
		if err != nil {
			return nil, "", err
		}
		serverURL = fmt.Sprintf("https://127.0.0.1:%d", ports[0])
		if checker, err = newHealthChecker(f.admin, cp.Authority.Cert); err != nil {
			return nil, "", err
		}
		return apiServerArgs(f, etcdURL, ports[0], o.Nodes), serverURL, nil
	}, func(ctx context.Context) error { return checker.check(ctx, serverURL+"/readyz") })
	if err != nil {
		return err
	}
	if err := f.writeKubeconfigs(serverURL, cp.Authority.CertPEM); err != nil {
		return err
	}
	if cp.Config, err = loadConfig(f.adminKubeconfig); err != nil {
		return err
	}
	if err := os.WriteFile(f.schedulerConfig, []byte(schedulerConfig(f.schedulerKubeconfig, o.SchedulerQPS, o.SchedulerBurst)), 0o600); err != nil {
		return fmt.Errorf("writing scheduler configuration: %w", err)
	}
	return cp.launchParallel(ctx,
		func(ctx context.Context) error {
			return cp.launchSecureComponent(ctx, Scheduler, binaries[Scheduler], checker, func(port int) []string {
				return schedulerArgs(f, f.schedulerConfig, port)
			})
		},
		func(ctx context.Context) error {
			return cp.launchSecureComponent(ctx, ControllerManager, binaries[ControllerManager], checker, func(port int) []string {
				return controllerManagerArgs(f, port, o.ControllerManagerQPS, o.ControllerManagerBurst)
			})
		})
}

// launchSecureComponent starts a component that serves /healthz over TLS on a
// port of its own, as the scheduler and controller-manager do.
func (cp *ControlPlane) launchSecureComponent(ctx context.Context, name, binary string, checker *healthChecker, args func(port int) []string) error {
	var url string
	return cp.launch(ctx, name, binary, func() ([]string, string, error) {
		ports, err := FreePorts(1)
		if err != nil {
			return nil, "", err
		}
		url = fmt.Sprintf("https://127.0.0.1:%d", ports[0])
		return args(ports[0]), url, nil
	}, func(ctx context.Context) error { return checker.check(ctx, url+"/healthz") })
}

func (cp *ControlPlane) launchParallel(ctx context.Context, fns ...func(context.Context) error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { errs[i] = fn(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// launch starts one component and waits until ready reports healthy. args
// chooses fresh ports on each call and returns the component's address; a
// start that loses its port to another process is retried.
func (cp *ControlPlane) launch(ctx context.Context, name, binary string, args func() ([]string, string, error), ready func(context.Context) error) error {
	logPath := filepath.Join(cp.opts.RunDir, "logs", name+".log")
	for attempt := 1; ; attempt++ {
		argv, url, err := args()
		if err != nil {
			return fmt.Errorf("preparing %s: %w", name, err)
		}
		begin := time.Now()
		cp.opts.Logger.Info("starting component", zap.String("component", name), zap.String("url", url))
		p, err := startProcess(name, binary, argv, logPath)
		if err != nil {
			return err
		}
		cp.track(p)
		err = waitReady(ctx, p, ready, cp.opts.ReadyTimeout)
		if err == nil {
			go cp.reportUnexpectedExit(p)
			cp.mu.Lock()
			if cp.ready == nil {
				cp.ready = map[string]func(context.Context) error{}
			}
			cp.ready[name] = ready
			cp.mu.Unlock()
			cp.recordStarted(name, argv, url, logPath, p.pid(), time.Since(begin))
			cp.opts.Logger.Info("component ready", zap.String("component", name),
				zap.Duration("after", time.Since(begin).Round(time.Millisecond)))
			return nil
		}
		if attempt == portAttempts || !p.exited() || !strings.Contains(p.logTail(50), "address already in use") {
			return err
		}
		cp.opts.Logger.Info("port taken, retrying with another", zap.String("component", name))
	}
}

func (cp *ControlPlane) track(p *process) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.processes = append(cp.processes, p)
}

func (cp *ControlPlane) recordStarted(name string, args []string, url, logPath string, pid int, took time.Duration) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for i := range cp.Record.Components {
		c := &cp.Record.Components[i]
		if c.Name == name {
			c.Args, c.URL, c.LogFile, c.PID, c.ReadySeconds = args, url, logPath, pid, took.Seconds()
		}
	}
}

// Restart stops one component and starts it again with the same flags and
// port, as an operator restarting it would, and waits until it is healthy.
// A component that has crashed is started again.
func (cp *ControlPlane) Restart(ctx context.Context, name string) error {
	cp.mu.Lock()
	var old *process
	for _, p := range cp.processes {
		if p.name == name {
			old = p
		}
	}
	cp.mu.Unlock()
	if old == nil {
		return fmt.Errorf("restarting %s: not started", name)
	}
	if err := old.stop(cp.opts.StopGrace); err != nil {
		cp.opts.Logger.Warn("stopping for restart", zap.String("component", name), zap.Error(err))
	}
	return cp.respawn(ctx, old)
}

// respawn starts an exited component again in its place and waits until it
// is healthy.
func (cp *ControlPlane) respawn(ctx context.Context, old *process) error {
	cp.mu.Lock()
	ready := cp.ready[old.name]
	cp.mu.Unlock()
	if ready == nil {
		return fmt.Errorf("restarting %s: it never became ready", old.name)
	}
	begin := time.Now()
	p, err := startProcess(old.name, old.binary, old.args, old.logPath)
	if err != nil {
		return err
	}
	if !cp.replace(old, p) {
		_ = p.stop(cp.opts.StopGrace)
		return fmt.Errorf("restarting %s: the control plane was stopped", old.name)
	}
	go cp.reportUnexpectedExit(p)
	if err := waitReady(ctx, p, ready, cp.opts.ReadyTimeout); err != nil {
		return err
	}
	cp.mu.Lock()
	for i := range cp.Record.Components {
		if c := &cp.Record.Components[i]; c.Name == old.name {
			c.PID, c.ReadySeconds = p.pid(), time.Since(begin).Seconds()
		}
	}
	record := cp.Record
	cp.mu.Unlock()
	cp.opts.Logger.Info("component restarted", zap.String("component", old.name), zap.Duration("after", time.Since(begin).Round(time.Millisecond)))
	return record.write(cp.opts.RunDir)
}

// replace puts p where old was, so that the stop order stays the start
// order reversed. It fails once Stop has taken the processes.
func (cp *ControlPlane) replace(old, p *process) bool {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for i, q := range cp.processes {
		if q == old {
			cp.processes[i] = p
			return true
		}
	}
	return false
}

// Stop terminates the components in reverse start order (so the API server
// stops before etcd), waiting for each to exit and killing any that does not
// exit within the grace period. Stopping an attached control plane does
// nothing: we did not start it.
func (cp *ControlPlane) Stop() error {
	cp.mu.Lock()
	procs := cp.processes
	cp.processes = nil
	cp.mu.Unlock()
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		if err := procs[i].stop(cp.opts.StopGrace); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// FreePorts asks the kernel for n distinct free loopback ports. A port can be
// taken again between this call and the component binding it; launch
// retries when that happens.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free loopback port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// PIDs returns the process ID of each running embedded component, by name;
// it is empty for an attached cluster. A restarted component has a new PID.
func (cp *ControlPlane) PIDs() map[string]int {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	out := map[string]int{}
	for _, p := range cp.processes {
		if !p.exited() {
			out[p.name] = p.pid()
		}
	}
	return out
}
