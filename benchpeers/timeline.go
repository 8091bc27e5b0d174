package benchpeers

import (
	"cmp"
	"context"
	"encoding/csv"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"k8s.io/client-go/rest"

	"github.com/hollowmark/hollowmark/plots"
	"github.com/hollowmark/hollowmark/results"
)

// Sample is one point of a run's timeline: the values of its columns at T
// seconds after the pods' Deployments were created. A sample holds either
// the pods and processes or the API server's metrics; a column is missing
// when its stream was not read then (and a rate needs the scrape before).
type Sample struct {
	T      float64
	Values map[string]float64
}

// Timeline columns. Per-process and per-label columns are the prefix, a
// colon and the process or label, e.g. "cpu_cores:kube-apiserver",
// "requests_per_s:system-nodes".
const (
	colCreated  = "pods_created"  // pods ever seen by our watch (ADDED): created by the ReplicaSet controller
	colBound    = "pods_bound"    // pods ever seen with spec.nodeName: bound by the scheduler
	colRunning  = "pods_running"  // pods in phase Running now: the emulator's status
	colExisting = "pods_existing" // pods that exist now
	colDeleted  = "pods_deleted"  // pods ever seen deleted
	colCPU      = "cpu_cores"     // CPU of a process over the second before, from /proc
	colRSS      = "rss_mib"       // resident memory of a process, from /proc
	colWatches  = "watches"       // open WATCH requests at the API server
	colInflight = "inflight"      // apiserver_current_inflight_requests by request_kind
	colExec     = "executing"     // APF requests executing, by priority level
	colQueued   = "inqueue"       // APF requests waiting, by priority level
	colRPS      = "requests_per_s"
	colScrape   = "scrape_s" // how long the /metrics scrape took: its cost is in the figures too
)

// emulatorProcess is the emulator's name among the processes sampled, the
// same for both emulators, so that their timelines have the same columns.
const emulatorProcess = "emulator"

// sampler takes samples every interval in two streams: the pod counts
// with each process's CPU and memory, which are cheap to read, and the API
// server's metrics, whose scrape can take seconds when the server is busy.
// Each stream keeps its own pace, so that a slow scrape does not coarsen
// the other; a sample holds one stream's columns, at the time it was read.
type sampler struct {
	metrics  rest.Interface
	pids     map[string]int
	pods     *podTracker
	interval time.Duration
	start    time.Time
	log      *zap.Logger

	// taking and scraping serialize takeLocal and takeMetrics: the
	// tickers' and marks'.
	taking, scraping sync.Mutex
	mu               sync.Mutex
	// samples are read by timeline while run appends.
	samples []Sample
	// The previous readings, for rates.
	procs      map[string]procSample
	dispatched map[string]float64
	scrapedAt  time.Time
}

// run samples until ctx ends.
func (s *sampler) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, take := range []func(context.Context){s.takeLocal, s.takeMetrics} {
		wg.Go(func() {
			take(ctx)
			tick := time.NewTicker(s.interval)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					take(ctx)
				}
			}
		})
	}
	wg.Wait()
}

// mark samples both streams now. The run marks the moments its waits end
// (every pod Running, none left), so that the timeline holds them exactly.
func (s *sampler) mark(ctx context.Context) {
	s.takeLocal(ctx)
	s.takeMetrics(ctx)
}

// takeLocal records the pod counts and the processes now.
func (s *sampler) takeLocal(_ context.Context) {
	s.taking.Lock()
	defer s.taking.Unlock()
	now := time.Now()
	v := map[string]float64{}
	c := s.pods.snapshot()
	v[colCreated], v[colBound], v[colRunning], v[colExisting], v[colDeleted] =
		float64(c.Created), float64(c.Bound), float64(c.Running), float64(c.Existing), float64(c.Deleted)
	for name, pid := range s.pids {
		p, err := readProc(pid)
		if err != nil {
			continue // it exited; the run notices
		}
		if prev, ok := s.procs[name]; ok {
			v[colCPU+":"+name] = cores(prev, p)
		}
		v[colRSS+":"+name] = float64(p.RSSBytes) / mib
		s.procs[name] = p
	}
	s.add(now, v)
}

// takeMetrics scrapes the API server; the sample is at the time the
// request was sent.
func (s *sampler) takeMetrics(ctx context.Context) {
	s.scraping.Lock()
	defer s.scraping.Unlock()
	begin := time.Now()
	m, err := scrapeAPIMetrics(ctx, s.metrics)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Debug("timeline scrape failed", zap.Error(err))
		}
		return
	}
	v := map[string]float64{colScrape: time.Since(begin).Seconds()}
	s.addMetrics(v, m, begin)
	s.add(begin, v)
}

func (s *sampler) add(at time.Time, v map[string]float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, Sample{T: at.Sub(s.start).Seconds(), Values: v})
}

func (s *sampler) addMetrics(v map[string]float64, m apiMetrics, at time.Time) {
	v[colWatches] = m.Watches
	for k, x := range m.Inflight {
		v[colInflight+":"+k] = x
	}
	for k, x := range m.Executing {
		v[colExec+":"+k] = x
	}
	for k, x := range m.InQueue {
		v[colQueued+":"+k] = x
	}
	if s.dispatched != nil {
		wall := at.Sub(s.scrapedAt).Seconds()
		for k, x := range m.Dispatched {
			v[colRPS+":"+k] = (x - s.dispatched[k]) / wall
		}
	}
	s.dispatched, s.scrapedAt = m.Dispatched, at
}

// timeline returns the samples in time order.
func (s *sampler) timeline() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.SortedStableFunc(slices.Values(s.samples), func(a, b Sample) int { return cmp.Compare(a.T, b.T) })
}

// columnOrder ranks column prefixes for the CSV: pods first, then
// processes, then the API server's figures.
var columnOrder = []string{colCreated, colBound, colRunning, colExisting, colDeleted, colCPU, colRSS,
	colWatches, colInflight, colExec, colQueued, colRPS, colScrape}

// columns are the union of the samples' columns, in columnOrder, then by
// name.
func columns(samples []Sample) []string {
	set := map[string]bool{}
	for _, s := range samples {
		for k := range s.Values {
			set[k] = true
		}
	}
	rank := func(col string) int {
		prefix, _, _ := strings.Cut(col, ":")
		if i := slices.Index(columnOrder, prefix); i >= 0 {
			return i
		}
		return len(columnOrder)
	}
	return slices.SortedFunc(maps.Keys(set), func(a, b string) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
	})
}

// writeTimelineCSV writes one line per sample, a column per value; an
// empty cell is a value not read at that moment.
func writeTimelineCSV(path string, samples []Sample) error {
	cols := columns(samples)
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(append([]string{"t_s"}, cols...))
	for _, s := range samples {
		row := []string{strconv.FormatFloat(s.T, 'f', 3, 64)}
		for _, c := range cols {
			cell := ""
			if x, ok := s.Values[c]; ok {
				cell = strconv.FormatFloat(x, 'g', 6, 64)
			}
			row = append(row, cell)
		}
		_ = w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return results.WriteFile(path, []byte(b.String()))
}

// topFlows is how many flow schemas the requests panel names; the rest
// are summed as "other".
const topFlows = 6

// drawTimeline draws the run's timeline: pods, CPU per process, the API
// server's requests in flight and executing, and requests per second by
// flow schema, over the same time axis.
func drawTimeline(path, title string, samples []Sample) error {
	cols := columns(samples)
	series := func(prefix string, names []string) []plots.TimeSeries {
		var out []plots.TimeSeries
		for _, c := range cols {
			p, label, _ := strings.Cut(c, ":")
			if p != prefix || (names != nil && !slices.Contains(names, label)) {
				continue
			}
			out = append(out, line(samples, c, label))
		}
		return out
	}
	pods := []plots.TimeSeries{line(samples, colCreated, "created"), line(samples, colBound, "bound"),
		line(samples, colRunning, "running"), line(samples, colExisting, "existing")}
	inflight := append(series(colInflight, nil), sumLine(samples, colQueued, "queued (APF, all levels)"))
	panels := []plots.Panel{
		{Title: title, YLabel: "pods", Series: pods},
		{YLabel: "CPU (cores)", Series: series(colCPU, nil)},
		{YLabel: "requests in flight", Series: nonZero(inflight)},
		{YLabel: "executing (APF level)", Series: nonZero(series(colExec, nil))},
		{YLabel: "requests/s (flow schema)", Series: flowSeries(samples, cols)},
	}
	return plots.Panels(path, panels, plots.XLabel("seconds since the Deployments were created"))
}

// line is one column over time; samples without it leave a gap.
func line(samples []Sample, col, name string) plots.TimeSeries {
	ts := plots.TimeSeries{Name: name}
	for _, s := range samples {
		if v, ok := s.Values[col]; ok {
			ts.Points = append(ts.Points, plots.Point{T: seconds(s.T), V: v})
		}
	}
	return ts
}

// sumLine is the sum of all columns with prefix, at each sample that has
// any.
func sumLine(samples []Sample, prefix, name string) plots.TimeSeries {
	ts := plots.TimeSeries{Name: name}
	for _, s := range samples {
		total, found := 0.0, false
		for k, v := range s.Values {
			if strings.HasPrefix(k, prefix+":") {
				total, found = total+v, true
			}
		}
		if found {
			ts.Points = append(ts.Points, plots.Point{T: seconds(s.T), V: total})
		}
	}
	return ts
}

// flowSeries are the busiest flow schemas' request rates, and the rest
// summed.
func flowSeries(samples []Sample, cols []string) []plots.TimeSeries {
	totals := map[string]float64{}
	for _, c := range cols {
		if strings.HasPrefix(c, colRPS+":") {
			for _, s := range samples {
				totals[c] += s.Values[c]
			}
		}
	}
	ranked := slices.SortedFunc(maps.Keys(totals), func(a, b string) int {
		return cmp.Or(cmp.Compare(totals[b], totals[a]), cmp.Compare(a, b))
	})
	var out []plots.TimeSeries
	for i, c := range ranked {
		if i == topFlows || totals[c] == 0 {
			break
		}
		_, label, _ := strings.Cut(c, ":")
		out = append(out, line(samples, c, label))
	}
	if len(ranked) > topFlows {
		other := plots.TimeSeries{Name: "other"}
		for _, s := range samples {
			total, found := 0.0, false
			for _, c := range ranked[topFlows:] {
				if v, ok := s.Values[c]; ok {
					total, found = total+v, true
				}
			}
			if found {
				other.Points = append(other.Points, plots.Point{T: seconds(s.T), V: total})
			}
		}
		out = append(out, other)
	}
	return nonZero(out)
}

// nonZero leaves out series that are zero throughout: an idle priority
// level would only crowd the legend.
func nonZero(series []plots.TimeSeries) []plots.TimeSeries {
	return slices.DeleteFunc(series, func(s plots.TimeSeries) bool {
		return !slices.ContainsFunc(s.Points, func(p plots.Point) bool { return p.V != 0 })
	})
}

func seconds(s float64) time.Duration {
	return time.Duration(math.Round(s * float64(time.Second)))
}
