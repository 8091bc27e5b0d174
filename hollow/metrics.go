package hollow

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Metrics are the node pool's Prometheus metrics.
type Metrics struct {
	Registry        *prometheus.Registry
	nodesRegistered prometheus.Gauge
	nodesReady      prometheus.Gauge
	heartbeats      *prometheus.CounterVec
	heartbeatDelays *prometheus.HistogramVec
	podTransitions  *prometheus.CounterVec
	requests        *prometheus.HistogramVec
	netProgramming  prometheus.Histogram
	watchFailures   *prometheus.CounterVec
	events          *prometheus.CounterVec
	tokens          *prometheus.CounterVec
	// watchesClosedImmutable counts ConfigMap and Secret watches closed
	// because the object is immutable.
	watchesClosedImmutable prometheus.Counter
}

// NewMetrics registers the pool's metrics, and Go runtime and process
// metrics, in a registry of their own.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		nodesRegistered: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hollowmark_nodes_registered", Help: "Hollow nodes that registered their Node object since they started (a kubelet registers once: a Node deleted since still counts)."}),
		nodesReady: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hollowmark_nodes_ready", Help: "Registered hollow nodes whose lease has been renewed at least once (lease failures since then are counted in hollowmark_heartbeats_total)."}),
		heartbeats: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hollowmark_heartbeats_total", Help: "Lease renewals and node status reports, by kind and result."},
			[]string{"kind", "result"}),
		heartbeatDelays: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hollowmark_heartbeat_delay_seconds",
			Help: "How late lease renewals and node status reports were, from when they were due: " +
				"stage \"started\" when the node got to it (our process's lag), \"answered\" when its successful answer came back " +
				"(retries included). A renewal answered more than a quarter of the lease's 40 s late is also logged.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 40, 60, 120}},
			[]string{"kind", "stage"}),
		podTransitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hollowmark_pod_transitions_total", Help: "Pod lifecycle steps taken by the fake runtime."},
			[]string{"to"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hollowmark_client_request_duration_seconds",
			Help:    "API call latency seen by hollow nodes, retries included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}},
			[]string{"verb", "resource", "code"}),
		netProgramming: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hollowmark_network_programming_duration_seconds",
			Help:    "From an EndpointSlice's last change trigger time to a hollow proxy seeing it.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 16)}),
		watchFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hollowmark_watch_retries_total", Help: "List-watch retries, by component."},
			[]string{"component"}),
	}
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hollowmark_events_total", Help: "Events posted by hollow kubelets and proxies, by result."}, []string{"result"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hollowmark_token_requests_total", Help: "Service-account token requests of hollow kubelets, by result."}, []string{"result"})
	m.watchesClosedImmutable = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hollowmark_object_watches_closed_immutable_total", Help: "ConfigMap and Secret watches closed because the object is immutable."})
	m.Registry.MustRegister(m.events, m.tokens, m.watchesClosedImmutable)
	m.Registry.MustRegister(m.nodesRegistered, m.nodesReady, m.heartbeats, m.heartbeatDelays, m.podTransitions, m.requests,
		m.netProgramming, m.watchFailures,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// observeRequest is a kubeapi.Observer.
func (m *Metrics) observeRequest(verb, resource string, status int, took time.Duration) {
	m.requests.WithLabelValues(verb, resource, strconv.Itoa(status)).Observe(took.Seconds())
}

// heartbeatResult counts one heartbeat call's outcome.
func (m *Metrics) heartbeatResult(kind, result string) {
	m.heartbeats.WithLabelValues(kind, result).Inc()
}

// heartbeatDelay records how late a heartbeat's stage came.
func (m *Metrics) heartbeatDelay(kind, stage string, late time.Duration) {
	m.heartbeatDelays.WithLabelValues(kind, stage).Observe(max(late, 0).Seconds())
}

// DelayHistogram is a heartbeat delay histogram as it stands: Counts[i]
// observations at most Bounds[i] seconds late, of Count in all.
type DelayHistogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
}

// HeartbeatDelays are the histograms of how late heartbeats were answered,
// by kind ("lease", "node-status"), since the pool started: a caller
// takes two and subtracts them for what happened in between.
func (m *Metrics) HeartbeatDelays() map[string]DelayHistogram {
	out := map[string]DelayHistogram{}
	for _, kind := range []string{"lease", "node-status"} {
		var d dto.Metric
		if err := m.heartbeatDelays.WithLabelValues(kind, "answered").(prometheus.Metric).Write(&d); err != nil {
			continue
		}
		h := DelayHistogram{Count: d.GetHistogram().GetSampleCount()}
		for _, b := range d.GetHistogram().GetBucket() {
			h.Bounds = append(h.Bounds, b.GetUpperBound())
			h.Counts = append(h.Counts, b.GetCumulativeCount())
		}
		out[kind] = h
	}
	return out
}
