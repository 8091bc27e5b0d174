package measurements

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/results"
)

// Defaults of APIResponsiveness.
const (
	// DefaultScrapeInterval is how often the API server's metrics are read:
	// the step of the sliding windows.
	DefaultScrapeInterval = 30 * time.Second
	// DefaultWindow is the SLI's window: "p99 over the last 5 minutes".
	DefaultWindow = 5 * time.Minute
	scrapeTimeout = 20 * time.Second
)

// Spans of the API call table: the SLO is checked on the worst window; the
// whole run is there to read beside it.
const (
	SpanWorstWindow = "worst_window"
	SpanWholeRun    = "whole_run"
)

// APIResponsiveness is the API call latency SLO, read from the API server's
// own SLI histogram. The histograms are cumulative, so scraping them at
// Start, every ScrapeInterval and at Gather gives what each interval
// recorded; sums of intervals form sliding windows of Window, the way a
// Prometheus rate(...[5m]) evaluated at every scrape sees them. No
// Prometheus server is needed.
type APIResponsiveness struct {
	Client         kubernetes.Interface
	ScrapeInterval time.Duration // zero means DefaultScrapeInterval
	Window         time.Duration // zero means DefaultWindow
	// NotEnforced reports the checks without letting them fail the run.
	NotEnforced bool

	mu      sync.Mutex
	scrapes []Scrape
	failed  int   // periodic scrapes that failed
	lastErr error // of the last failed one
	cancel  context.CancelFunc
	done    chan struct{}
}

// APIResponsivenessName names the method; its checks are named after it
// and the call kind (APIResponsivenessCheck).
const APIResponsivenessName = "APIResponsiveness"

// APIResponsivenessCheck names the check of one call kind.
func APIResponsivenessCheck(kind string) string { return APIResponsivenessName + " " + kind }

func apiResponsivenessMethod() Method {
	scrape := DurationParam("scrapeInterval", DefaultScrapeInterval, "how often the API server's metrics are read: the step of the windows")
	window := DurationParam("window", DefaultWindow, "the sliding window the SLO is checked on")
	enforce := BoolParam("enforce", true, "whether a violated check fails the run; with false the checks are "+
		"reported, marked not enforced, and change no verdict (ClusterLoader2's `enableViolations: false`)")
	return Method{
		Name: APIResponsivenessName,
		Doc: "API call latency from the API server's `apiserver_request_sli_duration_seconds`, scraped at start, every " +
			"`scrapeInterval` and at gather; per (verb, resource, subresource, scope) count, slow count, p50/p90/p99 " +
			"interpolated linearly within the bucket holding the rank (as Prometheus' `histogram_quantile`), over every " +
			"sliding `window` and over the whole run; the worst window's p99 checked against 1 s (single object), 5 s " +
			"(namespace LIST), 30 s (cluster LIST); WATCH and streaming subresources excluded; restarts of the API server " +
			"split the windows",
		Params: []ParamSpec{scrape, window, enforce},
		Start: func(p Params, d Deps) (Measurement, error) {
			return &APIResponsiveness{Client: d.Client, ScrapeInterval: scrape.Get(p), Window: window.Get(p), NotEnforced: !enforce.Get(p)}, nil
		},
	}
}

func (m *APIResponsiveness) Name() string { return APIResponsivenessName }

// notEnforced is why the checks change no verdict, if they do not.
func (m *APIResponsiveness) notEnforced() string {
	if m.NotEnforced {
		return "enforce: false"
	}
	return ""
}

func (m *APIResponsiveness) scrape(ctx context.Context) (Scrape, error) {
	raw, err := m.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return Scrape{}, fmt.Errorf("scraping the API server's metrics: %w", err)
	}
	return ParseScrape(bytes.NewReader(raw), time.Now())
}

// Start takes the first scrape and keeps scraping until Gather.
func (m *APIResponsiveness) Start(ctx context.Context) error {
	if m.ScrapeInterval <= 0 {
		m.ScrapeInterval = DefaultScrapeInterval
	}
	if m.Window <= 0 {
		m.Window = DefaultWindow
	}
	first, err := m.scrape(ctx)
	if err != nil {
		return err
	}
	m.scrapes = []Scrape{first}
	// The scrapes outlive Start's context: they run until Gather.
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel, m.done = cancel, make(chan struct{})
	go m.loop(loopCtx)
	return nil
}

// loop scrapes every ScrapeInterval. A failed scrape is counted and
// skipped: the windows around it come out one interval longer.
func (m *APIResponsiveness) loop(ctx context.Context) {
	defer close(m.done)
	tick := time.NewTicker(m.ScrapeInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		sctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
		s, err := m.scrape(sctx)
		cancel()
		m.mu.Lock()
		if err == nil {
			m.scrapes = append(m.scrapes, s)
		} else if ctx.Err() == nil {
			m.failed, m.lastErr = m.failed+1, err
		}
		m.mu.Unlock()
	}
}

// Gather stops the periodic scrapes, takes the last one and reports, per
// call kind within the SLO, the worst window and the whole run: count,
// slow count and interpolated percentiles, with a check of the worst
// window's p99 against the kind's threshold. If the last scrape fails, the
// figures end at the one before it.
func (m *APIResponsiveness) Gather(ctx context.Context) (*Summary, error) {
	m.cancel()
	<-m.done
	var notes []string
	last, err := m.scrape(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case err == nil:
		m.scrapes = append(m.scrapes, last)
	case len(m.scrapes) < 2:
		return nil, err
	default:
		notes = append(notes, fmt.Sprintf("The last scrape failed (%v): the figures end at %s.",
			err, m.scrapes[len(m.scrapes)-1].At.UTC().Format(time.RFC3339)))
	}
	if m.failed > 0 {
		notes = append(notes, fmt.Sprintf("%d periodic scrapes failed (the last: %v); the windows around them are longer.",
			m.failed, m.lastErr))
	}
	return m.summarize(Intervals(m.scrapes), notes), nil
}

func (m *APIResponsiveness) summarize(intervals []Interval, notes []string) *Summary {
	windows := Windows(intervals, m.Window)
	worst, whole := Worst(windows), Total(intervals)
	sum := &Summary{PerfData: results.NewPerfData(), Tables: map[string][][]string{
		"api_calls.csv":     {append(append([]string{"span", "window_start", "window_end"}, callKindHeader...), statsHeader...)},
		"api_buckets.csv":   {append(slices.Clone(callKindHeader), "le_seconds", "cumulative_count")},
		"api_windows.csv":   {append(append([]string{"window_start", "window_end"}, callKindHeader...), statsHeader...)},
		"api_intervals.csv": {append(append([]string{"interval_start", "interval_end", "restarted"}, callKindHeader...), "le_seconds", "cumulative_count")},
	}, Definitions: map[string]string{"window": m.Window.String(), "scrapeInterval": m.ScrapeInterval.String()},
		Notes: append(m.notes(intervals, windows), notes...)}
	for _, k := range sliKinds(whole.Kinds) {
		w := worst[k]
		addRow(sum, SpanWorstWindow, "worst "+shortDuration(m.Window)+" window", w.Start, w.End, k, w.Kinds[k])
		addRow(sum, SpanWholeRun, "whole run", whole.Start, whole.End, k, whole.Kinds[k])
		h := w.Kinds[k]
		sum.Checks = append(sum.Checks, results.Check{SLO: APIResponsivenessCheck(k.String()),
			Thresholds: results.Thresholds{P99: k.Threshold()},
			Measured:   results.Percentiles{Count: int(h.Count), P50: h.Quantile(0.5), P90: h.Quantile(0.9), P99: h.Quantile(0.99)},
			Intervals:  h.Intervals(), NotEnforced: m.notEnforced()})
		for _, b := range whole.Kinds[k].Buckets {
			sum.Tables["api_buckets.csv"] = append(sum.Tables["api_buckets.csv"], append(k.columns(), bound(b.UpperBound), strconv.FormatUint(b.Count, 10)))
		}
	}
	for _, w := range windows {
		for _, k := range sliKinds(w.Kinds) {
			sum.Tables["api_windows.csv"] = append(sum.Tables["api_windows.csv"],
				append(append([]string{stamp(w.Start), stamp(w.End)}, k.columns()...), callStats(k, w.Kinds[k])...))
		}
	}
	for _, in := range intervals {
		for _, k := range sliKinds(in.Kinds) {
			for _, b := range in.Kinds[k].Buckets {
				sum.Tables["api_intervals.csv"] = append(sum.Tables["api_intervals.csv"], append(append(
					[]string{stamp(in.Start), stamp(in.End), strconv.FormatBool(in.Restarted)}, k.columns()...),
					bound(b.UpperBound), strconv.FormatUint(b.Count, 10)))
			}
		}
	}
	return sum
}

// addRow adds one span of one call kind to the call table and the PerfData.
func addRow(s *Summary, span, label string, start, end time.Time, k CallKind, h Histogram) {
	s.Tables["api_calls.csv"] = append(s.Tables["api_calls.csv"],
		append(append([]string{span, stamp(start), stamp(end)}, k.columns()...), callStats(k, h)...))
	s.PerfData.DataItems = append(s.PerfData.DataItems, results.LatencyItem(h.Quantile(0.5), h.Quantile(0.9), h.Quantile(0.99),
		map[string]string{"Metric": "APIResponsiveness", "Span": label, "Verb": k.Verb, "Resource": k.Resource,
			"Subresource": k.Subresource, "Scope": k.Scope, "Count": strconv.FormatUint(h.Count, 10),
			"SlowCount": strconv.FormatUint(h.SlowerThan(k.Threshold()), 10)}))
}

// notes say how the windows came out: their number, a run shorter than
// one window, and restarts.
func (m *APIResponsiveness) notes(intervals []Interval, windows []Window) []string {
	out := []string{fmt.Sprintf("The SLO check is on each call kind's worst window: of the %d sliding %s windows "+
		"(one ending at each scrape, every %s), the one with the highest p99. The whole run, from start to gather, is "+
		"ClusterLoader2's APIResponsivenessPrometheus_simple figure.", len(windows), shortDuration(m.Window), shortDuration(m.ScrapeInterval))}
	if len(intervals) > 0 {
		if run := intervals[len(intervals)-1].End.Sub(intervals[0].Start); run < m.Window {
			out = append(out, fmt.Sprintf("The run was shorter than one window (%s): its one window is the whole run.",
				run.Round(time.Second)))
		}
	}
	for _, in := range intervals {
		if in.Restarted {
			out = append(out, fmt.Sprintf("The API server restarted between %s and %s: no window spans the restart, "+
				"and its calls between %s and the restart are not counted.", stamp(in.Start), stamp(in.End), stamp(in.Start)))
		}
	}
	return out
}

var (
	callKindHeader = []string{"verb", "resource", "subresource", "scope"}
	statsHeader    = []string{"count", "slow", "p50_ms", "p90_ms", "p99_ms", "threshold_ms"}
)

func (k CallKind) columns() []string {
	return []string{k.Verb, k.Resource, k.Subresource, k.Scope}
}

// callStats are a histogram's figures in statsHeader's order.
func callStats(k CallKind, h Histogram) []string {
	return []string{strconv.FormatUint(h.Count, 10), strconv.FormatUint(h.SlowerThan(k.Threshold()), 10),
		millis(h.Quantile(0.5)), millis(h.Quantile(0.9)), millis(h.Quantile(0.99)), millis(k.Threshold())}
}

// sliKinds are the call kinds within the SLO, sorted.
func sliKinds(kinds map[CallKind]Histogram) []CallKind {
	var out []CallKind
	for k := range kinds {
		if k.InSLO() {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b CallKind) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// shortDuration writes 5m rather than 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

func bound(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(le, 'g', -1, 64)
}
