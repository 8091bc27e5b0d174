package measurements

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

const metricsHeader = `# HELP apiserver_request_sli_duration_seconds Response latency distribution (not counting webhook duration and priority & fairness queue wait duration) in seconds for each verb, group, version, resource, subresource, scope and component.
# TYPE apiserver_request_sli_duration_seconds histogram
`

// series writes one histogram series with cumulative counts for the
// buckets 0.05, 0.1, 1, 5 and +Inf.
func series(labels string, counts [5]int, sum string) string {
	var b strings.Builder
	for i, le := range []string{"0.05", "0.1", "1", "5", "+Inf"} {
		b.WriteString("apiserver_request_sli_duration_seconds_bucket{" + labels + `,le="` + le + `"} ` + strconv.Itoa(counts[i]) + "\n")
	}
	b.WriteString("apiserver_request_sli_duration_seconds_sum{" + labels + "} " + sum + "\n")
	b.WriteString("apiserver_request_sli_duration_seconds_count{" + labels + "} " + strconv.Itoa(counts[4]) + "\n")
	return b.String()
}

const patchStatus = `component="apiserver",group="",resource="pods",scope="resource",subresource="status",verb="PATCH",version="v1"`

func parse(t *testing.T, text string) map[CallKind]Histogram {
	t.Helper()
	s, err := ParseScrape(strings.NewReader(metricsHeader+text), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Kinds
}

func TestHistogramDiffAndQuantiles(t *testing.T) {
	start := parse(t, series(patchStatus, [5]int{10, 10, 10, 10, 10}, "0.2"))
	end := parse(t, series(patchStatus, [5]int{40, 80, 108, 110, 110}, "30.2")+
		series(`component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="LIST",version="v1"`, [5]int{1, 1, 1, 1, 1}, "0.01"))
	diff := Intervals([]Scrape{{Kinds: start}, {Kinds: end}})[0].Kinds
	kind := CallKind{Resource: "pods", Subresource: "status", Verb: "PATCH", Scope: "resource"}
	h, ok := diff[kind]
	if !ok {
		t.Fatalf("no %v in %v", kind, diff)
	}
	// Between the scrapes: 30 calls <= 50 ms, 40 in (50 ms, 100 ms], 28 in
	// (100 ms, 1 s], 2 in (1 s, 5 s].
	if h.Count != 100 || h.Sum != 30 {
		t.Errorf("count %d sum %v, want 100 and 30", h.Count, h.Sum)
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 75 * time.Millisecond}, // rank 50: 0.05 + 0.05*(50-30)/40
		{0.9, 742857142},             // rank 90: 0.1 + 0.9*(90-70)/28
		{0.99, 3 * time.Second},      // rank 99: 1 + 4*(99-98)/2
		{1, 5 * time.Second},         // rank 100: the top of the (1 s, 5 s] bucket
	} {
		if got := h.Quantile(tt.q); got != tt.want {
			t.Errorf("quantile %v = %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := h.SlowerThan(time.Second); got != 2 {
		t.Errorf("slower than 1 s: %d, want 2", got)
	}
	// 2 s is inside the (1 s, 5 s] bucket: both calls there count as slow.
	if got := h.SlowerThan(2 * time.Second); got != 2 {
		t.Errorf("slower than 2 s: %d, want 2", got)
	}
	list := CallKind{Resource: "pods", Verb: "LIST", Scope: "namespace"}
	if diff[list].Count != 1 {
		t.Errorf("a kind first seen at the end diffs against nothing: %+v", diff[list])
	}
}

// Series that differ outside (resource, subresource, verb, scope) are one
// call kind, as in CL2's `sum by (resource, subresource, verb, scope, le)`.
func TestSeriesOfOneKindAreSummed(t *testing.T) {
	for _, tt := range []struct{ name, from, to string }{
		{"component", `component="apiserver"`, `component="other"`},
		{"group", `group=""`, `group="events.k8s.io"`},
		{"version", `version="v1"`, `version="v1beta1"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			other := strings.Replace(patchStatus, tt.from, tt.to, 1)
			h := parse(t, series(patchStatus, [5]int{1, 2, 3, 4, 5}, "1")+series(other, [5]int{1, 1, 1, 1, 1}, "1"))
			kind := CallKind{Resource: "pods", Subresource: "status", Verb: "PATCH", Scope: "resource"}
			if len(h) != 1 || h[kind].Count != 6 || h[kind].Buckets[1].Count != 3 {
				t.Errorf("summed histograms %+v", h)
			}
		})
	}
}

func TestProcessStartTimeIsRead(t *testing.T) {
	s, err := ParseScrape(strings.NewReader("# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1.7e+09\n"), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if s.ProcessStart != 1.7e9 || len(s.Kinds) != 0 {
		t.Errorf("scrape %+v, want process start 1.7e9 and no kinds", s)
	}
}

func TestSLOThresholdsAndExclusions(t *testing.T) {
	tests := []struct {
		kind      CallKind
		threshold time.Duration
		inSLO     bool
	}{
		{CallKind{Resource: "pods", Verb: "GET", Scope: "resource"}, time.Second, true},
		{CallKind{Resource: "pods", Subresource: "status", Verb: "PATCH", Scope: "resource"}, time.Second, true},
		{CallKind{Resource: "pods", Verb: "LIST", Scope: "namespace"}, 5 * time.Second, true},
		{CallKind{Resource: "nodes", Verb: "LIST", Scope: "cluster"}, 30 * time.Second, true},
		{CallKind{Resource: "pods", Verb: "WATCH", Scope: "cluster"}, time.Second, false},
		{CallKind{Resource: "pods", Subresource: "log", Verb: "GET", Scope: "resource"}, time.Second, false},
		{CallKind{Resource: "pods", Subresource: "exec", Verb: "CONNECT", Scope: "resource"}, time.Second, false},
	}
	for _, tt := range tests {
		if got := tt.kind.Threshold(); got != tt.threshold {
			t.Errorf("%v: threshold %v, want %v", tt.kind, got, tt.threshold)
		}
		if got := tt.kind.InSLO(); got != tt.inSLO {
			t.Errorf("%v: in SLO %v, want %v", tt.kind, got, tt.inSLO)
		}
	}
}
