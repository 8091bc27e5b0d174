package measurements

import (
	"cmp"
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

// DefaultPodStartupThreshold is the SLO's bound on pod startup.
const DefaultPodStartupThreshold = 5 * time.Second

// PodStartupLatency measures, for the pods matching a label selector, the
// time from creation until a watch sees them running, split into the
// transitions ClusterLoader2 reports. With WatchTimes (the default) every
// phase is when our watch received the event showing it, as ClusterLoader2
// does; APITimes reads creation, scheduling and container start from the
// API object instead, truncated to the second, for comparing with results
// taken that way.
type PodStartupLatency struct {
	Client        kubernetes.Interface
	LabelSelector string
	// Namespaces, if set, limits the measurement to pods in them.
	Namespaces []string
	// Thresholds bound p50, p90 and p99 of pod startup; zero means all
	// three at 5 s, the SLO's bound.
	Thresholds results.Thresholds
	// TimestampSource picks the definition; empty means WatchTimes.
	TimestampSource TimestampSource
	// Probes, if set, are the hollow kubelets' node-side probes, joined by
	// pod UID to split kubelet work from status upload. Nil when the nodes
	// are not this process's.
	Probes func() []hollow.PodProbes

	mu          sync.Mutex
	pods        map[string]*podRecord
	preexisting map[string]bool // running before Start: not measured
	namespaces  map[string]bool // Namespaces as a set; nil for all
	stop        chan struct{}
}

type podRecord struct {
	uid, namespace, name, node string
	stateless                  bool
	PodTimes
}

// PodStartupLatencyName names the method and its checks.
const PodStartupLatencyName = "PodStartupLatency"

// PodStartupCheck names the check of one pod kind: stateless or stateful.
func PodStartupCheck(kind string) string { return fmt.Sprintf("%s (%s)", PodStartupLatencyName, kind) }

func podStartupLatencyMethod() Method {
	selector := SelectorParam("labelSelector", "the pods measured, in the run's namespaces")
	threshold := DurationParam("threshold", DefaultPodStartupThreshold, "bound on p50, p90 and p99 of each pod kind's startup")
	thresholds := ThresholdsParam("thresholds", "bounds of single percentiles, overriding `threshold` for those given")
	source := EnumParam("timestampSource", string(WatchTimes), []string{string(WatchTimes), string(APITimes)},
		"`watch`: when our watch received the events (as ClusterLoader2); `api`: the API's second-truncated timestamps (the old definition)")
	return Method{
		Name: PodStartupLatencyName,
		Doc: "pod startup of the selected pods in the run's namespaces, as ClusterLoader2: create, schedule and run are when our " +
			"watch first received an event showing each (with `api`: the API's second-truncated timestamps); per pod both sets of " +
			"times (`_pods.csv`, joined with the hollow kubelets' probes); transitions create_to_schedule, schedule_to_run, " +
			"run_to_watch, schedule_to_watch, pod_startup and create_to_run, stateless and stateful apart; nearest-rank " +
			"p50/p90/p99; one check per pod kind",
		Params: []ParamSpec{selector, threshold, thresholds, source},
		Start: func(p Params, d Deps) (Measurement, error) {
			all := threshold.Get(p)
			th := results.Thresholds{P50: all, P90: all, P99: all}
			set := thresholds.Get(p)
			for _, o := range []struct{ set, into *time.Duration }{{&set.P50, &th.P50}, {&set.P90, &th.P90}, {&set.P99, &th.P99}} {
				if *o.set > 0 {
					*o.into = *o.set
				}
			}
			return &PodStartupLatency{Client: d.Client, LabelSelector: selector.Get(p), Namespaces: d.Namespaces,
				Thresholds: th, TimestampSource: TimestampSource(source.Get(p)), Probes: d.Probes}, nil
		},
	}
}

func (m *PodStartupLatency) Name() string { return PodStartupLatencyName }

// Start begins watching pods.
func (m *PodStartupLatency) Start(ctx context.Context) error {
	if m.TimestampSource == "" {
		m.TimestampSource = WatchTimes
	}
	if m.Thresholds == (results.Thresholds{}) {
		m.Thresholds = results.Thresholds{P50: DefaultPodStartupThreshold, P90: DefaultPodStartupThreshold, P99: DefaultPodStartupThreshold}
	}
	m.pods = map[string]*podRecord{}
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
			if pod, ok := obj.(*corev1.Pod); ok && initial && pod.Status.Phase == corev1.PodRunning {
				m.mu.Lock()
				m.preexisting[string(pod.UID)] = true
				m.mu.Unlock()
				return
			}
			m.observe(obj, received())
		},
		UpdateFunc: func(_, obj any) { m.observe(obj, received()) },
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

// received is the time an event arrives, on the wall clock only: the
// per-pod table holds wall-clock times, and a figure recomputed from it
// must come out exactly as reported, which a monotonic reading would not
// guarantee.
func received() time.Time { return time.Now().Round(0) }

// observe records what one watch event shows, received at now. Each
// phase keeps the first event that showed it, as ClusterLoader2 does.
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
	p := m.pods[string(pod.UID)]
	if p == nil {
		p = &podRecord{uid: string(pod.UID), namespace: pod.Namespace, name: pod.Name, stateless: Stateless(pod)}
		p.WatchCreated, p.APICreated = now, pod.CreationTimestamp.Time
		m.pods[p.uid] = p
	}
	p.node = pod.Spec.NodeName
	if p.node != "" && p.WatchScheduled.IsZero() {
		p.WatchScheduled = now
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionTrue && p.APIScheduled.IsZero() {
			p.APIScheduled = c.LastTransitionTime.Time
		}
	}
	// ClusterLoader2's "running" is the pod's phase alone.
	if pod.Status.Phase == corev1.PodRunning && p.WatchRunning.IsZero() {
		p.WatchRunning = now
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.State.Running != nil && cs.State.Running.StartedAt.After(p.APIRun) {
				p.APIRun = cs.State.Running.StartedAt.Time
			}
		}
	}
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
// for stateless and stateful pods apart, with one SLO check per pod kind
// on pod startup. Each transition counts the pods that reached both its
// ends; pods not yet running are listed but not in pod_startup.
func (m *PodStartupLatency) Gather(context.Context) (*Summary, error) {
	close(m.stop)
	m.mu.Lock()
	pods := make([]*podRecord, 0, len(m.pods))
	for _, p := range m.pods {
		pods = append(pods, p)
	}
	m.mu.Unlock()
	slices.SortFunc(pods, func(a, b *podRecord) int {
		return cmp.Or(a.WatchCreated.Compare(b.WatchCreated), cmp.Compare(a.namespace+"/"+a.name, b.namespace+"/"+b.name))
	})
	probes := m.probes()
	notes := []string{m.definitionNote()}
	if n := probeNote(pods, probes); n != "" {
		notes = append(notes, n)
	}
	sum := &Summary{PerfData: results.NewPerfData(), Tables: map[string][][]string{"pods.csv": podRows(pods, probes)},
		Definitions: map[string]string{"timestampSource": string(m.TimestampSource)}, Notes: notes}
	for _, kind := range []struct {
		name      string
		stateless bool
	}{{"stateless", true}, {"stateful", false}} {
		samples := map[string][]time.Duration{}
		for _, p := range pods {
			if p.stateless != kind.stateless {
				continue
			}
			for name, d := range p.Transitions(m.TimestampSource) {
				samples[name] = append(samples[name], d)
			}
		}
		for _, name := range Transitions {
			pct, err := NearestRank(samples[name])
			if err != nil {
				continue
			}
			sum.PerfData.DataItems = append(sum.PerfData.DataItems,
				results.LatencyItem(pct.P50, pct.P90, pct.P99, map[string]string{"Metric": name, "Pods": kind.name}))
			if name == PodStartup {
				c := m.check(kind.name, pct)
				c.Intervals = SampleIntervals(samples[name])
				sum.Checks = append(sum.Checks, c)
			}
		}
		if len(samples[PodStartup]) == 0 && kind.stateless {
			sum.Checks = append(sum.Checks, m.check(kind.name, Percentiles{}))
		}
	}
	return sum, nil
}

// probes are the kubelet probes by pod UID; nil without a probe source.
func (m *PodStartupLatency) probes() map[string]hollow.PodProbes {
	if m.Probes == nil {
		return nil
	}
	out := map[string]hollow.PodProbes{}
	for _, p := range m.Probes() {
		out[p.UID] = p
	}
	return out
}

func (m *PodStartupLatency) definitionNote() string {
	if m.TimestampSource == APITimes {
		return "Phases from the API's timestamps (timestampSource: api): create is creationTimestamp, schedule the " +
			"PodScheduled condition, run the last container's startedAt, all to the second; watch is when our watch saw " +
			"the pod Running. This is ClusterLoader2's definition before March 2026; it reads up to a second long."
	}
	return "Phases from watch receive times (timestampSource: watch), as ClusterLoader2 since March 2026: create is the " +
		"first watch event seen for the pod, schedule the first showing it bound, run and watch the first showing it " +
		"Running (so run_to_watch is 0). The API's own timestamps are the api_* columns."
}

// probeNote says why probe columns are empty, if any are for pods that
// were scheduled.
func probeNote(pods []*podRecord, probes map[string]hollow.PodProbes) string {
	if probes == nil {
		return "The kubelet_* columns are empty: the pods ran on nodes this hollowmark process did not start " +
			"(an attached cluster), and the node-side probes live in the process that runs the nodes."
	}
	scheduled, without := 0, 0
	for _, p := range pods {
		if p.node == "" {
			continue
		}
		scheduled++
		if _, ok := probes[p.uid]; !ok {
			without++
		}
	}
	if without == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d scheduled pods have empty kubelet_* columns: their nodes are not hollow nodes "+
		"of this process (or the node had not yet seen the pod), so their probes cannot be read.", without, scheduled)
}

func (m *PodStartupLatency) check(kind string, p Percentiles) results.Check {
	return results.Check{SLO: PodStartupCheck(kind), Thresholds: m.Thresholds, Measured: p}
}

// podRows is the raw data behind every figure: one row per pod, with both
// the watch's receive times and the API's timestamps.
func podRows(pods []*podRecord, probes map[string]hollow.PodProbes) [][]string {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	rows := [][]string{{"namespace", "name", "uid", "node", "stateless",
		"watch_created", "watch_scheduled", "watch_running", "api_created", "api_scheduled", "api_run",
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
			ts(p.WatchCreated), ts(p.WatchScheduled), ts(p.WatchRunning), ts(p.APICreated), ts(p.APIScheduled), ts(p.APIRun),
			ts(pr.Seen), ts(pr.SandboxReady), ts(started), ts(pr.Running), ts(pr.StatusPosted)})
	}
	return rows
}
