package benchpeers

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/rest"
)

// The API server's metrics the benchmark reads.
const (
	// Open watches: one gauge per resource and scope. It counts the WATCH
	// requests the server is serving, whoever holds them and whether or
	// not the watch cache serves them, which is what "watches held"
	// means; apiserver_registered_watchers counts the watch cache's
	// watchers per kind instead, which leaves out watches served from etcd.
	longRunning = "apiserver_longrunning_requests"
	// Requests being served, by kind (readOnly, mutating).
	inflight = "apiserver_current_inflight_requests"
	// API Priority and Fairness: requests executing and waiting in queues,
	// by priority level; requests dispatched, by flow schema, which tells
	// the clients apart (system-nodes and system-node-high: kubelets;
	// kube-controller-manager, kube-scheduler, kube-system-service-accounts:
	// the controllers; exempt: system:masters, i.e. the admin kubeconfig).
	executing  = "apiserver_flowcontrol_current_executing_requests"
	inQueue    = "apiserver_flowcontrol_current_inqueue_requests"
	dispatched = "apiserver_flowcontrol_dispatched_requests_total"
)

// apiMetrics is one scrape of the metrics above.
type apiMetrics struct {
	Watches    float64            // open WATCH requests
	Inflight   map[string]float64 // by request_kind
	Executing  map[string]float64 // by priority_level
	InQueue    map[string]float64 // by priority_level
	Dispatched map[string]float64 // by flow_schema, a counter
}

// wanted are the families parseAPIMetrics reads. The API server's page
// runs to megabytes of histograms, and it is scraped every second by a
// process on the machine being measured: the other lines are skipped
// before parsing.
var wanted = []string{longRunning, inflight, executing, inQueue, dispatched}

func keep(line string) bool {
	line = strings.TrimPrefix(strings.TrimPrefix(line, "# HELP "), "# TYPE ")
	for _, name := range wanted {
		if rest, ok := strings.CutPrefix(line, name); ok && (rest == "" || rest[0] == '{' || rest[0] == ' ') {
			return true
		}
	}
	return false
}

// parseAPIMetrics reads the metrics above from a /metrics page. A family
// the server does not export stays empty: older servers lack some.
func parseAPIMetrics(r io.Reader) (apiMetrics, error) {
	var kept bytes.Buffer
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if keep(sc.Text()) {
			kept.Write(sc.Bytes())
			kept.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return apiMetrics{}, fmt.Errorf("reading metrics: %w", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(&kept)
	if err != nil {
		return apiMetrics{}, fmt.Errorf("parsing metrics: %w", err)
	}
	m := apiMetrics{Inflight: map[string]float64{}, Executing: map[string]float64{}, InQueue: map[string]float64{}, Dispatched: map[string]float64{}}
	sum(families[longRunning], "", func(l map[string]string) bool { return l["verb"] == "WATCH" }, func(_ string, v float64) { m.Watches += v })
	for _, f := range []struct {
		family, label string
		into          map[string]float64
	}{
		{inflight, "request_kind", m.Inflight},
		{executing, "priority_level", m.Executing},
		{inQueue, "priority_level", m.InQueue},
		{dispatched, "flow_schema", m.Dispatched},
	} {
		sum(families[f.family], f.label, nil, func(k string, v float64) { f.into[k] += v })
	}
	return m, nil
}

// sum hands each series of fam that match accepts (all when nil) to add,
// with the value of its label by.
func sum(fam *dto.MetricFamily, by string, match func(map[string]string) bool, add func(string, float64)) {
	if fam == nil {
		return
	}
	for _, m := range fam.GetMetric() {
		l := make(map[string]string, len(m.GetLabel()))
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		if match != nil && !match(l) {
			continue
		}
		add(l[by], value(m))
	}
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	}
	return m.GetUntyped().GetValue()
}

// scrapeAPIMetrics reads the API server's /metrics through client.
func scrapeAPIMetrics(ctx context.Context, client rest.Interface) (apiMetrics, error) {
	body, err := client.Get().AbsPath("/metrics").Stream(ctx)
	if err != nil {
		return apiMetrics{}, fmt.Errorf("scraping the API server's metrics: %w", err)
	}
	defer body.Close()
	m, err := parseAPIMetrics(body)
	if err != nil {
		return apiMetrics{}, fmt.Errorf("the API server's metrics: %w", err)
	}
	return m, nil
}
