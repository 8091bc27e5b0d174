package measurements

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/results"
)

// Transitions of pod startup, as the SLO's measurement splits it.
const (
	CreateToSchedule = "create_to_schedule"
	ScheduleToRun    = "schedule_to_run"
	RunToWatch       = "run_to_watch"
	ScheduleToWatch  = "schedule_to_watch"
	PodStartup       = "pod_startup" // the SLI: create to watch
)

// DefaultPodStartupThreshold is the SLO's bound on pod startup.
const DefaultPodStartupThreshold = 5 * time.Second

var transitions = []string{CreateToSchedule, ScheduleToRun, RunToWatch, ScheduleToWatch, PodStartup}

// PodStartupLatency measures, for the pods matching a label selector, the
// time from creation until a watch sees them running. The creation time is
// the API server's creationTimestamp, truncated to the second: pod startup
// can come out up to a second long, never short.
type PodStartupLatency struct {
	Client        kubernetes.Interface
	LabelSelector string
	// Namespaces, if set, limits the measurement to pods in them.
	Namespaces []string
	// Thresholds bound p50, p90 and p99 of pod startup; zero means all
	// three at 5 s, the SLO's bound.
	Thresholds results.Thresholds
	// Probes, if set, are the hollow kubelets' node-side probes, joined by
	// pod UID to split kubelet work from status upload.
	Probes func() []hollow.PodProbes

	mu          sync.Mutex
	pods        map[string]*podTimes
	preexisting map[string]bool // running before Start: not measured
	namespaces  map[string]bool // Namespaces as a set; nil for all
	stop        chan struct{}
}

type podTimes struct {
	uid, namespace, name, node     string
	stateless                      bool
	created, scheduled, run, watch time.Time
	// watchScheduled is when our watch first saw the pod bound to a node:
	// the API's PodScheduled time is truncated to the second, this is not.
	watchScheduled time.Time
}

func (m *PodStartupLatency) Name() string { return "PodStartupLatency" }

// Start begins watching pods.
func (m *PodStartupLatency) Start(ctx context.Context) error {
	if m.Thresholds == (results.Thresholds{}) {
		m.Thresholds = results.Thresholds{P50: DefaultPodStartupThreshold, P90: DefaultPodStartupThreshold, P99: DefaultPodStartupThreshold}
	}
	m.pods = map[string]*podTimes{}
	m.preexisting = map[string]bool{}
	if len(m.Namespaces) > 0 {
		m.namespaces = map[string]bool{}
		for _, ns := range m.Namespaces {
			m.namespaces[ns] = true
		}
	}
	m.stop = make(chan struct{})
	factory := informers.NewSharedInformerFactoryWithOptions(m.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = m.LabelSelector }))
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initial bool) {
			// A pod already running when we start was not seen starting:
			// "now" would be a made-up watch time.
			if pod, ok := obj.(*corev1.Pod); ok && initial && running(pod) {
				m.mu.Lock()
				m.preexisting[string(pod.UID)] = true
				m.mu.Unlock()
				return
			}
			m.observe(obj, time.Now())
		},
		UpdateFunc: func(_, obj any) { m.observe(obj, time.Now()) },
	}); err != nil {
		return fmt.Errorf("watching pods: %w", err)
	}
	factory.Start(m.stop)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		close(m.stop)
		return fmt.Errorf("watching pods: %w", ctx.Err())
	}
	return nil
}

func (m *PodStartupLatency) observe(obj any, now time.Time) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || m.namespaces != nil && !m.namespaces[pod.Namespace] {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.preexisting[string(pod.UID)] {
		return
	}
	t := m.pods[string(pod.UID)]
	if t == nil {
		t = &podTimes{uid: string(pod.UID), namespace: pod.Namespace, name: pod.Name,
			created: pod.CreationTimestamp.Time, stateless: Stateless(pod)}
		m.pods[t.uid] = t
	}
	t.node = pod.Spec.NodeName
	if t.node != "" && t.watchScheduled.IsZero() {
		t.watchScheduled = now
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionTrue {
			t.scheduled = c.LastTransitionTime.Time
		}
	}
	if t.watch.IsZero() && running(pod) {
		t.watch = now
		for _, cs := range pod.Status.ContainerStatuses {
			if at := cs.State.Running.StartedAt.Time; at.After(t.run) {
				t.run = at
			}
		}
	}
}

// running is the SLO's "running": phase Running with every container running.
func running(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodRunning || len(pod.Status.ContainerStatuses) != len(pod.Spec.Containers) {
		return false
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return true
}

// Stateless reports whether a pod's volumes are only of the kinds the SLO
// counts as stateless: emptyDir, configMap, secret, downwardAPI, projected.
func Stateless(pod *corev1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		s := v.VolumeSource
		if s.EmptyDir == nil && s.ConfigMap == nil && s.Secret == nil && s.DownwardAPI == nil && s.Projected == nil {
			return false
		}
	}
	return true
}

// Gather stops watching and computes the percentiles of every transition,
// for stateless and stateful pods apart, with one SLO check per percentile
// of pod startup. Pods not yet running are listed but not counted.
func (m *PodStartupLatency) Gather(context.Context) (*Summary, error) {
	close(m.stop)
	m.mu.Lock()
	pods := make([]*podTimes, 0, len(m.pods))
	for _, p := range m.pods {
		pods = append(pods, p)
	}
	m.mu.Unlock()
	slices.SortFunc(pods, func(a, b *podTimes) int { return a.created.Compare(b.created) })
	var probes map[string]hollow.PodProbes
	if m.Probes != nil {
		probes = map[string]hollow.PodProbes{}
		for _, p := range m.Probes() {
			probes[p.UID] = p
		}
	}
	sum := &Summary{PerfData: results.NewPerfData(), Tables: map[string][][]string{"pods.csv": podRows(pods, probes)}}
	for _, kind := range []struct {
		name      string
		stateless bool
	}{{"stateless", true}, {"stateful", false}} {
		samples := map[string][]time.Duration{}
		for _, p := range pods {
			if p.stateless != kind.stateless || p.watch.IsZero() || p.scheduled.IsZero() {
				continue
			}
			for name, d := range p.transitions() {
				samples[name] = append(samples[name], d)
			}
		}
		for _, name := range transitions {
			pct, err := NearestRank(samples[name])
			if err != nil {
				continue
			}
			sum.PerfData.DataItems = append(sum.PerfData.DataItems,
				results.LatencyItem(pct.P50, pct.P90, pct.P99, map[string]string{"Metric": name, "Pods": kind.name}))
			if name == PodStartup {
				sum.Checks = append(sum.Checks, m.check(kind.name, pct))
			}
		}
		if len(samples[PodStartup]) == 0 && kind.stateless {
			sum.Checks = append(sum.Checks, m.check(kind.name, Percentiles{}))
		}
	}
	return sum, nil
}

func (m *PodStartupLatency) check(kind string, p Percentiles) results.Check {
	return results.Check{SLO: fmt.Sprintf("PodStartupLatency (%s)", kind), Thresholds: m.Thresholds, Measured: p}
}

func (p *podTimes) transitions() map[string]time.Duration {
	out := map[string]time.Duration{
		CreateToSchedule: p.scheduled.Sub(p.created),
		RunToWatch:       p.watch.Sub(p.run),
		ScheduleToWatch:  p.watch.Sub(p.scheduled),
		PodStartup:       p.watch.Sub(p.created),
	}
	if !p.run.IsZero() {
		out[ScheduleToRun] = p.run.Sub(p.scheduled)
	}
	return out
}

// podRows is the raw data behind every figure: one row per pod.
func podRows(pods []*podTimes, probes map[string]hollow.PodProbes) [][]string {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	rows := [][]string{{"namespace", "name", "uid", "node", "stateless", "created", "scheduled", "run", "watch", "watch_scheduled",
		"kubelet_seen", "kubelet_sandbox_ready", "kubelet_containers_started", "kubelet_running", "kubelet_status_posted"}}
	for _, p := range pods {
		pr := probes[p.uid]
		var started time.Time // the last container's start: when all had started
		for _, c := range pr.Containers {
			if c.Started.After(started) {
				started = c.Started
			}
		}
		rows = append(rows, []string{p.namespace, p.name, p.uid, p.node, strconv.FormatBool(p.stateless),
			ts(p.created), ts(p.scheduled), ts(p.run), ts(p.watch), ts(p.watchScheduled),
			ts(pr.Seen), ts(pr.SandboxReady), ts(started), ts(pr.Running), ts(pr.StatusPosted)})
	}
	return rows
}
