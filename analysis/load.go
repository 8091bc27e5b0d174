// Package analysis reads a results directory back into typed data: the run
// record and the raw tables every figure is computed from. Reports,
// comparisons and history build on it.
package analysis

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hollowmark/hollowmark/controlplane"
	"github.com/hollowmark/hollowmark/measurements"
	"github.com/hollowmark/hollowmark/results"
)

// Run is one results directory, loaded.
type Run struct {
	Dir    string
	Record *results.Run
	// ControlPlane is the control-plane record, nil if the directory has none.
	ControlPlane *controlplane.Record
	// Pods are the pods PodStartupLatency measured.
	Pods []Pod
	// PodTimestamps is the definition PodStartupLatency's figures used:
	// watch, or api (also for results from before the choice, which used
	// the API's timestamps).
	PodTimestamps measurements.TimestampSource
	// APICalls are APIResponsiveness' call kinds over the whole run, with
	// their buckets; APIWorst each kind's worst window, the SLO's figure
	// (empty for results from before windows).
	APICalls, APIWorst []APICall
	// Scheduled are the times SchedulingThroughput saw pods scheduled, and
	// Throughput its intervals.
	Scheduled  []time.Time
	Throughput []Interval
	// Usage is ResourceUsage's samples.
	Usage []UsageSample
}

// Pod is one row of the per-pod CSV. Zero times were not observed.
type Pod struct {
	Namespace, Name, UID, Node string
	Stateless                  bool
	measurements.PodTimes
	// Node-side probes of the hollow kubelet.
	KubeletSeen, SandboxReady, ContainersStarted, KubeletRunning, StatusPosted time.Time
}

// APICall is one call kind's row of the API call table, over the span
// from Start to End, with the histogram its percentiles come from (for the
// whole run only).
type APICall struct {
	Kind                     measurements.CallKind
	Start, End               time.Time
	Count, Slow              uint64
	P50, P90, P99, Threshold time.Duration
	Histogram                measurements.Histogram
}

// Interval is one scheduling throughput interval.
type Interval struct {
	Start, End time.Time
	Pods       int
	PerSecond  float64
}

// UsageSample is one resource usage sample of one component. CPUCores is
// the use since the component's previous sample; ok is false for a first
// sample.
type UsageSample struct {
	Time       time.Time
	Component  string
	CPUSeconds float64
	RSSBytes   float64
	CPUCores   float64
	HasCPU     bool
}

// Load reads a results directory. Tables of measurements the run did not
// make are left empty; a table that is there but unreadable is an error.
func Load(dir string) (*Run, error) {
	rec, err := results.ReadRun(dir)
	if err != nil {
		return nil, err
	}
	r := &Run{Dir: dir, Record: rec, PodTimestamps: podTimestamps(rec)}
	if r.ControlPlane, err = readControlPlane(dir); err != nil {
		return nil, err
	}
	loaders := []struct {
		method, table string
		load          func([][]string) error
	}{
		{measurements.PodStartupLatencyName, "pods.csv", r.loadPods},
		{measurements.APIResponsivenessName, "api_calls.csv", r.loadAPICalls},
		{measurements.APIResponsivenessName, "api_buckets.csv", r.loadBuckets},
		{measurements.SchedulingThroughputName, "scheduled_pods.csv", r.loadScheduled},
		{measurements.SchedulingThroughputName, "scheduling_throughput.csv", r.loadThroughput},
		{measurements.ResourceUsageName, "resource_usage.csv", r.loadUsage},
	}
	for _, l := range loaders {
		file := r.table(l.method, l.table)
		if file == "" {
			continue
		}
		rows, err := results.ReadCSV(filepath.Join(dir, file))
		if err != nil {
			return nil, err
		}
		if err := l.load(rows); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, file), err)
		}
	}
	return r, nil
}

// podTimestamps is the definition of the first PodStartupLatency.
func podTimestamps(rec *results.Run) measurements.TimestampSource {
	for _, m := range rec.Measurements {
		if m.Method != measurements.PodStartupLatencyName {
			continue
		}
		if src, err := measurements.ParseTimestampSource(m.Definitions["timestampSource"]); err == nil {
			return src
		}
	}
	return measurements.APITimes
}

// table is the file of the first measurement of method with that table.
func (r *Run) table(method, table string) string {
	for _, m := range r.Record.Measurements {
		if m.Method == method && m.Tables[table] != "" {
			return m.Tables[table]
		}
	}
	return ""
}

func readControlPlane(dir string) (*controlplane.Record, error) {
	data, err := os.ReadFile(filepath.Join(dir, controlplane.RecordFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading control-plane record: %w", err)
	}
	var rec controlplane.Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, controlplane.RecordFile), err)
	}
	return &rec, nil
}

// columns reads rows by header name, collecting the first parse error.
type columns struct {
	index map[string]int
	row   []string
	line  int
	err   error
}

func newColumns(header []string, want ...string) (*columns, error) {
	c := &columns{index: map[string]int{}}
	for i, h := range header {
		c.index[h] = i
	}
	for _, w := range want {
		if _, ok := c.index[w]; !ok {
			return nil, fmt.Errorf("no column %q", w)
		}
	}
	return c, nil
}

func (c *columns) at(line int, row []string) { c.line, c.row = line, row }

func (c *columns) str(name string) string {
	i, ok := c.index[name]
	if !ok || i >= len(c.row) {
		return ""
	}
	return c.row[i]
}

func (c *columns) fail(name string, err error) {
	if c.err == nil {
		c.err = fmt.Errorf("line %d, column %s: %w", c.line, name, err)
	}
}

// time reads the first of names the table has: later names are what
// earlier versions called the column.
func (c *columns) time(names ...string) time.Time {
	for _, name := range names {
		if _, ok := c.index[name]; !ok {
			continue
		}
		s := c.str(name)
		if s == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			c.fail(name, err)
		}
		return t
	}
	return time.Time{}
}

func (c *columns) float(name string) float64 {
	s := c.str(name)
	if s == "" {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64) // reads "+Inf" too
	if err != nil {
		c.fail(name, err)
	}
	return v
}

func (c *columns) uint(name string) uint64 {
	v, err := strconv.ParseUint(c.str(name), 10, 64)
	if err != nil {
		c.fail(name, err)
	}
	return v
}

func (c *columns) millis(name string) time.Duration {
	return time.Duration(c.float(name) * float64(time.Millisecond))
}

// each runs fn on every data row, stopping at the first parse error.
func each(rows [][]string, want []string, fn func(c *columns)) error {
	if len(rows) == 0 {
		return errors.New("empty table: no header")
	}
	c, err := newColumns(rows[0], want...)
	if err != nil {
		return err
	}
	for i, row := range rows[1:] {
		c.at(i+2, row)
		fn(c)
		if c.err != nil {
			return c.err
		}
	}
	return nil
}
