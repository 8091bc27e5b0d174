package measurements_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/hollow"
	"github.com/hollowmark/hollowmark/measurements"
)

func TestThroughputIntervals(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(offsets ...time.Duration) []time.Time {
		out := make([]time.Time, len(offsets))
		for i, o := range offsets {
			out[i] = t0.Add(o)
		}
		return out
	}
	iv := func(from, to time.Duration, pods int, rate float64) measurements.ThroughputInterval {
		return measurements.ThroughputInterval{Start: t0.Add(from), End: t0.Add(to), Pods: pods, PerSecond: rate}
	}
	const s, ms = time.Second, time.Millisecond
	tests := []struct {
		name     string
		times    []time.Time
		interval time.Duration
		want     []measurements.ThroughputInterval
	}{
		{"nothing scheduled", nil, 5 * s, nil},
		// No span to rate over: one pod in the one-second floor.
		{"one pod", at(0), 5 * s, []measurements.ThroughputInterval{iv(0, 0, 1, 1)}},
		{"two at once", at(0, 0), 5 * s, []measurements.ThroughputInterval{iv(0, 0, 2, 2)}},
		// Span 12 s: ceil(12/5) = 3 intervals; the last, [10 s, 12 s], is
		// rated over its 2 s.
		{"partial last", at(0, 1*s, 2*s, 3*s, 4*s, 5*s, 6*s, 12*s), 5 * s, []measurements.ThroughputInterval{
			iv(0, 5*s, 5, 1), iv(5*s, 10*s, 2, 0.4), iv(10*s, 12*s, 1, 0.5)}},
		// Span 10 s is two whole intervals; the pod at 10 s closes the second.
		{"exact multiple", at(0, 2500*ms, 5*s, 10*s), 5 * s, []measurements.ThroughputInterval{
			iv(0, 5*s, 2, 0.4), iv(5*s, 10*s, 2, 0.4)}},
		// The last interval is 200 ms long: rated over the 1 s floor, 1/s, not 5/s.
		{"short last", at(0, 1*s, 2*s, 3*s, 4*s, 5200*ms), 5 * s, []measurements.ThroughputInterval{
			iv(0, 5*s, 5, 1), iv(5*s, 5200*ms, 1, 1)}},
		// Intervals under a second floor the last at the interval: 1 pod over 500 ms.
		{"sub-second interval", at(0, 100*ms, 600*ms), 500 * ms, []measurements.ThroughputInterval{
			iv(0, 500*ms, 2, 4), iv(500*ms, 600*ms, 1, 2)}},
		// A quiet interval in the middle counts as zero.
		{"gap", at(0, 1*s, 11*s), 5 * s, []measurements.ThroughputInterval{
			iv(0, 5*s, 2, 0.4), iv(5*s, 10*s, 0, 0), iv(10*s, 11*s, 1, 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := measurements.ThroughputIntervals(tt.times, tt.interval)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d intervals %+v, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if !g.Start.Equal(w.Start) || !g.End.Equal(w.End) || g.Pods != w.Pods || g.PerSecond != w.PerSecond {
					t.Errorf("interval %d: got %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestNearestRankFloat(t *testing.T) {
	tests := []struct {
		name    string
		samples []float64
		want    measurements.FloatPercentiles
	}{
		// sorted[ceil(n*p)-1]: n=10 gives ranks 5, 9 and ceil(9.9)=10.
		{"one to ten", []float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}, measurements.FloatPercentiles{Count: 10, P50: 5, P90: 9, P99: 10, Max: 10}},
		// The rates of "partial last" above: 0.4, 0.5, 1 give ranks 2, 3, 3.
		{"three rates", []float64{1, 0.4, 0.5}, measurements.FloatPercentiles{Count: 3, P50: 0.5, P90: 1, P99: 1, Max: 1}},
		{"one", []float64{7}, measurements.FloatPercentiles{Count: 1, P50: 7, P90: 7, P99: 7, Max: 7}},
		// n=200: p99 is rank 198, below the two outliers; the maximum is not.
		{"two hundred", append(make([]float64, 198), 5, 9), measurements.FloatPercentiles{Count: 200, Max: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := measurements.NearestRankFloat(tt.samples)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, err := measurements.NearestRankFloat(nil); !errors.Is(err, measurements.ErrNoSamples) {
		t.Errorf("empty sample: got %v", err)
	}
}

func TestSchedulingThroughputWithNothingScheduled(t *testing.T) {
	cp := shared.Get(t)
	ctx := context.Background()
	m := &measurements.SchedulingThroughput{Client: kubernetes.NewForConfigOrDie(cp.Config), LabelSelector: "measured=nothing-at-all"}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sum, err := m.Gather(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(sum.PerfData.DataItems); n != 0 {
		t.Errorf("%d data items for no pods", n)
	}
	for _, name := range []string{"scheduled_pods.csv", "scheduling_throughput.csv"} {
		if rows := sum.Tables[name]; len(rows) != 1 {
			t.Errorf("%s: %d rows, want the header only", name, len(rows))
		}
	}
}

func TestSchedulingThroughputCountsPodsScheduledDuringTheRun(t *testing.T) {
	const pods = 20
	cp := shared.Get(t)
	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(cp.Config)
	// A fresh name per run, for the namespace, the node and the label.
	ns, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "sched-throughput-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := ns.Name
	creds, err := hollow.CredentialsFromConfig(cp.Config, cp.Authority)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := hollow.StartPool(ctx, creds, hollow.PoolConfig{Count: 1, Shards: 1, NamePrefix: name + "-", Concurrency: 1, Node: hollow.DefaultNodeConfig()},
		hollow.NewMetrics(), &hollow.ProbeMemory{}, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Stop()
	create := func(pod string) {
		t.Helper()
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: pod, Labels: map[string]string{"measured": name}},
			Spec: corev1.PodSpec{NodeSelector: map[string]string{"kubernetes.io/hostname": name + "-0"},
				Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
		}
		if _, err := client.CoreV1().Pods(name).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	scheduled := func(want int) {
		t.Helper()
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			list, err := client.CoreV1().Pods(name).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			n := 0
			for _, p := range list.Items {
				if p.Spec.NodeName != "" {
					n++
				}
			}
			return n == want, nil
		})
		if err != nil {
			t.Fatalf("%d pods were not scheduled: %v", want, err)
		}
	}
	// Scheduled before the measurement starts: not to be counted.
	create("early")
	scheduled(1)

	interval := time.Second
	m := &measurements.SchedulingThroughput{Client: client, LabelSelector: "measured=" + name, Interval: interval}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range pods {
		create(fmt.Sprintf("p%d", i))
	}
	scheduled(pods + 1)
	// The measurement's watch sees the last binding a moment after the poll does.
	time.Sleep(500 * time.Millisecond)
	sum, err := m.Gather(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Checks) != 0 {
		t.Errorf("throughput has no SLO, got checks %v", sum.Checks)
	}
	rows := sum.Tables["scheduled_pods.csv"]
	if len(rows) != pods+1 {
		t.Fatalf("%d scheduled pods, want %d: %v", len(rows)-1, pods, rows)
	}
	var times []time.Time
	for _, r := range rows[1:] {
		if r[1] == "early" {
			t.Errorf("a pod scheduled before Start was counted: %v", r)
		}
		at, err := time.Parse(time.RFC3339Nano, r[3])
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, at)
	}
	if len(sum.PerfData.DataItems) != 1 {
		t.Fatalf("data items %+v, want one", sum.PerfData.DataItems)
	}
	item := sum.PerfData.DataItems[0]
	if item.Unit != "1/s" || item.Labels["Metric"] != "SchedulingThroughput" || item.Data["Max"] <= 0 || item.Data["Perc50"] <= 0 {
		t.Errorf("data item %+v, want a positive throughput", item)
	}
	recomputeThroughput(t, sum, times, interval)
}

// recomputeThroughput derives the intervals and the reported figures from
// the CSVs alone.
func recomputeThroughput(t *testing.T, sum *measurements.Summary, times []time.Time, interval time.Duration) {
	t.Helper()
	intervals := measurements.ThroughputIntervals(times, interval)
	rows := sum.Tables["scheduling_throughput.csv"][1:]
	if len(rows) != len(intervals) {
		t.Fatalf("%d interval rows, recomputed %d intervals", len(rows), len(intervals))
	}
	var rates []float64
	total := 0
	for i, r := range rows {
		pods, err1 := strconv.Atoi(r[2])
		rate, err2 := strconv.ParseFloat(r[3], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("row %v: %v %v", r, err1, err2)
		}
		if pods != intervals[i].Pods || rate != intervals[i].PerSecond {
			t.Errorf("row %v, recomputed %+v", r, intervals[i])
		}
		total += pods
		rates = append(rates, rate)
	}
	if total != len(times) {
		t.Errorf("intervals hold %d pods, want %d", total, len(times))
	}
	want, err := measurements.NearestRankFloat(rates)
	if err != nil {
		t.Fatal(err)
	}
	got := sum.PerfData.DataItems[0].Data
	if got["Perc50"] != want.P50 || got["Perc90"] != want.P90 || got["Perc99"] != want.P99 || got["Max"] != want.Max {
		t.Errorf("reported %v, recomputed from the rows %+v", got, want)
	}
}
