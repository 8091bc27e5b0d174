package plots

import (
	"reflect"
	"testing"
	"time"

	"github.com/hollowmark/hollowmark/analysis"
	"github.com/hollowmark/hollowmark/measurements"
	"github.com/hollowmark/hollowmark/results"
)

var t0 = time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)

// at is t0 plus ms milliseconds.
func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// api is a pod's API times and the watch's Running time, as results from
// before watch times have them: created, scheduled, run and watch ms after
// t0, a negative one unobserved.
func api(created, scheduled, run, watch int) measurements.PodTimes {
	t := func(ms int) time.Time {
		if ms < 0 {
			return time.Time{}
		}
		return at(ms)
	}
	return measurements.PodTimes{APICreated: t(created), APIScheduled: t(scheduled), APIRun: t(run), WatchRunning: t(watch)}
}

func TestStartupSamples(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  measurements.TimestampSource
		pods []analysis.Pod
		want []time.Duration
	}{
		{"no pods", measurements.WatchTimes, nil, nil},
		{"api: stateless pods seen created and running, in order", measurements.APITimes, []analysis.Pod{
			{Name: "slow", Stateless: true, PodTimes: api(0, 1000, -1, 2500)},
			{Name: "stateful", PodTimes: api(0, 1000, -1, 1200)},
			{Name: "never running", Stateless: true, PodTimes: api(0, 1000, -1, -1)},
			{Name: "fast", Stateless: true, PodTimes: api(0, 0, -1, 700)},
		}, []time.Duration{ms(2500), ms(700)}},
		// The same pods under watch times: created when first seen.
		{"watch: from the first event", measurements.WatchTimes, []analysis.Pod{
			{Name: "a", Stateless: true, PodTimes: measurements.PodTimes{WatchCreated: at(400), WatchRunning: at(650), APICreated: at(0)}},
			{Name: "never running", Stateless: true, PodTimes: measurements.PodTimes{WatchCreated: at(400), APICreated: at(0)}},
		}, []time.Duration{ms(250)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := StartupSamples(&analysis.Run{Pods: tc.pods, PodTimestamps: tc.src}); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPhaseBars(t *testing.T) {
	// fast has every probe; slow lacks the containers' start, so it counts
	// from kubelet running, and its watch saw the status 10ms before the
	// kubelet's post returned: the post counts as done when watched, so
	// the bar adds up to the pod's startup.
	fast := analysis.Pod{Name: "fast", Stateless: true, PodTimes: api(0, 0, 0, 650),
		KubeletSeen: at(300), ContainersStarted: at(500), KubeletRunning: at(520), StatusPosted: at(600)}
	slow := analysis.Pod{Name: "slow", Stateless: true, PodTimes: api(0, 1000, -1, 1690),
		KubeletSeen: at(1200), KubeletRunning: at(1400), StatusPosted: at(1700)}
	stateful := analysis.Pod{Name: "stateful", PodTimes: api(0, 0, -1, 9000)}
	fastProbes := []Segment{{createToSchedule, 0}, {scheduleToSeen, ms(300)}, {seenToStarted, ms(200)},
		{startedToPosted, ms(100)}, {postedToWatch, ms(50)}}
	slowProbes := []Segment{{createToSchedule, ms(1000)}, {scheduleToSeen, ms(200)}, {seenToStarted, ms(200)},
		{startedToPosted, ms(290)}, {postedToWatch, 0}}
	unprobed := fast
	unprobed.KubeletSeen = time.Time{}
	// Without probes: slow has no run time, so it counts as run when
	// scheduled.
	fastAPI := []Segment{{createToSchedule, 0}, {scheduleToRun, 0}, {runToWatch, ms(650)}}
	slowAPI := []Segment{{createToSchedule, ms(1000)}, {scheduleToRun, 0}, {runToWatch, ms(690)}}
	// The API truncated slow's scheduling to 1000ms; the watch saw it at
	// 1150ms: the second goes to create→schedule, not to the kubelet.
	exact := slow
	exact.WatchScheduled = at(1150)
	exactProbes := []Segment{{createToSchedule, ms(1150)}, {scheduleToSeen, ms(50)}, {seenToStarted, ms(200)},
		{startedToPosted, ms(290)}, {postedToWatch, 0}}
	tie := analysis.Pod{Name: "tie", Stateless: true, PodTimes: api(0, 0, 100, 650)}
	tieAPI := []Segment{{createToSchedule, 0}, {scheduleToRun, ms(100)}, {runToWatch, ms(550)}}
	// Under watch times: created seen at 400, bound at 450, Running at
	// 620; the API's second-truncated times (all 0) play no part.
	watched := analysis.Pod{Name: "watched", Stateless: true, PodTimes: measurements.PodTimes{
		WatchCreated: at(400), WatchScheduled: at(450), WatchRunning: at(620), APICreated: at(0), APIScheduled: at(0), APIRun: at(0)},
		KubeletSeen: at(480), ContainersStarted: at(560), StatusPosted: at(600)}
	watchedProbes := []Segment{{createToSchedule, ms(50)}, {scheduleToSeen, ms(30)}, {seenToStarted, ms(80)},
		{startedToPosted, ms(40)}, {postedToWatch, ms(20)}}
	// The kubelet saw the pod 10 ms before our watch saw it bound: that
	// segment is zero, the next one starts at the binding.
	early := watched
	early.KubeletSeen = at(440)
	earlyProbes := []Segment{{createToSchedule, ms(50)}, {scheduleToSeen, 0}, {seenToStarted, ms(110)},
		{startedToPosted, ms(40)}, {postedToWatch, ms(20)}}
	watchedOnly := watched
	watchedOnly.KubeletSeen = time.Time{}
	watchedPhases := []Segment{{createToSchedule, ms(50)}, {scheduleToWatch, ms(170)}}

	bars := func(p50, p90, p99 []Segment) []PhaseBar {
		return []PhaseBar{{"p50", p50}, {"p90", p90}, {"p99", p99}}
	}
	for _, tc := range []struct {
		name string
		src  measurements.TimestampSource
		pods []analysis.Pod
		want []PhaseBar
	}{
		{"no pods", measurements.APITimes, nil, nil},
		{"only stateful pods", measurements.APITimes, []analysis.Pod{stateful}, nil},
		// Of two samples, nearest rank puts p50 at the first and p90 and
		// p99 at the second; the pod is found by value, not position.
		{"probes", measurements.APITimes, []analysis.Pod{slow, stateful, fast}, bars(fastProbes, slowProbes, slowProbes)},
		{"one pod without probes: all bars without", measurements.APITimes, []analysis.Pod{slow, unprobed}, bars(fastAPI, slowAPI, slowAPI)},
		{"one pod: every percentile is it", measurements.APITimes, []analysis.Pod{fast}, bars(fastProbes, fastProbes, fastProbes)},
		{"watch-observed scheduling", measurements.APITimes, []analysis.Pod{exact}, bars(exactProbes, exactProbes, exactProbes)},
		{"tie: the first pod with the value", measurements.APITimes, []analysis.Pod{tie, unprobed, slow}, bars(tieAPI, slowAPI, slowAPI)},
		{"watch times with probes", measurements.WatchTimes, []analysis.Pod{watched}, bars(watchedProbes, watchedProbes, watchedProbes)},
		{"out-of-order probe", measurements.WatchTimes, []analysis.Pod{early}, bars(earlyProbes, earlyProbes, earlyProbes)},
		{"watch times without probes", measurements.WatchTimes, []analysis.Pod{watchedOnly}, bars(watchedPhases, watchedPhases, watchedPhases)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PhaseBars(&analysis.Run{Pods: tc.pods, PodTimestamps: tc.src}); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestPodTimeline(t *testing.T) {
	pods := []analysis.Pod{
		{PodTimes: api(3000, -1, -1, -1)},
		{PodTimes: api(1000, 2000, -1, -1)},
		{PodTimes: api(1000, 1000, -1, 1500)},
	}
	for _, tc := range []struct {
		name      string
		run       analysis.Run
		wantStart time.Time
		want      []TimeSeries
	}{
		{"from the run's start", analysis.Run{Record: &results.Run{Started: t0}, Pods: pods, PodTimestamps: measurements.APITimes}, t0, []TimeSeries{
			{"created", []Point{{ms(1000), 2}, {ms(3000), 3}}},
			{"scheduled", []Point{{ms(1000), 1}, {ms(2000), 2}}},
			{"running (watch)", []Point{{ms(1500), 1}}},
		}},
		{"without a record, from the first creation", analysis.Run{Pods: pods, PodTimestamps: measurements.APITimes}, at(1000), []TimeSeries{
			{"created", []Point{{0, 2}, {ms(2000), 3}}},
			{"scheduled", []Point{{0, 1}, {ms(1000), 2}}},
			{"running (watch)", []Point{{ms(500), 1}}},
		}},
		{"no pods", analysis.Run{Record: &results.Run{Started: t0}}, t0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, got := PodTimeline(&tc.run)
			if !start.Equal(tc.wantStart) || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v %v\nwant %v %v", start, got, tc.wantStart, tc.want)
			}
		})
	}
}

func TestThroughputSeries(t *testing.T) {
	for _, tc := range []struct {
		name      string
		intervals []analysis.Interval
		want      []TimeSeries
	}{
		{"no intervals", nil, nil},
		{"first start, then each end", []analysis.Interval{
			{Start: at(1000), End: at(6000), Pods: 50, PerSecond: 10},
			{Start: at(6000), End: at(11000), Pods: 100, PerSecond: 20},
		}, []TimeSeries{{"scheduling throughput", []Point{{ms(1000), 10}, {ms(6000), 10}, {ms(11000), 20}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ThroughputSeries(&analysis.Run{Throughput: tc.intervals}, t0); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUsageSeries(t *testing.T) {
	for _, tc := range []struct {
		name          string
		usage         []analysis.UsageSample
		wantCPU, want []TimeSeries
	}{
		{"no samples", nil, nil, nil},
		{"per component, by name and time", []analysis.UsageSample{
			{Time: at(5000), Component: "kube-apiserver", RSSBytes: 3 * mib, CPUCores: 0.5, HasCPU: true},
			{Time: at(10000), Component: "etcd", RSSBytes: 2.5 * mib, CPUCores: 0.3, HasCPU: true},
			{Time: at(5000), Component: "etcd", RSSBytes: 2 * mib, CPUCores: 0.1, HasCPU: true},
			{Time: at(0), Component: "etcd", RSSBytes: 1 * mib},
			{Time: at(0), Component: "kube-scheduler", RSSBytes: 1.5 * mib},
		}, []TimeSeries{
			// etcd's first CPU value also stands at the sample before it.
			{"etcd", []Point{{0, 0.1}, {ms(5000), 0.1}, {ms(10000), 0.3}}},
			{"kube-apiserver", []Point{{ms(5000), 0.5}}},
		}, []TimeSeries{
			{"etcd", []Point{{0, 1}, {ms(5000), 2}, {ms(10000), 2.5}}},
			{"kube-apiserver", []Point{{ms(5000), 3}}},
			{"kube-scheduler", []Point{{0, 1.5}}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cpu, mem := UsageSeries(&analysis.Run{Usage: tc.usage}, t0)
			if !reflect.DeepEqual(cpu, tc.wantCPU) || !reflect.DeepEqual(mem, tc.want) {
				t.Errorf("got cpu %v mem %v\nwant cpu %v mem %v", cpu, mem, tc.wantCPU, tc.want)
			}
		})
	}
}

func TestAPIBars(t *testing.T) {
	patch := measurements.CallKind{Verb: "PATCH", Resource: "pods", Subresource: "status", Scope: "resource"}
	list := measurements.CallKind{Verb: "LIST", Resource: "deployments", Scope: "namespace"}
	whole := []analysis.APICall{{Kind: patch, P50: ms(20), P90: ms(80), P99: ms(392)}, {Kind: list, P50: ms(5), P99: ms(1500)}}
	for _, tc := range []struct {
		name         string
		whole, worst []analysis.APICall
		want         []Bar
	}{
		{"no calls", nil, nil, nil},
		{"before windows: the whole run's p99, in table order", whole, nil,
			[]Bar{{"PATCH pods/status (resource)", ms(392)}, {"LIST deployments (namespace)", ms(1500)}}},
		{"the worst window's p99, the SLO's figure", whole, []analysis.APICall{{Kind: patch, P99: ms(800)}},
			[]Bar{{"PATCH pods/status (resource)", ms(800)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := APIBars(&analysis.Run{APICalls: tc.whole, APIWorst: tc.worst}); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAPILines(t *testing.T) {
	want := []Line{{"1s: single object", time.Second}, {"5s: namespace LIST", 5 * time.Second},
		{"30s: cluster LIST", 30 * time.Second}}
	if got := APILines(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
