// Package requestmix counts the API server's requests by verb and resource
// from its own metrics, and checks them against a table of expected values,
// so that the load hollow nodes make can be compared with what a real
// kubelet and kube-proxy make.
package requestmix

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"
)

// Snapshot is one scrape of the API server's request counters and of the
// watches open at that moment, keyed "VERB resource[.group][/subresource]"
// as kubectl names resources, e.g. "PATCH pods/status",
// "PUT leases.coordination.k8s.io".
type Snapshot struct {
	At       time.Time
	Requests map[string]float64 // apiserver_request_total, all codes and scopes
	Watches  map[string]float64 // apiserver_longrunning_requests{verb="WATCH"}
}

// Scrape reads the API server's /metrics.
func Scrape(ctx context.Context, client kubernetes.Interface) (Snapshot, error) {
	raw, err := client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return Snapshot{}, fmt.Errorf("scraping the API server's metrics: %w", err)
	}
	return Parse(bytes.NewReader(raw), time.Now())
}

// Parse reads a /metrics page taken at `at`.
func Parse(r io.Reader, at time.Time) (Snapshot, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return Snapshot{}, fmt.Errorf("parsing metrics: %w", err)
	}
	s := Snapshot{At: at, Requests: map[string]float64{}, Watches: map[string]float64{}}
	if f := families["apiserver_request_total"]; f != nil {
		for _, m := range f.GetMetric() {
			s.Requests[key(labels(m.GetLabel()))] += m.GetCounter().GetValue()
		}
	}
	if f := families["apiserver_longrunning_requests"]; f != nil {
		for _, m := range f.GetMetric() {
			l := labels(m.GetLabel())
			if l["verb"] == "WATCH" {
				s.Watches[key(l)] += m.GetGauge().GetValue()
			}
		}
	}
	return s, nil
}

type labelPair interface {
	GetName() string
	GetValue() string
}

func labels[L labelPair](pairs []L) map[string]string {
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		out[p.GetName()] = p.GetValue()
	}
	return out
}

// key names a request kind as the expected table does.
func key(l map[string]string) string {
	res := l["resource"]
	if l["group"] != "" {
		res += "." + l["group"]
	}
	if l["subresource"] != "" {
		res += "/" + l["subresource"]
	}
	return l["verb"] + " " + res
}

// Delta is what happened between two snapshots: requests made, and the
// change in open watches.
type Delta struct {
	Duration time.Duration
	Requests map[string]float64
	Watches  map[string]float64
}

// Since returns s minus prev.
func (s Snapshot) Since(prev Snapshot) Delta {
	d := Delta{Duration: s.At.Sub(prev.At), Requests: map[string]float64{}, Watches: map[string]float64{}}
	for k, v := range s.Requests {
		if v -= prev.Requests[k]; v != 0 {
			d.Requests[k] = v
		}
	}
	for k, v := range s.Watches {
		if v -= prev.Watches[k]; v != 0 {
			d.Watches[k] = v
		}
	}
	for k, v := range prev.Watches {
		if _, ok := s.Watches[k]; !ok && v != 0 {
			d.Watches[k] = -v
		}
	}
	return d
}

// Minus removes background traffic from d: base's request rate over d's
// duration (base is the control plane without nodes) and base's change in
// watches.
func (d Delta) Minus(base Delta) Delta {
	out := Delta{Duration: d.Duration, Requests: map[string]float64{}, Watches: map[string]float64{}}
	scale := d.Duration.Seconds() / base.Duration.Seconds()
	for k, v := range d.Requests {
		out.Requests[k] = v - base.Requests[k]*scale
	}
	for k, v := range d.Watches {
		out.Watches[k] = v
	}
	return out
}

// Expectation is one row of the expected table: in a phase, a request kind
// is expected so many times per unit, within a relative tolerance.
type Expectation struct {
	Phase, Request string
	Want           float64
	Tolerance      float64 // relative, e.g. 0.15
	Line           int     // in the file it was read from
}

const (
	beginMarker = "<!-- expected-table -->"
	endMarker   = "<!-- end expected-table -->"
)

// ParseExpectations reads the Markdown table between the expected-table
// markers: columns phase, request, expected, tolerance (e.g. ±15%), then
// any others (the reasoning).
func ParseExpectations(r io.Reader) ([]Expectation, error) {
	var out []Expectation
	sc := bufio.NewScanner(r)
	in, header, line := false, 0, 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		switch {
		case text == beginMarker:
			in = true
			continue
		case text == endMarker:
			if len(out) == 0 {
				return nil, fmt.Errorf("line %d: the expected table is empty", line)
			}
			return out, nil
		case !in || !strings.HasPrefix(text, "|"):
			continue
		}
		if header++; header <= 2 { // the header row and its rule
			continue
		}
		e, err := parseRow(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		e.Line = line
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("no table between %q and %q", beginMarker, endMarker)
}

func parseRow(text string) (Expectation, error) {
	cells := strings.Split(strings.Trim(text, "|"), "|")
	if len(cells) < 4 {
		return Expectation{}, fmt.Errorf("want at least 4 cells (phase, request, expected, tolerance), got %d", len(cells))
	}
	for i := range cells {
		cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "`*")
	}
	want, err := strconv.ParseFloat(cells[2], 64)
	if err != nil {
		return Expectation{}, fmt.Errorf("expected %q: %w", cells[2], err)
	}
	tol, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(cells[3], "±"), "%"), 64)
	if err != nil || !strings.HasSuffix(cells[3], "%") {
		return Expectation{}, fmt.Errorf("tolerance %q: want a percentage such as ±15%%", cells[3])
	}
	return Expectation{Phase: cells[0], Request: cells[1], Want: want, Tolerance: tol / 100}, nil
}

// Result is one expectation and what was measured.
type Result struct {
	Expectation
	Got float64
}

// OK reports whether the measured value is within tolerance.
func (r Result) OK() bool {
	return math.Abs(r.Got-r.Want) <= r.Tolerance*r.Want+1e-9
}

// Table renders results as Markdown.
func Table(results []Result) string {
	var b strings.Builder
	b.WriteString("| phase | request | expected | measured | within |\n|---|---|---:|---:|---|\n")
	for _, r := range results {
		verdict := "yes"
		if !r.OK() {
			verdict = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s | %.3g | %.3g | %s (±%.0f%%) |\n", r.Phase, r.Request, r.Want, r.Got, verdict, r.Tolerance*100)
	}
	return b.String()
}
