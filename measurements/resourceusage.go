package measurements

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/results"
)

// Component names ResourceUsage reports under when it does not get them
// from Processes.
const (
	SelfComponent      = "hollowmark"     // this process, which runs the hollow nodes
	APIServerComponent = "kube-apiserver" // scraped when attached to a cluster
)

// clockTicks is the unit of CPU times in /proc/PID/stat. It is USER_HZ,
// which Linux fixes at 100 on every architecture as part of its ABI;
// sysconf(_SC_CLK_TCK) is a libc call that golang.org/x/sys/unix does not
// offer on Linux.
const clockTicks = 100

// ResourceUsage samples the CPU time and resident memory of the control
// plane's components, and of this process, every Interval until Gather.
// When Processes gives no PIDs (a cluster it did not start), it reads the
// API server's own process metrics from /metrics instead.
type ResourceUsage struct {
	Client kubernetes.Interface
	// Processes returns component name -> PID, e.g. an embedded control
	// plane's PIDs; it may be nil.
	Processes func() map[string]int
	Interval  time.Duration // default 5 s

	mu       sync.Mutex
	samples  []UsageSample
	cancel   context.CancelFunc
	done     chan struct{}
	stopOnce sync.Once
}

// UsageSample is one reading of one component's process.
type UsageSample struct {
	Time      time.Time
	Component string
	PID       int // 0 when scraped from /metrics
	// Started tells apart two processes behind one PID or one /metrics: in
	// clock ticks since boot when read from /proc, in Unix seconds when
	// scraped.
	Started    float64
	CPUSeconds float64 // user and system, since the process started
	RSSBytes   uint64
}

// ResourceUsageName names the method.
const ResourceUsageName = "ResourceUsage"

func resourceUsageMethod() Method {
	interval := DurationParam("interval", defaultInterval, "time between samples")
	return Method{
		Name: ResourceUsageName,
		Doc: "CPU (cores) and RSS of each control-plane process (from /proc when embedded; from the API server's own " +
			"process metrics when attached) and of hollowmark itself, sampled each interval",
		Params: []ParamSpec{interval},
		Start: func(p Params, d Deps) (Measurement, error) {
			return &ResourceUsage{Client: d.Client, Processes: d.Processes, Interval: interval.Get(p)}, nil
		},
	}
}

func (m *ResourceUsage) Name() string { return ResourceUsageName }

// Start takes the first sample and starts sampling. It fails only when it
// must scrape /metrics and cannot, as no sample would then ever be taken.
func (m *ResourceUsage) Start(ctx context.Context) error {
	if m.Interval <= 0 {
		m.Interval = defaultInterval
	}
	if err := m.sample(ctx); err != nil {
		return err
	}
	// Sampling lasts until Gather, beyond the context of Start.
	ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	m.done = make(chan struct{})
	go m.run(ctx)
	return nil
}

// run samples until Gather cancels ctx.
func (m *ResourceUsage) run(ctx context.Context) {
	defer close(m.done)
	tick := time.NewTicker(m.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			// A failed scrape loses one sample; the next may succeed.
			_ = m.sample(ctx)
		}
	}
}

// sample reads every component once. A process that cannot be read (it
// exited) is left out of this sample; a failed scrape is returned, after
// the processes that could be read were recorded.
func (m *ResourceUsage) sample(ctx context.Context) error {
	var pids map[string]int
	if m.Processes != nil {
		pids = m.Processes()
	}
	var got []UsageSample
	var scrapeErr error
	if len(pids) == 0 {
		var s UsageSample
		if s, scrapeErr = m.scrape(ctx); scrapeErr == nil {
			got = append(got, s)
		}
	}
	for name, pid := range pids {
		if s, err := readProc(fmt.Sprintf("/proc/%d", pid)); err == nil {
			s.Component, s.PID = name, pid
			got = append(got, s)
		}
	}
	if s, err := readProc("/proc/self"); err == nil {
		s.Component, s.PID = SelfComponent, os.Getpid()
		got = append(got, s)
	}
	slices.SortFunc(got, func(a, b UsageSample) int { return strings.Compare(a.Component, b.Component) })
	m.mu.Lock()
	m.samples = append(m.samples, got...)
	m.mu.Unlock()
	return scrapeErr
}

func (m *ResourceUsage) scrape(ctx context.Context) (UsageSample, error) {
	if m.Client == nil {
		return UsageSample{}, fmt.Errorf("no processes to read and no API server to scrape")
	}
	raw, err := m.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return UsageSample{}, fmt.Errorf("scraping the API server's metrics: %w", err)
	}
	s, err := ParseProcessMetrics(bytes.NewReader(raw))
	if err != nil {
		return UsageSample{}, fmt.Errorf("the API server's metrics: %w", err)
	}
	s.Component, s.Time = APIServerComponent, now()
	return s, nil
}

// now is when a reading was taken: right after it, as a scrape's round
// trip is not negligible. Wall clock only, so that the CSV reproduces every
// figure exactly.
func now() time.Time { return time.Now().Round(0) }

func readProc(dir string) (UsageSample, error) {
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return UsageSample{}, err
	}
	st, err := ParseProcStat(string(stat))
	if err != nil {
		return UsageSample{}, fmt.Errorf("%s/stat: %w", dir, err)
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return UsageSample{}, err
	}
	rss, err := ParseVmRSS(string(status))
	if err != nil {
		return UsageSample{}, fmt.Errorf("%s/status: %w", dir, err)
	}
	return UsageSample{Time: now(), Started: float64(st.StartTime), CPUSeconds: st.CPUSeconds(), RSSBytes: rss}, nil
}

// ProcStat is what ResourceUsage needs of /proc/PID/stat, in clock ticks.
type ProcStat struct {
	UTime, STime, StartTime uint64
}

// CPUSeconds is the user and system time of the process.
func (s ProcStat) CPUSeconds() float64 { return float64(s.UTime+s.STime) / clockTicks }

// ParseProcStat reads a /proc/PID/stat line. The command name, in
// parentheses, may itself hold spaces and parentheses, so the fields are
// counted from the last ')'.
func ParseProcStat(line string) (ProcStat, error) {
	end := strings.LastIndexByte(line, ')')
	if end < 0 {
		return ProcStat{}, fmt.Errorf("no command name in %q", line)
	}
	// fields[0] is field 3 of proc(5), the state.
	fields := strings.Fields(line[end+1:])
	const utime, stime, starttime = 14 - 3, 15 - 3, 22 - 3
	if len(fields) <= starttime {
		return ProcStat{}, fmt.Errorf("%d fields after the command name, want at least %d", len(fields), starttime+1)
	}
	var out ProcStat
	for _, f := range []struct {
		i    int
		into *uint64
	}{{utime, &out.UTime}, {stime, &out.STime}, {starttime, &out.StartTime}} {
		v, err := strconv.ParseUint(fields[f.i], 10, 64)
		if err != nil {
			return ProcStat{}, fmt.Errorf("field %d: %w", f.i+3, err)
		}
		*f.into = v
	}
	return out, nil
}

// ParseVmRSS reads the resident set size, in bytes, from /proc/PID/status.
func ParseVmRSS(status string) (uint64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", strings.TrimSpace(line))
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS: %w", err)
		}
		return kb * 1024, nil
	}
	// Kernel threads and zombies have no memory of their own.
	return 0, fmt.Errorf("no VmRSS")
}

// Process metrics every Prometheus client library exports about its process.
const (
	cpuMetric   = "process_cpu_seconds_total"
	rssMetric   = "process_resident_memory_bytes"
	startMetric = "process_start_time_seconds"
)

// ParseProcessMetrics reads a process's CPU time, resident memory and start
// time from a /metrics page. Only the process_ lines are parsed: the API
// server's page runs to megabytes, and it is read every interval by the
// process whose own usage is being measured.
func ParseProcessMetrics(r io.Reader) (UsageSample, error) {
	var kept bytes.Buffer
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "process_") || strings.HasPrefix(line, "# HELP process_") || strings.HasPrefix(line, "# TYPE process_") {
			kept.WriteString(line)
			kept.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return UsageSample{}, fmt.Errorf("reading metrics: %w", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(&kept)
	if err != nil {
		return UsageSample{}, fmt.Errorf("parsing metrics: %w", err)
	}
	value := func(name string) (float64, error) {
		fam, ok := families[name]
		if !ok || len(fam.GetMetric()) != 1 {
			return 0, fmt.Errorf("want one %s series", name)
		}
		m := fam.GetMetric()[0]
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), nil
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), nil
		case m.GetUntyped() != nil:
			return m.GetUntyped().GetValue(), nil
		}
		return 0, fmt.Errorf("%s is a %s", name, fam.GetType())
	}
	var s UsageSample
	var rss float64
	for _, v := range []struct {
		name string
		into *float64
	}{{cpuMetric, &s.CPUSeconds}, {rssMetric, &rss}} {
		if *v.into, err = value(v.name); err != nil {
			return UsageSample{}, err
		}
	}
	// Without a start time, a restart still shows as CPU time going down.
	s.Started, _ = value(startMetric)
	s.RSSBytes = uint64(rss)
	return s, nil
}

// stop ends sampling and waits for the sampler.
func (m *ResourceUsage) stop() {
	m.stopOnce.Do(func() {
		if m.cancel == nil {
			return
		}
		m.cancel()
		<-m.done
	})
}

// Gather takes a last sample, stops sampling and reports, per component,
// the percentiles and maximum of its CPU usage per interval and of its
// resident memory. Resource usage has no SLO: there are no checks.
func (m *ResourceUsage) Gather(ctx context.Context) (*Summary, error) {
	m.stop()
	// An interrupted run may have no context left to scrape with; what was
	// sampled is still worth reporting.
	_ = m.sample(ctx)
	m.mu.Lock()
	samples := slices.Clone(m.samples)
	m.mu.Unlock()
	cores := CPUCores(samples)
	sum := &Summary{PerfData: results.NewPerfData(), Tables: map[string][][]string{
		"resource_usage.csv": usageRows(samples, cores),
	}}
	byComponent := map[string]*struct{ cpu, mem []float64 }{}
	var names []string
	for i, s := range samples {
		c := byComponent[s.Component]
		if c == nil {
			c = &struct{ cpu, mem []float64 }{}
			byComponent[s.Component] = c
			names = append(names, s.Component)
		}
		c.mem = append(c.mem, float64(s.RSSBytes)/(1<<20))
		if cores[i] != nil {
			c.cpu = append(c.cpu, *cores[i])
		}
	}
	slices.Sort(names)
	for _, name := range names {
		c := byComponent[name]
		for _, series := range []struct {
			metric, unit string
			values       []float64
		}{{"CPU", "cores", c.cpu}, {"Memory", "MiB", c.mem}} {
			pct, err := NearestRankFloat(series.values)
			if err != nil {
				continue // a single sample has no interval to rate CPU over
			}
			sum.PerfData.DataItems = append(sum.PerfData.DataItems, results.DataItem{
				Data: pct.Data(), Unit: series.unit,
				Labels: map[string]string{"Metric": series.metric, "Component": name},
			})
		}
	}
	return sum, nil
}

// CPUCores is, for each sample in time order, the CPU its component used
// since its previous sample, in cores: CPU seconds over wall seconds. It
// is nil for a component's first sample and whenever the process changed
// (a restart), whose CPU time starts again from zero.
func CPUCores(samples []UsageSample) []*float64 {
	out := make([]*float64, len(samples))
	last := map[string]UsageSample{}
	for i, s := range samples {
		prev, ok := last[s.Component]
		last[s.Component] = s
		wall := s.Time.Sub(prev.Time).Seconds()
		if !ok || prev.PID != s.PID || prev.Started != s.Started || s.CPUSeconds < prev.CPUSeconds || wall <= 0 {
			continue
		}
		v := (s.CPUSeconds - prev.CPUSeconds) / wall
		out[i] = &v
	}
	return out
}

func usageRows(samples []UsageSample, cores []*float64) [][]string {
	rows := [][]string{{"time", "component", "pid", "cpu_seconds_total", "rss_bytes", "cpu_cores"}}
	for i, s := range samples {
		pid, c := "", ""
		if s.PID != 0 {
			pid = strconv.Itoa(s.PID)
		}
		if cores[i] != nil {
			c = formatFloat(*cores[i])
		}
		rows = append(rows, []string{timestamp(s.Time), s.Component, pid, formatFloat(s.CPUSeconds),
			strconv.FormatUint(s.RSSBytes, 10), c})
	}
	return rows
}
