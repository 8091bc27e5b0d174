package measurements

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/results"
)

// APIResponsiveness is the API call latency SLO, read from the API server's
// own SLI histogram: scraped at Start and at Gather, the difference is what
// the run did. No Prometheus server is needed.
type APIResponsiveness struct {
	Client kubernetes.Interface
	start  map[CallKind]Histogram
}

func (m *APIResponsiveness) Name() string { return "APIResponsiveness" }

func (m *APIResponsiveness) scrape(ctx context.Context) (map[CallKind]Histogram, error) {
	raw, err := m.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("scraping the API server's metrics: %w", err)
	}
	return ParseSLIHistograms(bytes.NewReader(raw))
}

// Start takes the first scrape.
func (m *APIResponsiveness) Start(ctx context.Context) (err error) {
	m.start, err = m.scrape(ctx)
	return err
}

// Gather takes the second scrape and reports, per call kind within the
// SLO, the count, the slow count and interpolated percentiles, with a
// check of p99 against the kind's threshold.
func (m *APIResponsiveness) Gather(ctx context.Context) (*Summary, error) {
	end, err := m.scrape(ctx)
	if err != nil {
		return nil, err
	}
	diff, err := Diff(m.start, end)
	if err != nil {
		return nil, err
	}
	kinds := make([]CallKind, 0, len(diff))
	for k := range diff {
		if k.InSLO() {
			kinds = append(kinds, k)
		}
	}
	slices.SortFunc(kinds, func(a, b CallKind) int { return strings.Compare(a.String(), b.String()) })
	sum := &Summary{PerfData: results.NewPerfData(), Tables: map[string][][]string{
		"api_calls.csv":   {{"verb", "group", "version", "resource", "subresource", "scope", "count", "slow", "p50_ms", "p90_ms", "p99_ms", "threshold_ms"}},
		"api_buckets.csv": {{"verb", "group", "version", "resource", "subresource", "scope", "le_seconds", "cumulative_count"}},
	}}
	for _, k := range kinds {
		h := diff[k]
		p50, p90, p99 := h.Quantile(0.5), h.Quantile(0.9), h.Quantile(0.99)
		id := []string{k.Verb, k.Group, k.Version, k.Resource, k.Subresource, k.Scope}
		sum.Tables["api_calls.csv"] = append(sum.Tables["api_calls.csv"], append(slices.Clone(id),
			strconv.FormatUint(h.Count, 10), strconv.FormatUint(h.SlowerThan(k.Threshold()), 10),
			millis(p50), millis(p90), millis(p99), millis(k.Threshold())))
		for _, b := range h.Buckets {
			sum.Tables["api_buckets.csv"] = append(sum.Tables["api_buckets.csv"], append(slices.Clone(id),
				bound(b.UpperBound), strconv.FormatUint(b.Count, 10)))
		}
		sum.PerfData.DataItems = append(sum.PerfData.DataItems, results.LatencyItem(p50, p90, p99, map[string]string{
			"Metric": "APIResponsiveness", "Verb": k.Verb, "Resource": k.Resource, "Subresource": k.Subresource,
			"Scope": k.Scope, "Count": strconv.FormatUint(h.Count, 10)}))
		sum.Checks = append(sum.Checks, results.Check{SLO: "APIResponsiveness " + k.String(),
			Thresholds: results.Thresholds{P99: k.Threshold()},
			Measured:   results.Percentiles{Count: int(h.Count), P50: p50, P90: p90, P99: p99}})
	}
	return sum, nil
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
