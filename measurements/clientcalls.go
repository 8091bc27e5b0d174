package measurements

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hollowmark/hollowmark/results"
)

// ClientAPICallsName names what ClientCalls records in a run's results:
// the runner always records it, so it is no method of the registry.
const ClientAPICallsName = "ClientAPICalls"

// ClientCalls records the latency of every API call the load generator
// makes, as the client saw it: API server latency plus network, client
// rate limiting excluded (the loadgen paces calls itself).
type ClientCalls struct {
	mu    sync.Mutex
	calls []clientCall
}

type clientCall struct {
	at             time.Time
	verb, resource string
	took           time.Duration
	err            string
}

// Observe records one call; it has loadgen.Objects' Observe signature.
func (c *ClientCalls) Observe(verb, resource string, took time.Duration, err error) {
	call := clientCall{at: time.Now().Add(-took), verb: verb, resource: resource, took: took}
	if err != nil {
		call.err = err.Error()
	}
	c.mu.Lock()
	c.calls = append(c.calls, call)
	c.mu.Unlock()
}

// Summary reports nearest-rank percentiles per (verb, resource), failed
// calls included, and every call as a row of client_calls.csv. It makes no
// SLO check: the SLO is defined on the server's view.
func (c *ClientCalls) Summary() *Summary {
	c.mu.Lock()
	calls := slices.Clone(c.calls)
	c.mu.Unlock()
	slices.SortFunc(calls, func(a, b clientCall) int { return a.at.Compare(b.at) })
	rows := [][]string{{"started", "verb", "resource", "latency_ms", "error"}}
	type key struct{ verb, resource string }
	samples := map[key][]time.Duration{}
	errs := map[key]int{}
	for _, call := range calls {
		rows = append(rows, []string{call.at.UTC().Format(time.RFC3339Nano), call.verb, call.resource,
			strconv.FormatFloat(float64(call.took)/float64(time.Millisecond), 'f', 3, 64), call.err})
		k := key{call.verb, call.resource}
		samples[k] = append(samples[k], call.took)
		if call.err != "" {
			errs[k]++
		}
	}
	sum := &Summary{PerfData: results.NewPerfData(), Tables: map[string][][]string{"client_calls.csv": rows}}
	keys := slices.SortedFunc(maps.Keys(samples), func(a, b key) int {
		if a.resource != b.resource {
			return strings.Compare(a.resource, b.resource)
		}
		return strings.Compare(a.verb, b.verb)
	})
	for _, k := range keys {
		p, err := NearestRank(samples[k])
		if err != nil {
			continue
		}
		sum.PerfData.DataItems = append(sum.PerfData.DataItems, results.LatencyItem(p.P50, p.P90, p.P99, map[string]string{
			"Metric": "ClientAPICall", "Verb": k.verb, "Resource": k.resource,
			"Count": strconv.Itoa(p.Count), "Errors": strconv.Itoa(errs[k])}))
	}
	return sum
}
