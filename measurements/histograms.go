package measurements

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// SLIMetric is the API server histogram the API call latency SLO is
// defined on.
const SLIMetric = "apiserver_request_sli_duration_seconds"

// CallKind is what the API call latency SLO is set per: ClusterLoader2's
// (resource, subresource, verb, scope). Series that differ in API group or
// version are summed, as CL2's queries do (`by (resource, subresource, verb,
// scope, le)`): core events and events.k8s.io events are one kind.
type CallKind struct {
	Resource, Subresource, Verb, Scope string
}

func (k CallKind) String() string {
	res := k.Resource
	if k.Subresource != "" {
		res += "/" + k.Subresource
	}
	return fmt.Sprintf("%s %s (%s)", k.Verb, res, k.Scope)
}

// streaming subresources are outside the SLO, as WATCH is.
var streaming = []string{"log", "exec", "attach", "portforward", "proxy"}

// InSLO reports whether calls of this kind count for the SLO: ClusterLoader2's
// filter, verb!="WATCH", subresource!~"log|exec|portforward|attach|proxy".
// (The API server reports watch-list requests as WATCH, and CONNECT only
// reaches the streaming subresources.)
func (k CallKind) InSLO() bool {
	return k.Verb != "WATCH" && !slices.Contains(streaming, k.Subresource)
}

// Threshold is the SLO's bound on the 99th percentile: 1 s for single-object
// calls, 5 s for namespace-scoped LIST, 30 s for cluster-scoped LIST.
func (k CallKind) Threshold() time.Duration {
	if k.Verb == "LIST" {
		if k.Scope == "namespace" {
			return 5 * time.Second
		}
		return 30 * time.Second
	}
	return time.Second
}

// Bucket is a cumulative histogram bucket.
type Bucket struct {
	UpperBound float64 // seconds; +Inf for the last
	Count      uint64  // observations <= UpperBound
}

// Histogram is one call kind's latency histogram.
type Histogram struct {
	Buckets []Bucket // by increasing bound, ending with +Inf
	Count   uint64
	Sum     float64
}

// processStart is the gauge that changes when the API server restarts.
const processStart = "process_start_time_seconds"

// ParseScrape reads a /metrics page taken at `at`: the SLI histograms and
// the process start time.
func ParseScrape(r io.Reader, at time.Time) (Scrape, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return Scrape{}, fmt.Errorf("parsing metrics: %w", err)
	}
	s := Scrape{At: at}
	if s.Kinds, err = sliHistograms(families); err != nil {
		return Scrape{}, err
	}
	if fam, ok := families[processStart]; ok && len(fam.GetMetric()) > 0 {
		s.ProcessStart = fam.GetMetric()[0].GetGauge().GetValue()
	}
	return s, nil
}

// sliHistograms are the SLI histograms by call kind, summing series that
// differ only in labels outside CallKind.
func sliHistograms(families map[string]*dto.MetricFamily) (map[CallKind]Histogram, error) {
	out := map[CallKind]Histogram{}
	fam, ok := families[SLIMetric]
	if !ok {
		return out, nil
	}
	if fam.GetType() != dto.MetricType_HISTOGRAM {
		return nil, fmt.Errorf("%s is a %s, not a histogram", SLIMetric, fam.GetType())
	}
	for _, m := range fam.GetMetric() {
		kind := callKind(m)
		h := fromProto(m.GetHistogram())
		if prev, ok := out[kind]; ok {
			var err error
			if h, err = add(prev, h); err != nil {
				return nil, fmt.Errorf("%s: %w", kind, err)
			}
		}
		out[kind] = h
	}
	return out, nil
}

func callKind(m *dto.Metric) CallKind {
	var k CallKind
	for _, l := range m.GetLabel() {
		switch l.GetName() {
		case "resource":
			k.Resource = l.GetValue()
		case "subresource":
			k.Subresource = l.GetValue()
		case "verb":
			k.Verb = l.GetValue()
		case "scope":
			k.Scope = l.GetValue()
		}
	}
	return k
}

func fromProto(p *dto.Histogram) Histogram {
	h := Histogram{Count: p.GetSampleCount(), Sum: p.GetSampleSum()}
	for _, b := range p.GetBucket() {
		h.Buckets = append(h.Buckets, Bucket{UpperBound: b.GetUpperBound(), Count: b.GetCumulativeCount()})
	}
	if n := len(h.Buckets); n == 0 || !math.IsInf(h.Buckets[n-1].UpperBound, 1) {
		h.Buckets = append(h.Buckets, Bucket{UpperBound: math.Inf(1), Count: h.Count})
	}
	return h
}

func add(a, b Histogram) (Histogram, error) {
	if !sameBounds(a, b) {
		return Histogram{}, fmt.Errorf("histograms with different buckets")
	}
	out := Histogram{Count: a.Count + b.Count, Sum: a.Sum + b.Sum, Buckets: slices.Clone(a.Buckets)}
	for i := range out.Buckets {
		out.Buckets[i].Count += b.Buckets[i].Count
	}
	return out, nil
}

func sameBounds(a, b Histogram) bool {
	return slices.EqualFunc(a.Buckets, b.Buckets, func(x, y Bucket) bool { return x.UpperBound == y.UpperBound })
}

// Quantile estimates the q-quantile (0 < q <= 1) the way Prometheus's
// histogram_quantile does: find the bucket holding rank q*count and
// interpolate linearly between its lower and upper bounds, the first
// bucket's lower bound being 0. A rank in the +Inf bucket yields the largest
// finite bound: the truth is larger, and every SLO threshold is below it.
func (h Histogram) Quantile(q float64) time.Duration {
	if h.Count == 0 || len(h.Buckets) == 0 {
		return 0
	}
	rank := q * float64(h.Count)
	lower, below := 0.0, uint64(0)
	for _, b := range h.Buckets {
		if float64(b.Count) >= rank {
			if math.IsInf(b.UpperBound, 1) {
				return seconds(lower)
			}
			inBucket := float64(b.Count - below)
			if inBucket == 0 {
				return seconds(b.UpperBound)
			}
			return seconds(lower + (b.UpperBound-lower)*(rank-float64(below))/inBucket)
		}
		lower, below = b.UpperBound, b.Count
	}
	return seconds(lower)
}

// SlowerThan counts the calls above threshold. When threshold is not a
// bucket bound, calls in the bucket that straddles it count as slow: the
// histogram cannot tell, and a failure is not to be rounded away.
func (h Histogram) SlowerThan(threshold time.Duration) uint64 {
	var fast uint64
	for _, b := range h.Buckets {
		if b.UpperBound <= threshold.Seconds() {
			fast = b.Count
		}
	}
	return h.Count - fast
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
