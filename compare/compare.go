package compare

import (
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/hollowmark/hollowmark/analysis"
	"github.com/hollowmark/hollowmark/measurements"
)

// Verdict is what a row's comparison concluded.
type Verdict string

// Verdicts. Only Regression is a failure; TooFewSamples is within noise
// because nothing was shown, not because the runs were shown alike.
const (
	Regression    Verdict = "regression"
	Improvement   Verdict = "improvement"
	WithinNoise   Verdict = "within noise"
	TooFewSamples Verdict = "within noise (too few samples)"
	// WholeSeconds marks a phase between two timestamps the API server
	// truncates to the second (under the API's definition only): it takes
	// the values 0 s, 1 s, …, and its percentiles jump by a second when
	// the true latency crosses a fraction of one, so it is shown but not
	// judged.
	WholeSeconds    Verdict = "not judged (whole-second timestamps)"
	OnlyInBase      Verdict = "only in base"
	OnlyInCandidate Verdict = "only in candidate"
)

// Groups of rows.
const (
	GroupPodStartup = "pod startup"
	GroupAPICalls   = "API call p99"
	GroupThroughput = "scheduling throughput"
	GroupUsage      = "resource usage"
)

// Comparison is two runs compared metric by metric.
type Comparison struct {
	Base, Candidate string // run IDs
	Rows            []Row
	// PodTimestamps is the definition both runs' pod startup was read
	// under (CommonTimestamps).
	PodTimestamps measurements.TimestampSource
	// Options are those the verdicts were made with, defaults filled in.
	Options Options
}

// Row is one metric of both runs. Values are in Unit; a value a run does
// not have, and an interval or p-value not computed, is NaN.
type Row struct {
	Group  string
	Metric string
	Unit   string
	// Base and Candidate are each run's value of the statistic.
	Base, Candidate float64
	// ChangePercent is (Candidate − Base) / |Base| × 100; NaN when Base is
	// 0 and Candidate is not.
	ChangePercent float64
	// CILow and CIHigh bound the 95% confidence interval of Candidate − Base.
	CILow, CIHigh float64
	// PValue is the two-sided Mann-Whitney U test's, for rows from raw
	// samples.
	PValue                        float64
	Verdict                       Verdict
	BaseSamples, CandidateSamples int
}

// Compare compares the candidate run with the base run. A nil run counts
// as a run that measured nothing.
func Compare(base, cand *analysis.Run, opts Options) *Comparison {
	opts = opts.withDefaults()
	if base == nil {
		base = &analysis.Run{}
	}
	if cand == nil {
		cand = &analysis.Run{}
	}
	c := &Comparison{Base: runID(base), Candidate: runID(cand), Options: opts, PodTimestamps: CommonTimestamps(base, cand)}
	for _, group := range []func(base, cand *analysis.Run, opts Options) []Row{
		podStartupRows, apiCallRows, throughputRows, usageRows,
	} {
		c.Rows = append(c.Rows, group(base, cand, opts)...)
	}
	return c
}

// Regressions are the rows whose verdict is Regression, in table order.
func (c *Comparison) Regressions() []Row { return c.with(Regression) }

func (c *Comparison) with(v Verdict) []Row {
	var out []Row
	for _, r := range c.Rows {
		if r.Verdict == v {
			out = append(out, r)
		}
	}
	return out
}

func runID(r *analysis.Run) string {
	if r.Record != nil && r.Record.ID != "" {
		return r.Record.ID
	}
	return r.Dir
}

// newRNG gives every series its own generator, seeded from the options'
// seed and the series' name, so a row does not change when rows before it
// appear or disappear (a call kind seen in one more run, say).
func newRNG(seed uint64, series string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(series))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// changePercent is the relative change of cand over base.
func changePercent(base, cand float64) float64 {
	switch {
	case base == cand:
		return 0
	case base == 0:
		return math.NaN()
	}
	return (cand - base) / math.Abs(base) * 100
}

// judge applies the verdict rule (see the package doc) to an interval of
// the difference candidate − base.
func judge(base float64, ci interval, floor, tolerance float64, higherIsBetter bool) Verdict {
	margin := max(tolerance*math.Abs(base), floor, 0)
	worse, better := ci.low > margin, ci.high < -margin
	if higherIsBetter {
		worse, better = better, worse
	}
	switch {
	case worse:
		return Regression
	case better:
		return Improvement
	}
	return WithinNoise
}
