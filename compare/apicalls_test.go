package compare

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hollowmark/hollowmark/analysis"
	"github.com/hollowmark/hollowmark/measurements"
)

// latencies draws n API call latencies (seconds): log-normal around 30 ms,
// with a share of them delayed by a second.
func latencies(seed uint64, n int, delayed float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 5))
	out := observations(rng, n, dist{mean: 30, sd: 0.5, lognormal: true})
	for i := range out {
		if rng.Float64() < delayed {
			out[i]++
		}
	}
	return out
}

func apiRun(calls ...analysis.APICall) *analysis.Run { return &analysis.Run{APICalls: calls} }

// scaled multiplies every count of h: the same shares over more calls.
func scaled(h measurements.Histogram, by uint64) measurements.Histogram {
	out := measurements.Histogram{Count: h.Count * by}
	for _, b := range h.Buckets {
		out.Buckets = append(out.Buckets, measurements.Bucket{UpperBound: b.UpperBound, Count: b.Count * by})
	}
	return out
}

func TestAPICallP99(t *testing.T) {
	normal := histogramOf(latencies(1, 2000, 0))
	normalToo := histogramOf(latencies(2, 2000, 0))
	delayed := histogramOf(latencies(3, 2000, 0.05)) // p99 past a second
	for _, tc := range []struct {
		name       string
		base, cand measurements.Histogram
		want       Verdict
	}{
		{"same histogram", normal, normal, WithinNoise},
		{"same distribution", normal, normalToo, WithinNoise},
		{"same shares, millions of calls", scaled(normal, 5000), scaled(normal, 5000), WithinNoise},
		{"slower buckets", normal, delayed, Regression},
		{"faster buckets", delayed, normal, Improvement},
		{"slower buckets, millions of calls", scaled(normal, 5000), scaled(delayed, 5000), Regression},
		{"19 calls", histogramOf(latencies(1, 19, 0)), histogramOf(latencies(2, 2000, 0.05)), TooFewSamples},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			c := Compare(apiRun(apiCall(getPods, tc.base)), apiRun(apiCall(getPods, tc.cand)), Options{})
			if len(c.Rows) != 1 {
				t.Fatalf("%d rows, want 1", len(c.Rows))
			}
			r := c.Rows[0]
			if r.Verdict != tc.want || r.Group != GroupAPICalls || r.Metric != getPods.String() || r.Unit != "ms" {
				t.Errorf("%s / %s in %s: %s (base %.1f, candidate %.1f, CI [%.1f, %.1f]); want %s",
					r.Group, r.Metric, r.Unit, r.Verdict, r.Base, r.Candidate, r.CILow, r.CIHigh, tc.want)
			}
			if want := ms(tc.base.Quantile(0.99)); r.Base != want {
				t.Errorf("base p99 %v, want the histogram's %v", r.Base, want)
			}
			if r.BaseSamples != int(tc.base.Count) || r.CandidateSamples != int(tc.cand.Count) {
				t.Errorf("samples %d/%d, want the counts %d/%d", r.BaseSamples, r.CandidateSamples, tc.base.Count, tc.cand.Count)
			}
			if r.Verdict == WithinNoise && (r.CILow > 0 || r.CIHigh < 0) {
				t.Errorf("within noise, but the interval [%v, %v] excludes 0", r.CILow, r.CIHigh)
			}
			if !math.IsNaN(r.PValue) {
				t.Errorf("p-value %v from histograms; want none", r.PValue)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

func TestAPICallKinds(t *testing.T) {
	h := histogramOf(latencies(1, 500, 0))
	postPods := measurements.CallKind{Verb: "POST", Resource: "pods", Scope: "namespace"}
	// A table without its buckets: the p99 is known, its noise is not.
	noBuckets := analysis.APICall{Kind: listNodes, Count: 500, P99: 80 * time.Millisecond}
	c := Compare(apiRun(apiCall(getPods, h), apiCall(watchPods, h), noBuckets),
		apiRun(apiCall(listNodes, h), apiCall(watchPods, h), apiCall(postPods, h)), Options{})
	want := map[string]Verdict{
		getPods.String():   OnlyInBase,
		listNodes.String(): TooFewSamples,
		postPods.String():  OnlyInCandidate,
	}
	if len(c.Rows) != len(want) {
		t.Errorf("%d rows, want %d: WATCH is outside the SLO", len(c.Rows), len(want))
	}
	for _, r := range c.Rows {
		if r.Verdict != want[r.Metric] {
			t.Errorf("%s: %s, want %s", r.Metric, r.Verdict, want[r.Metric])
		}
	}
	if r := row(t, c, GroupAPICalls, listNodes.String()); r.Base != 80 {
		t.Errorf("p99 without buckets: %v ms, want the table's 80", r.Base)
	}
	if r := row(t, c, GroupAPICalls, getPods.String()); !math.IsNaN(r.Candidate) || r.CandidateSamples != 0 {
		t.Errorf("only in base: candidate %v over %d samples, want NaN over 0", r.Candidate, r.CandidateSamples)
	}
}
