package compare

import (
	"math"
	"strings"
	"testing"
)

func TestMarkdownRows(t *testing.T) {
	nan := math.NaN()
	c := &Comparison{Base: "base-1", Candidate: "cand-2", Options: Options{}.withDefaults(), Rows: []Row{
		{GroupPodStartup, "pod_startup p99", "ms", 52.3456, 1012.4, 1834.1, 930.12, 1001.2, 1e-9, Regression, 200, 200},
		{GroupPodStartup, "create_to_schedule p50", "ms", 4.5, 4.25, -5.6, -0.5, 0.1234, 0.4567, WithinNoise, 200, 200},
		{GroupAPICalls, "GET pods (namespace)", "ms", 92.24, nan, nan, nan, nan, nan, OnlyInBase, 3500, 0},
		{GroupThroughput, "throughput p50", "pods/s", 121, 60.5, -50, -70.25, -50.5, 0.0123, Regression, 30, 30},
		{GroupUsage, "kube-apiserver CPU max", "cores", 0.8123, 0.4, -50.8, -0.5, -0.3, 0.002, Improvement, 59, 59},
		{GroupUsage, "etcd memory p50", "MiB", 46.8, 47.1, 0.6, nan, nan, nan, TooFewSamples, 2, 2},
	}}
	md := c.Markdown()
	lines := strings.Split(md, "\n")
	if want := "**2 regressions**, 1 improvement, 2 within noise (1 of them with too few samples to tell), " +
		"1 only in base, 0 only in candidate: candidate `cand-2` against base `base-1`."; lines[0] != want {
		t.Errorf("summary:\n%s\nwant\n%s", lines[0], want)
	}
	for _, want := range []string{
		"| group | metric | base | candidate | change | 95% CI of difference | p-value | verdict | samples (base / candidate) |",
		"| pod startup | **pod_startup p99** | 52.35 ms | 1012.4 ms | +1834.1% | [+930.1, +1001.2] ms | <0.001 | **regression** | 200 / 200 |",
		"| pod startup | create_to_schedule p50 | 4.500 ms | 4.250 ms | -5.6% | [-0.500, +0.123] ms | 0.457 | within noise | 200 / 200 |",
		"| API call p99 | GET pods (namespace) | 92.24 ms | – | – | – | – | only in base | 3500 / 0 |",
		"| scheduling throughput | **throughput p50** | 121.0 pods/s | 60.5 pods/s | -50.0% | [-70.2, -50.5] pods/s | 0.012 | **regression** | 30 / 30 |",
		"| resource usage | kube-apiserver CPU max | 0.812 cores | 0.400 cores | -50.8% | [-0.500, -0.300] cores | 0.002 | improvement | 59 / 59 |",
		"| resource usage | etcd memory p50 | 46.8 MiB | 47.1 MiB | +0.6% | – | – | within noise (too few samples) | 2 / 2 |",
	} {
		if !strings.Contains(md, want+"\n") {
			t.Errorf("no line\n%s\nin\n%s", want, md)
		}
	}
	if !strings.Contains(md, "max(10% of the base value, floor)") || !strings.Contains(md, "floors: 100.0 ms, 0.050 cores, 10.0 MiB, 5.0 pods/s") {
		t.Errorf("the rule is not stated as configured:\n%s", md)
	}
}

func TestMarkdownOfComparison(t *testing.T) {
	c := Compare(syntheticRun("base", 1, fast), syntheticRun("cand", 2, slow), Options{})
	md := c.Markdown()
	if n := len(c.Regressions()); n < 3 || !strings.HasPrefix(md, "**"+plural(n, "regression", "regressions")+"**, ") {
		t.Errorf("%d regressions; summary %q", n, strings.SplitN(md, "\n", 2)[0])
	}
	if got := strings.Count(md, "\n| "); got != len(c.Rows)+1 {
		t.Errorf("%d table lines, want a header and %d rows", got, len(c.Rows))
	}
	for _, p := range []string{"p50", "p90", "p99"} {
		if !strings.Contains(md, "| pod startup | **pod_startup "+p+"** |") {
			t.Errorf("pod_startup %s is not a bold regression:\n%s", p, md)
		}
	}
	same := Compare(syntheticRun("base", 1, fast), syntheticRun("cand", 2, fast), Options{}).Markdown()
	if !strings.HasPrefix(same, "0 regressions, 0 improvements, 24 within noise: ") {
		t.Errorf("summary of alike runs: %q", strings.SplitN(same, "\n", 2)[0])
	}
}

func TestMarkdownEmpty(t *testing.T) {
	md := Compare(nil, nil, Options{}).Markdown()
	if !strings.Contains(md, "Neither run has anything to compare.") {
		t.Errorf("empty comparison:\n%s", md)
	}
}
