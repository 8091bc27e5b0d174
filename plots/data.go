package plots

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hollowmark/hollowmark/analysis"
	"github.com/hollowmark/hollowmark/measurements"
)

// Segment names of PhaseBars: with the hollow kubelet's probes, and
// without them.
const (
	createToSchedule = "create→schedule"
	scheduleToSeen   = "schedule→kubelet seen"
	seenToStarted    = "seen→containers started"
	startedToPosted  = "started→status posted"
	postedToWatch    = "posted→watch"
	scheduleToRun    = "schedule→run"
	runToWatch       = "run→watch"
	scheduleToWatch  = "schedule→running (watch)"
)

// StartupSamples are the pod startup latencies the SLO counts, under the
// run's definition: stateless pods seen created and running, in r.Pods'
// order.
func StartupSamples(r *analysis.Run) []time.Duration {
	var out []time.Duration
	for _, p := range r.Pods {
		if d, ok := startup(p, r.PodTimestamps); ok {
			out = append(out, d)
		}
	}
	return out
}

func startup(p analysis.Pod, src measurements.TimestampSource) (time.Duration, bool) {
	if !p.Stateless {
		return 0, false
	}
	return p.Startup(src)
}

// PhaseBars breaks down pod startup at p50, p90 and p99: each bar is the
// phases of THE POD whose startup is that percentile (nearest rank, as the
// SLO computes it; the first such pod in r.Pods on a tie), not
// percentiles of each phase, which would not add up to anything. Phases
// are read under the run's definition (r.PodTimestamps).
//
// With the hollow kubelet's probes the phases are create→schedule,
// schedule→kubelet seen, seen→containers started (kubelet running when
// the containers' start was not recorded), started→status posted and
// posted→watch; if any of the three pods lacks probes, every bar falls back
// to the measurement's own phases (create→schedule, schedule→running under
// watch times; create→schedule, schedule→run, run→watch under the API's),
// so that all bars have the same segments.
//
// Scheduling is the watch's observation of the binding when recorded,
// under either definition: the API's time is truncated to the second and
// would move up to a second of scheduling into the next segment.
//
// Each bar adds up to exactly the pod's startup. A boundary observed out
// of order (the kubelet saw the pod before our watch saw it bound; the
// watch saw the status before the kubelet's call posting it returned; a
// second-truncated API time before the watch's) is moved to the nearest
// time that keeps the order, so that its segment is zero rather than
// negative and the next one takes the rest.
//
// It returns nil when no pod counts.
func PhaseBars(r *analysis.Run) []PhaseBar {
	pct, err := measurements.NearestRank(StartupSamples(r))
	if err != nil {
		return nil
	}
	at := []struct {
		label string
		value time.Duration
	}{{"p50", pct.P50}, {"p90", pct.P90}, {"p99", pct.P99}}
	pods := make([]analysis.Pod, len(at))
	probes := true
	for i, a := range at {
		pods[i] = podAt(r.Pods, r.PodTimestamps, a.value)
		probes = probes && hasProbes(pods[i])
	}
	bars := make([]PhaseBar, len(at))
	for i, a := range at {
		segments := watchSegments(pods[i], r.PodTimestamps)
		if probes {
			segments = probeSegments(pods[i], r.PodTimestamps)
		}
		bars[i] = PhaseBar{Label: a.label, Segments: segments}
	}
	return bars
}

// podAt is the first counted pod whose startup is d; d is one of the
// samples, so there is one.
func podAt(pods []analysis.Pod, src measurements.TimestampSource, d time.Duration) analysis.Pod {
	for _, p := range pods {
		if s, ok := startup(p, src); ok && s == d {
			return p
		}
	}
	return analysis.Pod{}
}

func hasProbes(p analysis.Pod) bool {
	return !p.KubeletSeen.IsZero() && !p.StatusPosted.IsZero() && !containersStarted(p).IsZero()
}

// containersStarted is when the pod's last container started, or, when
// that was not recorded, when the kubelet saw the pod running.
func containersStarted(p analysis.Pod) time.Time {
	if p.ContainersStarted.IsZero() {
		return p.KubeletRunning
	}
	return p.ContainersStarted
}

// scheduledAt is when the pod was bound, as exactly as it is known: the
// watch's observation when recorded, else the API's.
func scheduledAt(p analysis.Pod) time.Time {
	if !p.WatchScheduled.IsZero() {
		return p.WatchScheduled
	}
	return p.APIScheduled
}

func probeSegments(p analysis.Pod, src measurements.TimestampSource) []Segment {
	ph := p.Phases(src)
	return stacked([]string{createToSchedule, scheduleToSeen, seenToStarted, startedToPosted, postedToWatch},
		ph.Create, scheduledAt(p), p.KubeletSeen, containersStarted(p), p.StatusPosted, ph.Watch)
}

// watchSegments are the SLO measurement's own phases. Under watch times
// run and watch are one event, so there are two. Under the API's, a pod
// whose containers' start time is missing counts it as started when
// scheduled, putting all of schedule→watch in run→watch.
func watchSegments(p analysis.Pod, src measurements.TimestampSource) []Segment {
	ph := p.Phases(src)
	scheduled := scheduledAt(p)
	if src == measurements.WatchTimes {
		return stacked([]string{createToSchedule, scheduleToWatch}, ph.Create, scheduled, ph.Watch)
	}
	run := ph.Run
	if run.IsZero() {
		run = scheduled
	}
	return stacked([]string{createToSchedule, scheduleToRun, runToWatch}, ph.Create, scheduled, run, ph.Watch)
}

// stacked is the segments between consecutive bounds, the first bound
// being the pod's creation and the last its watch time. Each inner bound
// is kept between the one before it and the last, so no segment is
// negative and they add up to last − first.
func stacked(names []string, bounds ...time.Time) []Segment {
	last := bounds[len(bounds)-1]
	prev := bounds[0]
	out := make([]Segment, len(names))
	for i, name := range names {
		b := last
		if i+1 < len(names) {
			b = earlier(later(bounds[i+1], prev), last)
		}
		out[i] = Segment{name, max(b.Sub(prev), 0)}
		prev = later(b, prev)
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// PodTimeline counts, over time, the pods r.Pods has seen created,
// scheduled and running (under the run's definition; running is always
// the watch's), each series a cumulative count
// with one point per distinct time. Times are since start, the run's start
// when its record has one, else the first pod's creation, so that the
// other timelines of the run can share it. A series no pod reached is left
// out.
func PodTimeline(r *analysis.Run) (start time.Time, series []TimeSeries) {
	start = runStart(r)
	for _, s := range []struct {
		name string
		at   func(analysis.Pod) time.Time
	}{
		{"created", func(p analysis.Pod) time.Time { return p.Phases(r.PodTimestamps).Create }},
		{"scheduled", func(p analysis.Pod) time.Time { return p.Phases(r.PodTimestamps).Schedule }},
		{"running (watch)", func(p analysis.Pod) time.Time { return p.WatchRunning }},
	} {
		var times []time.Time
		for _, p := range r.Pods {
			if t := s.at(p); !t.IsZero() {
				times = append(times, t)
			}
		}
		if len(times) > 0 {
			series = append(series, TimeSeries{Name: s.name, Points: cumulative(times, start)})
		}
	}
	return start, series
}

func runStart(r *analysis.Run) time.Time {
	if r.Record != nil && !r.Record.Started.IsZero() {
		return r.Record.Started
	}
	var first time.Time
	for _, p := range r.Pods {
		if c := p.Phases(r.PodTimestamps).Create; !c.IsZero() && (first.IsZero() || c.Before(first)) {
			first = c
		}
	}
	return first
}

// cumulative is how many of times had passed at each distinct one.
func cumulative(times []time.Time, start time.Time) []Point {
	slices.SortFunc(times, time.Time.Compare)
	var out []Point
	for i, t := range times {
		pt := Point{T: t.Sub(start), V: float64(i + 1)}
		if n := len(out); n > 0 && out[n-1].T == pt.T {
			out[n-1] = pt
			continue
		}
		out = append(out, pt)
	}
	return out
}

// ThroughputSeries is scheduling throughput in pods/s: a point at each
// interval's end with the rate over the interval ending there, after one
// at the first interval's start with its rate. Drawn with StepBefore, each
// rate then spans its whole interval. It is nil when the run has no
// intervals.
func ThroughputSeries(r *analysis.Run, start time.Time) []TimeSeries {
	if len(r.Throughput) == 0 {
		return nil
	}
	first := r.Throughput[0]
	s := TimeSeries{Name: "scheduling throughput", Points: []Point{{T: first.Start.Sub(start), V: first.PerSecond}}}
	for _, in := range r.Throughput {
		s.Points = append(s.Points, Point{T: in.End.Sub(start), V: in.PerSecond})
	}
	return []TimeSeries{s}
}

const mib = 1 << 20

// UsageSeries are the control-plane components' CPU use in cores and
// resident memory in MiB over time, one series per component, by name.
// A CPU value is the average since the component's previous sample, at the
// later sample's time, and the first also at the earlier one's: drawn with
// StepBefore, each value spans the interval it averages. A component's
// first sample has no CPU value of its own.
func UsageSeries(r *analysis.Run, start time.Time) (cpu, mem []TimeSeries) {
	byComponent := map[string][]analysis.UsageSample{}
	for _, s := range r.Usage {
		byComponent[s.Component] = append(byComponent[s.Component], s)
	}
	for _, name := range slices.Sorted(maps.Keys(byComponent)) {
		samples := slices.SortedStableFunc(slices.Values(byComponent[name]),
			func(a, b analysis.UsageSample) int { return a.Time.Compare(b.Time) })
		c, m := TimeSeries{Name: name}, TimeSeries{Name: name}
		for i, s := range samples {
			if s.HasCPU {
				if len(c.Points) == 0 && i > 0 {
					c.Points = append(c.Points, Point{T: samples[i-1].Time.Sub(start), V: s.CPUCores})
				}
				c.Points = append(c.Points, Point{T: s.Time.Sub(start), V: s.CPUCores})
			}
			m.Points = append(m.Points, Point{T: s.Time.Sub(start), V: s.RSSBytes / mib})
		}
		if len(c.Points) > 0 {
			cpu = append(cpu, c)
		}
		mem = append(mem, m)
	}
	return cpu, mem
}

// APIBars are the p99 latency of each API call kind in its worst window,
// the SLO's figure (over the whole run for results from before windows),
// in the table's order (SortedBars sorts them).
func APIBars(r *analysis.Run) []Bar {
	calls := r.APIWorst
	if len(calls) == 0 {
		calls = r.APICalls
	}
	var out []Bar
	for _, c := range calls {
		out = append(out, Bar{Label: c.Kind.String(), Value: c.P99})
	}
	return out
}

// APILines are the API call latency SLO's thresholds, for SortedBars,
// taken from the measurement so that they cannot drift from the checks.
func APILines() []Line {
	var out []Line
	for _, k := range []struct {
		kind measurements.CallKind
		what string
	}{
		{measurements.CallKind{Verb: "GET", Scope: "resource"}, "single object"},
		{measurements.CallKind{Verb: "LIST", Scope: "namespace"}, "namespace LIST"},
		{measurements.CallKind{Verb: "LIST", Scope: "cluster"}, "cluster LIST"},
	} {
		d := k.kind.Threshold()
		out = append(out, Line{Label: fmt.Sprintf("%s: %s", d, k.what), Value: d})
	}
	return out
}
