package compare

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hollowmark/hollowmark/analysis"
	"github.com/hollowmark/hollowmark/measurements"
	"github.com/hollowmark/hollowmark/results"
)

func TestPodStartupShift(t *testing.T) {
	for _, tc := range []struct {
		name       string
		base, cand dist
		want       Verdict
	}{
		{"50ms to 1s", fast, slow, Regression},
		{"1s to 50ms", slow, fast, Improvement},
		// 5% slower: certain with 200 pods, but within the 10% tolerance.
		{"1s to 1.05s", slow, dist{mean: 1050, sd: 100}, WithinNoise},
		{"long tail doubled", tail, dist{mean: 1600, sd: 0.5, lognormal: true}, Regression},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Compare(syntheticRun("base", 1, tc.base), syntheticRun("cand", 2, tc.cand), Options{})
			for _, p := range []string{"p50", "p90", "p99"} {
				r := row(t, c, GroupPodStartup, "pod_startup "+p)
				if r.Verdict != tc.want {
					t.Errorf("pod_startup %s: %s (base %.1f, candidate %.1f, CI [%.1f, %.1f]); want %s",
						p, r.Verdict, r.Base, r.Candidate, r.CILow, r.CIHigh, tc.want)
				}
				if r.BaseSamples != 200 || r.CandidateSamples != 200 || math.IsNaN(r.PValue) {
					t.Errorf("pod_startup %s: samples %d/%d, p-value %v; want 200/200 and a p-value",
						p, r.BaseSamples, r.CandidateSamples, r.PValue)
				}
			}
		})
	}
}

// TestSameDistribution is what a nightly job gates on: runs that differ
// only by chance must show no regression and no improvement, for many
// seeds and for a long-tailed distribution too.
func TestSameDistribution(t *testing.T) {
	for _, d := range []dist{fast, slow, tail} {
		for s := range uint64(15) {
			c := Compare(syntheticRun("base", 100+2*s, d), syntheticRun("cand", 101+2*s, d), Options{Seed: s})
			for _, r := range c.Rows {
				if r.Verdict != WithinNoise && !(r.Verdict == WholeSeconds && wholeSecondPhase(r.Metric)) {
					t.Errorf("startup %v, seeds %d/%d: %s / %s is %s (base %.3f, candidate %.3f, CI [%.3f, %.3f])",
						d, 100+2*s, 101+2*s, r.Group, r.Metric, r.Verdict, r.Base, r.Candidate, r.CILow, r.CIHigh)
				}
			}
		}
	}
}

func TestCompareWithItself(t *testing.T) {
	run := syntheticRun("run", 1, tail)
	c := Compare(run, run, Options{})
	if len(c.Regressions()) != 0 {
		t.Errorf("a run against itself has regressions: %v", c.Regressions())
	}
	// 9 pod startup rows (three transitions under watch times), 2 call
	// kinds, 3 throughput rows, 2 components of 5 rows.
	if len(c.Rows) != 9+2+3+10 {
		t.Errorf("%d rows, want 24", len(c.Rows))
	}
	for _, r := range c.Rows {
		judged := r.Verdict == WithinNoise || r.Verdict == WholeSeconds && wholeSecondPhase(r.Metric)
		if !judged || r.Base != r.Candidate || r.ChangePercent != 0 || r.CILow > 0 || r.CIHigh < 0 {
			t.Errorf("%s / %s: %s, base %v candidate %v, change %v, CI [%v, %v]; want no change",
				r.Group, r.Metric, r.Verdict, r.Base, r.Candidate, r.ChangePercent, r.CILow, r.CIHigh)
		}
	}
}

func TestDeterministic(t *testing.T) {
	base, cand := syntheticRun("base", 1, slow), syntheticRun("cand", 2, tail)
	a, b := Compare(base, cand, Options{Seed: 7}), Compare(base, cand, Options{Seed: 7})
	if a.Markdown() != b.Markdown() {
		t.Error("the same runs and options gave different comparisons")
	}
}

func TestOptions(t *testing.T) {
	c := Compare(syntheticRun("base", 1, fast), syntheticRun("cand", 2, slow), Options{})
	want := Options{Tolerance: 0.10, MinEffect: DefaultMinEffect, MinCPU: 0.05, MinMemory: 10, MinThroughput: 5, Iterations: 2000}
	if c.Options != want {
		t.Errorf("recorded options %+v, want the defaults %+v", c.Options, want)
	}
	if c.Base != "base" || c.Candidate != "cand" {
		t.Errorf("run IDs %q, %q; want base, cand", c.Base, c.Candidate)
	}
	// A tolerance of 50× the base value swallows a 20× slowdown.
	c = Compare(syntheticRun("base", 1, fast), syntheticRun("cand", 2, slow), Options{Tolerance: 50})
	if r := row(t, c, GroupPodStartup, "pod_startup p50"); r.Verdict != WithinNoise {
		t.Errorf("with tolerance 50: %s, want %s", r.Verdict, WithinNoise)
	}
	// Without the floor, a certain 20% slowdown of 50 ms pods counts.
	faster := dist{mean: 60, sd: 10}
	for _, tc := range []struct {
		opts Options
		want Verdict
	}{{Options{}, WithinNoise}, {Options{MinEffect: -1}, Regression}} {
		c = Compare(syntheticRun("base", 1, fast), syntheticRun("cand", 2, faster), tc.opts)
		if r := row(t, c, GroupPodStartup, "pod_startup p50"); r.Verdict != tc.want {
			t.Errorf("50 to 60 ms, %+v: %s (CI [%.1f, %.1f]), want %s", tc.opts, r.Verdict, r.CILow, r.CIHigh, tc.want)
		}
	}
}

func TestThroughputAndUsage(t *testing.T) {
	scale := func(r *analysis.Run, throughput, cpu, memory float64) *analysis.Run {
		for i := range r.Throughput {
			r.Throughput[i].PerSecond *= throughput
		}
		for i := range r.Usage {
			r.Usage[i].CPUCores *= cpu
			r.Usage[i].RSSBytes *= memory
		}
		return r
	}
	for _, tc := range []struct {
		name                 string
		throughput, cpu, mem float64
		wantThroughput       Verdict
		wantUsage            Verdict
	}{
		{"slower and hungrier", 0.5, 2, 1.5, Regression, Regression},
		{"faster and leaner", 2, 0.5, 0.7, Improvement, Improvement},
		{"unchanged", 1, 1, 1, WithinNoise, WithinNoise},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Compare(syntheticRun("base", 1, fast), scale(syntheticRun("cand", 2, fast), tc.throughput, tc.cpu, tc.mem), Options{})
			for _, m := range []string{"throughput p50", "throughput p90", "throughput max"} {
				if r := row(t, c, GroupThroughput, m); r.Verdict != tc.wantThroughput || r.Unit != "pods/s" {
					t.Errorf("%s: %s in %s; want %s", m, r.Verdict, r.Unit, tc.wantThroughput)
				}
			}
			for _, m := range []string{"CPU p50", "CPU p90", "CPU max", "memory p50", "memory max"} {
				if r := row(t, c, GroupUsage, "kube-apiserver "+m); r.Verdict != tc.wantUsage {
					t.Errorf("kube-apiserver %s: %s (base %.3f, candidate %.3f, CI [%.3f, %.3f]); want %s",
						m, r.Verdict, r.Base, r.Candidate, r.CILow, r.CIHigh, tc.wantUsage)
				}
			}
		})
	}
}

func TestMissingAndTooFew(t *testing.T) {
	full := func() *analysis.Run { return syntheticRun("full", 1, fast) }
	for _, tc := range []struct {
		name          string
		base, cand    *analysis.Run
		group, metric string
		want          Verdict
	}{
		{"no pods in candidate", full(), func() *analysis.Run { r := full(); r.Pods = nil; return r }(),
			GroupPodStartup, "pod_startup p99", OnlyInBase},
		{"no throughput in base", func() *analysis.Run { r := full(); r.Throughput = nil; return r }(), full(),
			GroupThroughput, "throughput max", OnlyInCandidate},
		// A base of the API's definition without container start times:
		// both runs compare under the API's definition.
		{"no container start times in base", func() *analysis.Run {
			r := full()
			r.PodTimestamps = measurements.APITimes
			for i := range r.Pods {
				r.Pods[i].APIRun = time.Time{}
			}
			return r
		}(), full(), GroupPodStartup, "schedule_to_run p50", OnlyInCandidate},
		// 20× slower, but on 4 pods nothing is claimed.
		{"four pods", full(), func() *analysis.Run { r := syntheticRun("few", 2, slow); r.Pods = r.Pods[:4]; return r }(),
			GroupPodStartup, "pod_startup p50", TooFewSamples},
		{"stateful pods do not count", full(), func() *analysis.Run {
			r := syntheticRun("stateful", 2, slow)
			for i := range r.Pods[4:] {
				r.Pods[4+i].Stateless = false
			}
			return r
		}(), GroupPodStartup, "pod_startup p90", TooFewSamples},
		{"unstarted pods do not count", full(), func() *analysis.Run {
			r := syntheticRun("unstarted", 2, fast)
			for i := range r.Pods[3:] {
				r.Pods[3+i].WatchRunning = time.Time{}
			}
			return r
		}(), GroupPodStartup, "pod_startup p90", TooFewSamples},
		{"component only in candidate", full(), withUsage(full(), "kube-scheduler", 60),
			GroupUsage, "kube-scheduler CPU p50", OnlyInCandidate},
		{"component with one sample, no CPU reading", withUsage(full(), "kube-scheduler", 60),
			withUsage(full(), "kube-scheduler", 1), GroupUsage, "kube-scheduler CPU max", TooFewSamples},
		{"memory of a component with one sample", withUsage(full(), "kube-scheduler", 60),
			withUsage(full(), "kube-scheduler", 1), GroupUsage, "kube-scheduler memory p50", TooFewSamples},
		{"four throughput intervals", full(), func() *analysis.Run { r := full(); r.Throughput = r.Throughput[:4]; return r }(),
			GroupThroughput, "throughput p50", TooFewSamples},
		{"nil candidate", full(), nil, GroupUsage, "etcd memory max", OnlyInBase},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Compare(tc.base, tc.cand, Options{})
			r := row(t, c, tc.group, tc.metric)
			if r.Verdict != tc.want {
				t.Errorf("%s / %s: %s, want %s", tc.group, tc.metric, r.Verdict, tc.want)
			}
			if r.Verdict != WithinNoise && !math.IsNaN(r.CILow) {
				t.Errorf("%s: an interval [%v, %v] where none was computed", r.Verdict, r.CILow, r.CIHigh)
			}
			if len(c.Regressions()) != 0 {
				t.Errorf("regressions: %v", c.Regressions())
			}
		})
	}
}

func TestCompareNothing(t *testing.T) {
	c := Compare(nil, &analysis.Run{Record: &results.Run{ID: "empty"}}, Options{})
	if len(c.Rows) != 0 || c.Candidate != "empty" {
		t.Errorf("comparing empty runs: %d rows, candidate %q", len(c.Rows), c.Candidate)
	}
}

// withUsage adds a component sampled n times, the first without a CPU reading.
func withUsage(r *analysis.Run, component string, n int) *analysis.Run {
	for i := range n {
		s := analysis.UsageSample{Time: t0.Add(time.Duration(i) * time.Second), Component: component, RSSBytes: 50 * mib}
		if i > 0 {
			s.CPUCores, s.HasCPU = 0.1, true
		}
		r.Usage = append(r.Usage, s)
	}
	return r
}

func wholeSecondPhase(metric string) bool {
	name, _, _ := strings.Cut(metric, " ")
	return measurements.WholeSeconds(measurements.APITimes, name)
}

// TestPodStartupUnderOneDefinition compares a run of the API's definition
// with one of watch times: both are read with the API's timestamps, which
// the newer run recorded too, and the second-truncated transitions are not
// judged. Watch times are 300 ms shorter here; compared as they are, the
// runs would differ by that alone.
func TestPodStartupUnderOneDefinition(t *testing.T) {
	old := syntheticRun("old", 1, slow)
	old.PodTimestamps = measurements.APITimes
	c := Compare(old, syntheticRun("new", 2, slow), Options{})
	if got := CommonTimestamps(old, syntheticRun("new", 2, slow)); got != measurements.APITimes {
		t.Errorf("common definition %q, want api", got)
	}
	for _, tc := range []struct {
		metric string
		want   Verdict
	}{
		{"pod_startup p50", WithinNoise},
		{"create_to_schedule p50", WholeSeconds},
		{"schedule_to_run p99", WholeSeconds},
		{"create_to_run p90", WholeSeconds},
		{"schedule_to_watch p50", WithinNoise},
	} {
		if r := row(t, c, GroupPodStartup, tc.metric); r.Verdict != tc.want {
			t.Errorf("%s: %s, want %s", tc.metric, r.Verdict, tc.want)
		}
	}
	// Both of watch times: every transition is judged.
	for _, r := range Compare(syntheticRun("a", 1, slow), syntheticRun("b", 2, slow), Options{}).Rows {
		if r.Verdict == WholeSeconds {
			t.Errorf("%s not judged under watch times", r.Metric)
		}
	}
}
