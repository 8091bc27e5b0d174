package measurements_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/measurements"
	"github.com/hollowmark/hollowmark/results"
)

func TestParseProcStat(t *testing.T) {
	// A command name holding spaces and parentheses, as a process may
	// name itself; utime is field 14, stime 15, starttime 22.
	line := "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 1234 0 5 0 1500 250 7 8 20 0 12 0 98765 123456789 3000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n"
	got, err := measurements.ParseProcStat(line)
	if err != nil {
		t.Fatal(err)
	}
	want := measurements.ProcStat{UTime: 1500, STime: 250, StartTime: 98765}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	// 1750 ticks of 1/100 s.
	if s := got.CPUSeconds(); s != 17.5 {
		t.Errorf("CPU seconds %v, want 17.5", s)
	}
	for _, bad := range []string{"", "4242 (cmd", "4242 (cmd) S 1 2 3", "4242 (cmd) S 1 4242 4242 0 -1 4194560 1234 0 5 0 x 250 7 8 20 0 12 0 98765"} {
		if _, err := measurements.ParseProcStat(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tkube-apiserver\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t 2000000 kB\nVmHWM:\t  400000 kB\nVmRSS:\t  314572 kB\nRssAnon:\t  300000 kB\nThreads:\t42\n"
	got, err := measurements.ParseVmRSS(status)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(314572 * 1024); got != want {
		t.Errorf("got %d, want %d", got, want)
	}
	// A kernel thread has no VmRSS line.
	if _, err := measurements.ParseVmRSS("Name:\tkthreadd\nState:\tS (sleeping)\n"); err == nil {
		t.Error("a status without VmRSS parsed")
	}
	if _, err := measurements.ParseVmRSS("VmRSS:\t12 MB\n"); err == nil {
		t.Error("a VmRSS in an unknown unit parsed")
	}
}

func TestParseProcessMetrics(t *testing.T) {
	page := `# HELP apiserver_request_total Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",verb="GET"} 12
# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 42.25
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 3.3554432e+08
# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1.7e+09
`
	got, err := measurements.ParseProcessMetrics(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	if got.CPUSeconds != 42.25 || got.RSSBytes != 335544320 || got.Started != 1.7e9 {
		t.Errorf("got %+v", got)
	}
	if _, err := measurements.ParseProcessMetrics(strings.NewReader("# TYPE up gauge\nup 1\n")); err == nil {
		t.Error("a page without process metrics parsed")
	}
}

func TestCPUCores(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s := func(at time.Duration, pid int, cpu float64) measurements.UsageSample {
		return measurements.UsageSample{Time: t0.Add(at), Component: "c", PID: pid, CPUSeconds: cpu}
	}
	samples := []measurements.UsageSample{
		s(0, 10, 100),
		{Time: t0, Component: "other", PID: 11, CPUSeconds: 1},
		s(2*time.Second, 10, 101),   // 1 s of CPU in 2 s
		s(4*time.Second, 20, 3),     // restarted: no baseline
		s(8*time.Second, 20, 9),     // 6 s of CPU in 4 s
		s(10*time.Second, 20, 0.5),  // CPU went down: restarted under the same PID
		s(12*time.Second, 20, 0.75), // 0.25 s in 2 s
	}
	want := []string{"", "", "0.5", "", "1.5", "", "0.125"}
	got := measurements.CPUCores(samples)
	for i := range want {
		g := ""
		if got[i] != nil {
			g = strconv.FormatFloat(*got[i], 'g', -1, 64)
		}
		if g != want[i] {
			t.Errorf("sample %d: %q cores, want %q", i, g, want[i])
		}
	}
}

// burn uses CPU until this process's CPU time has grown by ticks clock
// ticks, so that the test depends on work done, not on the machine's speed.
func burn(t *testing.T, ticks uint64) {
	t.Helper()
	cpu := func() uint64 {
		raw, err := os.ReadFile("/proc/self/stat")
		if err != nil {
			t.Fatal(err)
		}
		st, err := measurements.ParseProcStat(string(raw))
		if err != nil {
			t.Fatal(err)
		}
		return st.UTime + st.STime
	}
	start := cpu()
	sum := sha256.Sum256(nil)
	for cpu() < start+ticks {
		for range 10000 {
			sum = sha256.Sum256(sum[:])
		}
	}
}

func TestResourceUsageOfProcesses(t *testing.T) {
	ctx := context.Background()
	// The first call sees this process as "worker"; every later one sees
	// the parent under that name, as after a restart, and a process that
	// does not exist. sampled is closed once the sampler has run twice.
	var calls atomic.Int32
	sampled := make(chan struct{})
	var once sync.Once
	m := &measurements.ResourceUsage{Interval: 100 * time.Millisecond, Processes: func() map[string]int {
		n := calls.Add(1)
		if n == 1 {
			return map[string]int{"worker": os.Getpid()}
		}
		if n == 3 {
			once.Do(func() { close(sampled) })
		}
		return map[string]int{"worker": os.Getppid(), "gone": 1<<31 - 1}
	}}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	burn(t, 5)
	select {
	case <-sampled:
	case <-time.After(time.Minute):
		t.Fatal("the sampler did not sample")
	}
	sum, err := m.Gather(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Checks) != 0 {
		t.Errorf("resource usage has no SLO, got checks %v", sum.Checks)
	}
	rows := sum.Tables["resource_usage.csv"]
	byComponent := map[string][][]string{}
	for _, r := range rows[1:] {
		byComponent[r[1]] = append(byComponent[r[1]], r)
	}
	if len(byComponent["gone"]) != 0 {
		t.Errorf("rows for a process that does not exist: %v", byComponent["gone"])
	}
	worker := byComponent["worker"]
	// Start, two sampler ticks and Gather: at least four samples.
	if len(worker) < 4 {
		t.Fatalf("worker rows %v, want at least four", worker)
	}
	if worker[0][2] != strconv.Itoa(os.Getpid()) || worker[1][2] != strconv.Itoa(os.Getppid()) {
		t.Errorf("worker PIDs %s then %s, want %d then %d", worker[0][2], worker[1][2], os.Getpid(), os.Getppid())
	}
	if worker[0][5] != "" || worker[1][5] != "" || worker[2][5] == "" {
		t.Errorf("worker CPU %q, %q, %q: want none for the first sample and after the PID changed, then a figure",
			worker[0][5], worker[1][5], worker[2][5])
	}
	self := byComponent[measurements.SelfComponent]
	if len(self) < 4 {
		t.Fatalf("%s rows %v, want at least four", measurements.SelfComponent, self)
	}
	first, _ := strconv.ParseFloat(self[0][3], 64)
	last, _ := strconv.ParseFloat(self[len(self)-1][3], 64)
	if ticks := math.Round((last - first) * 100); ticks < 5 {
		t.Errorf("this process's CPU went from %v s to %v s, though it burnt 5 ticks", first, last)
	}
	for _, r := range self {
		if rss, err := strconv.ParseUint(r[4], 10, 64); err != nil || rss == 0 {
			t.Errorf("row %v: no resident memory", r)
		}
	}
	items := dataItems(sum.PerfData)
	for _, k := range []string{"CPU worker", "Memory worker", "CPU hollowmark", "Memory hollowmark"} {
		if _, ok := items[k]; !ok {
			t.Errorf("no %s item in %v", k, items)
		}
	}
	if cpu := items["CPU hollowmark"]; cpu.Unit != "cores" || cpu.Data["Max"] <= 0 {
		t.Errorf("CPU of this process %+v, want some use in cores", cpu)
	}
	if mem := items["Memory hollowmark"]; mem.Unit != "MiB" || mem.Data["Perc50"] <= 0 {
		t.Errorf("memory of this process %+v, want some MiB", mem)
	}
}

func TestResourceUsageAfterAnInterruptedRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m := &measurements.ResourceUsage{Interval: time.Hour, Processes: func() map[string]int {
		return map[string]int{"worker": os.Getpid()}
	}}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	sum, err := m.Gather(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The samples of Start and Gather: reading /proc needs no context.
	if rows := sum.Tables["resource_usage.csv"]; len(rows) != 1+2*2 {
		t.Errorf("rows %v, want two samples of worker and of this process", rows)
	}
}

func TestResourceUsageOfAnAttachedCluster(t *testing.T) {
	cp := shared.Get(t)
	ctx := context.Background()
	m := &measurements.ResourceUsage{Client: kubernetes.NewForConfigOrDie(cp.Config), Interval: 100 * time.Millisecond}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sum, err := m.Gather(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var apiserver [][]string
	for _, r := range sum.Tables["resource_usage.csv"][1:] {
		if r[1] == measurements.APIServerComponent {
			apiserver = append(apiserver, r)
		}
	}
	// At least the samples of Start and Gather.
	if len(apiserver) < 2 {
		t.Fatalf("%s rows %v, want at least two", measurements.APIServerComponent, apiserver)
	}
	for _, r := range apiserver {
		if r[2] != "" {
			t.Errorf("row %v: a PID for a scraped process", r)
		}
		if cpu, err := strconv.ParseFloat(r[3], 64); err != nil || cpu <= 0 {
			t.Errorf("row %v: no CPU time", r)
		}
	}
	items := dataItems(sum.PerfData)
	for _, k := range []string{"CPU kube-apiserver", "Memory kube-apiserver"} {
		if _, ok := items[k]; !ok {
			t.Errorf("no %s item in %v", k, items)
		}
	}
}

// dataItems indexes items by "Metric Component".
func dataItems(p results.PerfData) map[string]results.DataItem {
	out := map[string]results.DataItem{}
	for _, it := range p.DataItems {
		out[fmt.Sprintf("%s %s", it.Labels["Metric"], it.Labels["Component"])] = it
	}
	return out
}

// The context of Start bounds starting, not sampling: a step's context ends
// long before the run gathers.
func TestResourceUsageSamplesBeyondTheContextOfStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m := &measurements.ResourceUsage{Interval: 10 * time.Millisecond, Processes: func() map[string]int {
		return map[string]int{"worker": os.Getpid()}
	}}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	time.Sleep(time.Second)
	sum, err := m.Gather(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	workerRows := 0
	for _, r := range sum.Tables["resource_usage.csv"][1:] {
		if r[1] == "worker" {
			workerRows++
		}
	}
	if workerRows < 3 {
		t.Errorf("%d samples of worker in a second at 10ms intervals, want several", workerRows)
	}
}
