// Package compare sets two runs side by side, metric by metric, and says
// of each whether the candidate run regressed, improved, or differs from
// the base run by no more than noise explains.
//
// # What is compared
//
//   - Pod startup: the transitions (create_to_schedule, schedule_to_run,
//     run_to_watch, schedule_to_watch, the SLI pod_startup, create_to_run)
//     of the stateless pods that reached both their ends, at p50, p90 and
//     p99, from the per-pod samples, under one definition for both runs:
//     watch receive times when both runs have them, else the API's
//     timestamps (CommonTimestamps), which every run recorded. Under watch
//     times only create_to_schedule, schedule_to_watch and pod_startup:
//     the others equal one of them, or zero, by definition.
//   - API call latency: p99 of every call kind inside the SLO over each
//     whole run, from the API server's histograms (the worst window, which
//     the SLO is checked on, has too few calls to draw an interval from).
//   - Scheduling throughput: p50, p90 and max of the per-interval pods/s.
//   - Resource usage of every control-plane component: CPU cores p50, p90
//     and max, memory (RSS) MiB p50 and max.
//
// Percentiles are by nearest rank, as the measurements compute them, so a
// row's base and candidate values are the figures each run reported.
//
// # How noise is told from a change
//
// Every row has a 95% confidence interval of the difference candidate −
// base of its statistic, by bootstrap with a seeded generator (math/rand/v2
// PCG, seeded from Options.Seed and the metric's name), so the same inputs
// and Options always give the same rows:
//
//   - From raw samples (pod startup, throughput, usage): each iteration
//     resamples both runs' samples with replacement and recomputes the
//     statistic on each.
//   - From a histogram (API calls): the histogram is all there is, so the
//     bootstrap is parametric: each iteration draws as many observations
//     as the histogram counted, multinomially from its bucket shares, and
//     recomputes the p99 with measurements.Histogram.Quantile.
//
// The interval is the expanded percentile interval of the differences
// (Hesterberg 2015): the 2.5th to 97.5th percentiles, widened for small
// samples (to the 0.1st to 99.9th for 5 samples, the 1.9th to 98.1st for
// 30) because plain bootstrap percentiles are too narrow there.
//
// Rows from raw samples also carry the two-sided p-value of a Mann-Whitney
// U test (normal approximation, tie and continuity corrected) of the two
// samples. It is evidence for the reader, not part of the verdict: it
// tests whether one sample tends to be larger than the other, which says
// little about a tail percentile such as p99. It is the same on every row
// of one series (p50, p90, … of one phase).
//
// # The verdict rule
//
// Let margin = max(Tolerance × |base|, floor), where base is the base run's
// value of the statistic. For a metric where higher is worse (latency,
// CPU, memory):
//
//   - regression: the whole interval lies above +margin;
//   - improvement: the whole interval lies below −margin;
//   - within noise: otherwise.
//
// For throughput, where higher is better, the directions are reversed. So
// a regression needs both a change the data make certain (the interval
// excludes zero) and one large enough to matter (it excludes every change
// within the margin). The margin is what keeps a nightly job comparing
// dozens of rows from crying wolf: with the interval alone, each row of
// two alike runs would be called a regression one time in forty.
//
// Tolerance defaults to 10%. The floors keep tiny absolute changes of tiny
// values from counting (10% of 5 ms is below what a laptop's scheduling
// jitter can tell apart):
//
//   - latency (pod startup, API calls): MinEffect, default 100 ms;
//   - CPU: MinCPU, default 0.05 cores;
//   - memory: MinMemory, default 10 MiB;
//   - throughput: MinThroughput, default 5 pods/s.
//
// A metric with data in one run only is "only in base" or "only in
// candidate", never a regression. A metric with fewer than 5 samples in
// either run (raw samples), or a histogram count below 500 (API calls: the
// p99 must rest on at least five calls), is
// "within noise (too few samples)": it is shown with its values but no
// interval, and no claim is made either way.
//
// Under the API's definition, create_to_schedule, schedule_to_run and
// create_to_run are differences of two times the API server stores to the
// second (creation, PodScheduled, container start): they take whole-second
// values, and their percentiles jump by a second when the true latency
// crosses a fraction of one. They are shown and "not judged (whole-second
// timestamps)"; schedule_to_watch and pod_startup, which end at the
// watch's exact time, carry the verdict. Under watch times every
// transition is judged.
//
// # Caveats
//
// The bootstrap treats samples as independent. Throughput intervals and
// resource usage samples are time series (memory grows through a run), so
// their intervals come out narrower than the truth; the margin is what
// absorbs this, which is why their floors are not zero.
//
// The bootstrap cannot see past the largest value measured, so the
// interval of a maximum (and of a p90 of under 10 samples, or a p99 of
// under 100, which are the maximum) is too narrow. On simulated runs drawn
// alike, a max row came out a regression or improvement about once in a
// hundred comparisons when the samples varied by 25% (under 0.5% when
// they varied by 10%); rows of other statistics far less often. Treat a
// lone max row's verdict with that in mind.
package compare
