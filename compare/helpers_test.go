package compare

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hollowmark/hollowmark/analysis"
	"github.com/hollowmark/hollowmark/measurements"
	"github.com/hollowmark/hollowmark/results"
)

// dist is a latency distribution in milliseconds: normal, or log-normal
// with the given median and log-scale sigma when lognormal is set.
type dist struct {
	mean, sd  float64
	lognormal bool
}

func (d dist) draw(rng *rand.Rand) float64 {
	if d.lognormal {
		return d.mean * math.Exp(d.sd*rng.NormFloat64())
	}
	return max(1, d.mean+d.sd*rng.NormFloat64())
}

var (
	fast = dist{mean: 50, sd: 10}
	slow = dist{mean: 1000, sd: 100}
	// tail is long-tailed like real pod startup: median 800 ms, p99 ~2.6 s.
	tail = dist{mean: 800, sd: 0.5, lognormal: true}
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func msDuration(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// startupPods are n stateless pods whose startup is drawn from d, split
// into about 10% scheduling, 70% until containers started and 20% until
// watched. The watch sees each phase when it happens; the API's times are
// the same, truncated to the second, the watch's creation 300 ms late.
func startupPods(rng *rand.Rand, n int, d dist) []analysis.Pod {
	pods := make([]analysis.Pod, n)
	for i := range pods {
		total := d.draw(rng)
		toSchedule := total * 0.1 * (0.8 + 0.4*rng.Float64())
		toRun := total * 0.7 * (0.8 + 0.4*rng.Float64())
		created := t0.Add(time.Duration(i) * 200 * time.Millisecond)
		scheduled, run := created.Add(msDuration(toSchedule)), created.Add(msDuration(toSchedule+toRun))
		pods[i] = analysis.Pod{Namespace: "ns", Name: "pod", Stateless: true, PodTimes: measurements.PodTimes{
			WatchCreated: created.Add(300 * time.Millisecond), WatchScheduled: scheduled.Add(300 * time.Millisecond),
			WatchRunning: created.Add(msDuration(total)).Add(300 * time.Millisecond),
			APICreated:   created.Truncate(time.Second), APIScheduled: scheduled.Truncate(time.Second), APIRun: run.Truncate(time.Second)}}
	}
	return pods
}

// histogramOf buckets observations (seconds) as the API server does.
func histogramOf(obs []float64) measurements.Histogram {
	bounds := []float64{0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60, math.Inf(1)}
	h := measurements.Histogram{Count: uint64(len(obs))}
	for _, b := range bounds {
		var n uint64
		for _, o := range obs {
			if o <= b {
				n++
			}
		}
		h.Buckets = append(h.Buckets, measurements.Bucket{UpperBound: b, Count: n})
	}
	return h
}

func apiCall(kind measurements.CallKind, h measurements.Histogram) analysis.APICall {
	return analysis.APICall{Kind: kind, Count: h.Count, P99: h.Quantile(0.99), Threshold: kind.Threshold(), Histogram: h}
}

var (
	getPods   = measurements.CallKind{Verb: "GET", Resource: "pods", Scope: "namespace"}
	listNodes = measurements.CallKind{Verb: "LIST", Resource: "nodes", Scope: "cluster"}
	watchPods = measurements.CallKind{Verb: "WATCH", Resource: "pods", Scope: "namespace"}
)

// observations draws n API call latencies in seconds from d (in ms).
func observations(rng *rand.Rand, n int, d dist) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = d.draw(rng) / 1000
	}
	return out
}

// syntheticRun is a run with every table, its pods' startup drawn from
// startup and everything else from fixed distributions, from a seed.
func syntheticRun(id string, seed uint64, startup dist) *analysis.Run {
	rng := rand.New(rand.NewPCG(seed, 42))
	r := &analysis.Run{Dir: "runs/" + id, Record: &results.Run{ID: id}, Pods: startupPods(rng, 200, startup),
		PodTimestamps: measurements.WatchTimes}
	r.APICalls = []analysis.APICall{
		apiCall(getPods, histogramOf(observations(rng, 3000, dist{mean: 30, sd: 0.8, lognormal: true}))),
		apiCall(listNodes, histogramOf(observations(rng, 600, dist{mean: 150, sd: 0.5, lognormal: true}))),
	}
	for i := range 30 {
		start := t0.Add(time.Duration(i) * 5 * time.Second)
		r.Throughput = append(r.Throughput, analysis.Interval{Start: start, End: start.Add(5 * time.Second),
			PerSecond: max(0, 100+10*rng.NormFloat64())})
	}
	for _, c := range []struct {
		name      string
		cores, mb float64
	}{{"etcd", 0.2, 60}, {"kube-apiserver", 0.8, 400}} {
		for i := range 60 {
			s := analysis.UsageSample{Time: t0.Add(time.Duration(i) * 5 * time.Second), Component: c.name,
				RSSBytes: (c.mb + 3*rng.NormFloat64()) * mib}
			if i > 0 {
				s.CPUCores, s.HasCPU = max(0, c.cores*(1+0.1*rng.NormFloat64())), true
			}
			r.Usage = append(r.Usage, s)
		}
	}
	return r
}

// row finds a row by group and metric.
func row(t testing.TB, c *Comparison, group, metric string) Row {
	t.Helper()
	for _, r := range c.Rows {
		if r.Group == group && r.Metric == metric {
			return r
		}
	}
	t.Fatalf("no row %s / %s in %d rows", group, metric, len(c.Rows))
	return Row{}
}
