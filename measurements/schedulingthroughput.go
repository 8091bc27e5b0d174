package measurements

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/montanaflynn/stats"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/hollowmark/hollowmark/results"
)

// SchedulingThroughput measures how many pods per second get scheduled,
// interval by interval, as a watch sees spec.nodeName being set on the pods
// matching a label selector. Pods already scheduled at Start are not counted.
type SchedulingThroughput struct {
	Client        kubernetes.Interface
	LabelSelector string
	Interval      time.Duration // default 5 s

	mu          sync.Mutex
	scheduled   map[string]scheduledPod
	preexisting map[string]bool
	factory     informers.SharedInformerFactory
	stop        chan struct{}
	stopOnce    sync.Once
}

type scheduledPod struct {
	namespace, name, uid string
	at                   time.Time
}

// SchedulingThroughputName names the method and its metric.
const SchedulingThroughputName = "SchedulingThroughput"

// defaultInterval is the sampling interval of SchedulingThroughput and
// ResourceUsage.
const defaultInterval = 5 * time.Second

func schedulingThroughputMethod() Method {
	selector := SelectorParam("labelSelector", "the pods counted, in all namespaces")
	interval := DurationParam("interval", defaultInterval, "the intervals pods/s is counted over")
	return Method{
		Name:   SchedulingThroughputName,
		Doc:    "pods the watch saw scheduled per interval, from the first scheduling to the last; p50/p90/p99/max pods/s",
		Params: []ParamSpec{selector, interval},
		Start: func(p Params, d Deps) (Measurement, error) {
			return &SchedulingThroughput{Client: d.Client, LabelSelector: selector.Get(p), Interval: interval.Get(p)}, nil
		},
	}
}

func (m *SchedulingThroughput) Name() string { return SchedulingThroughputName }

// Start begins watching pods in all namespaces.
func (m *SchedulingThroughput) Start(ctx context.Context) error {
	if m.Interval <= 0 {
		m.Interval = defaultInterval
	}
	m.scheduled = map[string]scheduledPod{}
	m.preexisting = map[string]bool{}
	m.stop = make(chan struct{})
	m.factory = informers.NewSharedInformerFactoryWithOptions(m.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = m.LabelSelector }))
	inf := m.factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc:    func(obj any, initial bool) { m.observe(obj, initial, time.Now()) },
		UpdateFunc: func(_, obj any) { m.observe(obj, false, time.Now()) },
	}); err != nil {
		return fmt.Errorf("watching pods: %w", err)
	}
	m.factory.Start(m.stop)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		m.shutdown()
		return fmt.Errorf("watching pods: %w", ctx.Err())
	}
	return nil
}

// observe records the first sighting of a pod bound to a node. A pod the
// initial list already shows bound was scheduled before the measurement,
// at a time the watch cannot tell: it is remembered so as to be skipped.
func (m *SchedulingThroughput) observe(obj any, initial bool, now time.Time) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName == "" {
		return
	}
	uid := string(pod.UID)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.preexisting[uid] {
		return
	}
	if _, seen := m.scheduled[uid]; seen {
		return
	}
	if initial {
		m.preexisting[uid] = true
		return
	}
	// Wall clock only, so that the CSV reproduces every figure exactly.
	m.scheduled[uid] = scheduledPod{namespace: pod.Namespace, name: pod.Name, uid: uid, at: now.Round(0)}
}

// shutdown stops the informer and waits for its goroutines to end.
func (m *SchedulingThroughput) shutdown() {
	m.stopOnce.Do(func() {
		if m.stop == nil {
			return
		}
		close(m.stop)
		m.factory.Shutdown()
	})
}

// Gather stops watching and reports the percentiles and maximum of the
// per-interval throughput. Throughput has no SLO: there are no checks.
func (m *SchedulingThroughput) Gather(context.Context) (*Summary, error) {
	m.shutdown()
	m.mu.Lock()
	pods := make([]scheduledPod, 0, len(m.scheduled))
	for _, p := range m.scheduled {
		pods = append(pods, p)
	}
	m.mu.Unlock()
	slices.SortFunc(pods, func(a, b scheduledPod) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.uid, b.uid)
	})
	times := make([]time.Time, len(pods))
	for i, p := range pods {
		times[i] = p.at
	}
	intervals := ThroughputIntervals(times, m.Interval)
	sum := &Summary{PerfData: results.NewPerfData(), Tables: map[string][][]string{
		"scheduled_pods.csv":        scheduledRows(pods),
		"scheduling_throughput.csv": intervalRows(intervals),
	}}
	rates := make([]float64, len(intervals))
	for i, iv := range intervals {
		rates[i] = iv.PerSecond
	}
	pct, err := NearestRankFloat(rates)
	if err != nil {
		return sum, nil // nothing was scheduled
	}
	sum.PerfData.DataItems = append(sum.PerfData.DataItems, results.DataItem{
		Data:   pct.Data(),
		Unit:   "1/s",
		Labels: map[string]string{"Metric": SchedulingThroughputName},
	})
	return sum, nil
}

// ThroughputInterval is the scheduling done in [Start, End).
type ThroughputInterval struct {
	Start, End time.Time
	Pods       int
	PerSecond  float64
}

// ThroughputIntervals splits the time from the first to the last of the
// sorted scheduling times into consecutive intervals of the given length,
// starting at the first; the last interval also holds its end, so the last
// pod is counted in it, and it ends at the last scheduling time: it may be
// shorter than the others. A short last interval is rated over its actual
// length, but over no less than a second (or the interval, if shorter): a
// lone pod a few milliseconds into it would otherwise read as hundreds of
// pods per second and decide the maximum and the high percentiles. For the
// same reason a single scheduling makes one interval of one second.
func ThroughputIntervals(sorted []time.Time, interval time.Duration) []ThroughputInterval {
	if len(sorted) == 0 || interval <= 0 {
		return nil
	}
	first, last := sorted[0], sorted[len(sorted)-1]
	span := last.Sub(first)
	n := max(1, int((span+interval-1)/interval))
	out := make([]ThroughputInterval, n)
	for i := range out {
		out[i].Start = first.Add(time.Duration(i) * interval)
		out[i].End = out[i].Start.Add(interval)
	}
	out[n-1].End = last
	for _, t := range sorted {
		out[min(n-1, int(t.Sub(first)/interval))].Pods++
	}
	floor := min(time.Second, interval)
	for i := range out {
		out[i].PerSecond = float64(out[i].Pods) / max(out[i].End.Sub(out[i].Start), floor).Seconds()
	}
	return out
}

// FloatPercentiles are nearest-rank percentiles (sorted[ceil(n*p)-1], a
// value that was measured) and the maximum of a sample.
type FloatPercentiles struct {
	Count              int
	P50, P90, P99, Max float64
}

// Data is the percentiles as a PerfData item's data.
func (p FloatPercentiles) Data() map[string]float64 {
	return map[string]float64{"Perc50": p.P50, "Perc90": p.P90, "Perc99": p.P99, "Max": p.Max}
}

// NearestRankFloat computes the percentiles and maximum of samples.
func NearestRankFloat(samples []float64) (FloatPercentiles, error) {
	if len(samples) == 0 {
		return FloatPercentiles{}, ErrNoSamples
	}
	data := stats.Float64Data(samples)
	out := FloatPercentiles{Count: len(samples), Max: slices.Max(samples)}
	for _, p := range []struct {
		pct  float64
		into *float64
	}{{50, &out.P50}, {90, &out.P90}, {99, &out.P99}} {
		v, err := stats.PercentileNearestRank(data, p.pct)
		if err != nil {
			return out, fmt.Errorf("percentile %v: %w", p.pct, err)
		}
		*p.into = v
	}
	return out, nil
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// formatFloat writes the shortest form that reads back as the same float,
// so that figures recomputed from a CSV match exactly.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func scheduledRows(pods []scheduledPod) [][]string {
	rows := [][]string{{"namespace", "name", "uid", "scheduled"}}
	for _, p := range pods {
		rows = append(rows, []string{p.namespace, p.name, p.uid, timestamp(p.at)})
	}
	return rows
}

func intervalRows(intervals []ThroughputInterval) [][]string {
	rows := [][]string{{"interval_start", "interval_end", "pods", "pods_per_second"}}
	for _, iv := range intervals {
		rows = append(rows, []string{timestamp(iv.Start), timestamp(iv.End), strconv.Itoa(iv.Pods), formatFloat(iv.PerSecond)})
	}
	return rows
}
