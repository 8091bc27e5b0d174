package benchpeers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/hollowmark/hollowmark/controlplane"
)

// Phases a node transition is attributed to.
const (
	phaseStart    = "start"
	phaseIdle     = "idle"
	phasePods     = "pods"
	phaseDeletion = "deletion"
)

// namespace holds the benchmark's Deployments.
const namespace = "bench-peers"

// podImage is the pods' one container: hollow nodes have it pulled, so
// no pull latency is drawn; KWOK pulls nothing anyway.
const podImage = "registry.k8s.io/pause:3.10"

// progressEvery is how often a wait says where it is.
const progressEvery = 5 * time.Second

// runSteps is the number of steps a run announces.
const runSteps = 6

// benchComponentQPS is the scheduler's and controller-manager's client
// QPS in the benchmark's control planes (burst twice that), what `hollowmark
// up` gave them before it took the scalability jobs' 100.
const benchComponentQPS = 500

// emulatorStopGrace is how long the emulator gets to exit on SIGTERM:
// more than hollowmark's own stop timeout (25 s).
const emulatorStopGrace = 30 * time.Second

// runner carries one run of one emulator.
type runner struct {
	o        Options
	emulator string
	label    string // "run 3 of 6 (hollowmark, repeat 2 of 3)"
	dir      string
	log      *zap.Logger
	res      *RunResult

	cp            *controlplane.ControlPlane
	client        kubernetes.Interface
	metrics       rest.Interface
	nodes         *nodeTracker
	emu           *child
	stopping      atomic.Bool
	watchesBefore float64
	// cancel ends the run's context, with the reason as its cause.
	cancel context.CancelCauseFunc
}

// runOne runs the benchmark once for one emulator on a fresh control
// plane. Rows are kept as they are measured: a run that fails or is
// interrupted returns those it has, marked partial.
func runOne(ctx context.Context, o Options, id, emulator string, repeat int, label string) RunResult {
	res := RunResult{ID: id, Emulator: emulator, Repeat: repeat, Values: map[string]float64{}}
	r := &runner{o: o, emulator: emulator, label: label, dir: filepath.Join(o.RunDir, id),
		log: o.Logger.With(zap.String("run", id)), res: &res, nodes: newNodeTracker()}
	if err := r.run(ctx); err != nil {
		res.Partial = true
		res.Err = err.Error()
		if ctx.Err() != nil {
			res.Err = "interrupted"
		}
		r.log.Error("run did not finish", zap.Error(err))
	}
	res.NotReady = r.nodes.transitionsSince(time.Time{})
	return res
}

func (r *runner) step(i int, what string) {
	r.log.Info(fmt.Sprintf("%s, step %d of %d: %s", r.label, i, runSteps, what))
}

func (r *runner) run(parent context.Context) (err error) {
	r.step(1, "a fresh control plane")
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return fmt.Errorf("creating run directory: %w", err)
	}
	r.cp, err = controlplane.Start(parent, controlplane.Options{
		RunDir: filepath.Join(r.dir, "controlplane"), BinDir: r.o.BinDir, Nodes: r.o.Nodes,
		EtcdUnsafeNoFsync: r.o.EtcdUnsafeNoFsync, Logger: r.log.Named("controlplane"),
		// Above the scalability jobs' 100: the benchmark measures the
		// emulators, so the controllers' client limits must not be what
		// caps pods created and bound per second.
		SchedulerQPS: benchComponentQPS, SchedulerBurst: 2 * benchComponentQPS,
		ControllerManagerQPS: benchComponentQPS, ControllerManagerBurst: 2 * benchComponentQPS,
	})
	if err != nil {
		return fmt.Errorf("starting the control plane: %w", err)
	}
	// A component or the emulator exiting ends the run through ctx, with
	// the exit as its cause.
	ctx, cancel := context.WithCancelCause(parent)
	r.cancel = cancel
	supervised := make(chan struct{})
	go func() {
		defer close(supervised)
		if err := r.cp.Supervise(ctx, 0); err != nil {
			cancel(err)
		}
	}()
	defer func() {
		cancel(nil)
		<-supervised
		r.teardown()
	}()
	defer func() { err = causeOf(ctx, err) }()
	for _, phase := range []func(context.Context) error{r.connect, r.nodesReady, r.idle, r.pods} {
		if err := phase(ctx); err != nil {
			return err
		}
	}
	return nil
}

// causeOf prefers the reason the run's context ended (a component or the
// emulator exited) to the error that caused.
func causeOf(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// connect makes the run's clients and starts watching the Nodes.
func (r *runner) connect(ctx context.Context) error {
	cfg := rest.CopyConfig(r.cp.Config)
	// Our requests (KWOK's Nodes, the Deployments) must not wait on a
	// client-side limit; protobuf keeps our watches cheap.
	cfg.QPS, cfg.Burst = 1000, 1000
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	var err error
	if r.client, err = kubernetes.NewForConfig(cfg); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	plain, err := kubernetes.NewForConfig(rest.CopyConfig(r.cp.Config))
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	r.metrics = plain.CoreV1().RESTClient()
	r.nodes.setPhase(phaseStart)
	return watchNodes(ctx, r.client, r.nodes)
}

// nodesReady starts the emulator and waits for its nodes to be Ready:
// hollowmark's nodes register themselves, KWOK's we create right after
// starting it. The time runs from the emulator's start either way.
func (r *runner) nodesReady(ctx context.Context) error {
	r.step(2, fmt.Sprintf("%s and %d nodes to Ready", r.emulator, r.o.Nodes))
	var err error
	if r.watchesBefore, err = r.settledWatches(ctx); err != nil {
		return err
	}
	begin := time.Now()
	r.emu, err = startEmulator(ctx, r.emulator, emulatorEnv{binDir: r.o.BinDir, dir: r.dir,
		kubeconfig: r.cp.KubeconfigPath, client: r.client, nodes: r.o.Nodes})
	if r.emu != nil {
		r.log.Debug("emulator started", zap.Int("pid", r.emu.pid()), zap.String("log", r.emu.logPath))
		go r.watchEmulator(ctx)
	}
	if err != nil {
		return err
	}
	err = r.waitFor(ctx, r.o.NodesTimeout, "nodes Ready", func() (bool, string) {
		n := r.nodes.readyNodes()
		return n >= r.o.Nodes, fmt.Sprintf("%d of %d nodes Ready", n, r.o.Nodes)
	})
	if err != nil {
		return err
	}
	took := time.Since(begin)
	r.res.Values[RowNodesReady] = took.Seconds()
	r.log.Info("nodes Ready", zap.Int("nodes", r.o.Nodes), zap.Duration("took", took.Round(time.Millisecond)))
	return nil
}

// Watch settling: the control plane's components open their watches over
// their first seconds (the controller-manager's informers, the garbage
// collector's monitors), so the count before the emulator is taken once
// it has held still.
const (
	watchesStill   = 5 * time.Second
	watchesSettled = time.Minute
)

// settledWatches is the number of open watches once it has not changed
// for watchesStill, or after watchesSettled, whichever comes first.
func (r *runner) settledWatches(ctx context.Context) (float64, error) {
	begin := time.Now()
	var last float64
	var since time.Time
	for {
		m, err := scrapeAPIMetrics(ctx, r.metrics)
		if err != nil {
			return 0, err
		}
		now := time.Now()
		if since.IsZero() || m.Watches != last {
			last, since = m.Watches, now
		}
		switch {
		case now.Sub(since) >= watchesStill:
			r.log.Debug("control plane's watches settled", zap.Float64("watches", last), zap.Duration("after", now.Sub(begin).Round(time.Millisecond)))
			return last, nil
		case now.Sub(begin) >= watchesSettled:
			r.log.Warn("the control plane's watches did not settle; the emulator's count is off by what changes", zap.Float64("watches", last))
			return last, nil
		}
		if err := sleep(ctx, time.Second); err != nil {
			return 0, err
		}
	}
}

// watchEmulator ends the run if the emulator exits before we stop it.
func (r *runner) watchEmulator(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-r.emu.done:
		if !r.stopping.Load() {
			r.cancel(r.emu.exitError())
		}
	}
}

// idle measures the emulator and the API server at rest: CPU over the
// idle window and memory at its end, from /proc, and the watches held.
func (r *runner) idle(ctx context.Context) error {
	r.nodes.setPhase(phaseIdle)
	r.step(3, fmt.Sprintf("idle: %s to settle, then %s measured", r.o.Settle, r.o.Idle))
	if err := sleep(ctx, r.o.Settle); err != nil {
		return err
	}
	apiserver := r.cp.PIDs()[controlplane.APIServer]
	pids := map[string]int{"emulator": r.emu.pid(), "apiserver": apiserver}
	first := map[string]procSample{}
	for name, pid := range pids {
		p, err := readProc(pid)
		if err != nil {
			return fmt.Errorf("reading %s (pid %d): %w", name, pid, err)
		}
		first[name] = p
	}
	if err := sleep(ctx, r.o.Idle); err != nil {
		return err
	}
	last := map[string]procSample{}
	for name, pid := range pids {
		p, err := readProc(pid)
		if err != nil {
			return fmt.Errorf("reading %s (pid %d): %w", name, pid, err)
		}
		last[name] = p
	}
	m, err := scrapeAPIMetrics(ctx, r.metrics)
	if err != nil {
		return err
	}
	v := r.res.Values
	v[RowEmulatorCPU] = cores(first["emulator"], last["emulator"])
	v[RowEmulatorRSS] = float64(last["emulator"].RSSBytes) / mib
	v[RowAPIServerCPU] = cores(first["apiserver"], last["apiserver"])
	v[RowAPIServerRSS] = float64(last["apiserver"].RSSBytes) / mib
	v[RowWatches] = m.Watches
	v[RowEmulatorWatches] = m.Watches - r.watchesBefore
	r.log.Info("idle", zap.Float64("emulatorCores", v[RowEmulatorCPU]), zap.Float64("emulatorMiB", v[RowEmulatorRSS]),
		zap.Float64("apiserverCores", v[RowAPIServerCPU]), zap.Float64("watches", m.Watches),
		zap.Float64("emulatorWatches", v[RowEmulatorWatches]))
	return nil
}

// pods creates the Deployments, waits for every pod to run, deletes the
// Deployments and waits for every pod to be gone, sampling the timeline
// throughout.
func (r *runner) pods(ctx context.Context) error {
	r.step(4, fmt.Sprintf("%d pods in %d Deployments to Running", r.o.Pods, len(replicas(r.o.Pods))))
	if _, err := r.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", namespace, err)
	}
	pods := newPodTracker()
	if err := watchPods(ctx, r.client, namespace, pods); err != nil {
		return err
	}
	s := r.startTimeline(ctx, pods)
	defer s.finish()
	r.nodes.setPhase(phasePods)
	begin := time.Now()
	for i, n := range replicas(r.o.Pods) {
		if _, err := r.client.AppsV1().Deployments(namespace).Create(ctx, deployment(i, n), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating Deployment %d: %w", i, err)
		}
	}
	err := r.waitFor(ctx, r.o.PodsTimeout, "pods Running", func() (bool, string) {
		c := pods.snapshot()
		return c.Running >= r.o.Pods, fmt.Sprintf("%d of %d pods Running (created %d, bound %d)", c.Running, r.o.Pods, c.Created, c.Bound)
	})
	if err != nil {
		return err
	}
	took := time.Since(begin)
	r.res.Values[RowPodsRunning] = took.Seconds()
	s.mark(ctx)
	r.log.Info("pods Running", zap.Int("pods", r.o.Pods), zap.Duration("took", took.Round(time.Millisecond)))

	r.step(5, "delete the Deployments, to zero pods")
	r.nodes.setPhase(phaseDeletion)
	begin = time.Now()
	background := metav1.DeletePropagationBackground
	for i := range replicas(r.o.Pods) {
		if err := r.client.AppsV1().Deployments(namespace).Delete(ctx, deploymentName(i), metav1.DeleteOptions{PropagationPolicy: &background}); err != nil {
			return fmt.Errorf("deleting Deployment %d: %w", i, err)
		}
	}
	err = r.waitFor(ctx, r.o.PodsTimeout, "pods gone", func() (bool, string) {
		c := pods.snapshot()
		return c.Existing == 0, fmt.Sprintf("%d pods left (%d Running)", c.Existing, c.Running)
	})
	if err != nil {
		return err
	}
	took = time.Since(begin)
	r.res.Values[RowPodsDeleted] = took.Seconds()
	s.mark(ctx)
	r.log.Info("pods gone", zap.Duration("took", took.Round(time.Millisecond)))
	r.nodes.setPhase(phaseIdle)
	notReady := podRunTransitions(r.nodes.transitionsSince(time.Time{}))
	r.res.Values[RowNotReady] = float64(len(notReady))
	if len(notReady) > 0 {
		r.log.Warn("nodes went NotReady during the pod run (all in "+NotReadyCSV+")",
			zap.Int("transitions", len(notReady)), zap.String("nodes", nodeNames(notReady, 10)))
	}
	return nil
}

// nodeNames lists the transitions' nodes, at most limit of them.
func nodeNames(ts []Transition, limit int) string {
	var names []string
	for i, t := range ts {
		if i == limit {
			names = append(names, fmt.Sprintf("and %d more", len(ts)-limit))
			break
		}
		names = append(names, t.Node)
	}
	return strings.Join(names, ", ")
}

// podRunTransitions are the NotReady transitions while pods were created,
// run and deleted.
func podRunTransitions(ts []Transition) []Transition {
	var out []Transition
	for _, t := range ts {
		if t.Phase == phasePods || t.Phase == phaseDeletion {
			out = append(out, t)
		}
	}
	return out
}

// timeline is a running sampler and where its results go.
type timeline struct {
	s      *sampler
	stop   context.CancelFunc
	done   chan struct{}
	dir    string
	title  string
	logger *zap.Logger
}

func (r *runner) startTimeline(ctx context.Context, pods *podTracker) *timeline {
	pids := map[string]int{emulatorProcess: r.emu.pid()}
	for name, pid := range r.cp.PIDs() {
		pids[name] = pid
	}
	s := &sampler{metrics: r.metrics, pids: pids, pods: pods, interval: r.o.Interval, start: time.Now(), log: r.log,
		procs: map[string]procSample{}}
	ctx, stop := context.WithCancel(ctx)
	t := &timeline{s: s, stop: stop, done: make(chan struct{}), dir: r.dir, logger: r.log,
		title: fmt.Sprintf("%s: %s, %d nodes, %d pods", r.res.ID, r.emulator, r.o.Nodes, r.o.Pods)}
	go func() {
		defer close(t.done)
		s.run(ctx)
	}()
	return t
}

// mark samples everything now.
func (t *timeline) mark(ctx context.Context) { t.s.mark(ctx) }

// finish stops sampling and writes the timeline, also of a run cut short.
func (t *timeline) finish() {
	t.stop()
	<-t.done
	samples := t.s.timeline()
	if err := writeTimelineCSV(filepath.Join(t.dir, TimelineCSV), samples); err != nil {
		t.logger.Warn("writing the timeline", zap.Error(err))
	}
	if err := drawTimeline(filepath.Join(t.dir, TimelinePNG), t.title, samples); err != nil {
		t.logger.Warn("drawing the timeline", zap.Error(err))
	}
}

// teardown stops the emulator, then the control plane, and drops etcd's
// data: the logs stay, a thousand nodes' worth of etcd data need not.
func (r *runner) teardown() {
	r.step(6, "tear down")
	r.stopping.Store(true)
	if r.emu != nil {
		if err := r.emu.stop(emulatorStopGrace); err != nil {
			r.log.Warn("stopping the emulator", zap.Error(err))
		}
	}
	if err := r.cp.Stop(); err != nil {
		r.log.Warn("stopping the control plane", zap.Error(err))
	}
	if err := os.RemoveAll(filepath.Join(r.dir, "controlplane", "etcd-data")); err != nil {
		r.log.Warn("removing etcd's data", zap.Error(err))
	}
}

// waitFor polls done until it holds, saying where it is every
// progressEvery, for at most timeout.
func (r *runner) waitFor(ctx context.Context, timeout time.Duration, what string, done func() (bool, string)) error {
	begin := time.Now()
	deadline := time.After(timeout)
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	lastSaid := begin
	for {
		ok, progress := done()
		if ok {
			return nil
		}
		if time.Since(lastSaid) >= progressEvery {
			r.log.Info(progress, zap.Duration("elapsed", time.Since(begin).Round(time.Second)))
			lastSaid = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s (%s): %w", what, progress, context.Cause(ctx))
		case <-deadline:
			return fmt.Errorf("%s: not within %s (%s)", what, timeout, progress)
		case <-poll.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

func deploymentName(i int) string { return "bench-" + strconv.Itoa(i) }

// deployment is the i-th Deployment: replicas pods of one pause
// container, nothing else, the same for both emulators.
func deployment(i, replicas int) *appsv1.Deployment {
	labels := map[string]string{"app": deploymentName(i)}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: deploymentName(i)},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "pause", Image: podImage}}},
			},
		},
	}
}
