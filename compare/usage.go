package compare

import (
	"slices"

	"github.com/hollowmark/hollowmark/analysis"
)

const mib = 1 << 20

// usageRows compares each component's CPU and memory.
func usageRows(base, cand *analysis.Run, opts Options) []Row {
	b, c := usageByComponent(base.Usage), usageByComponent(cand.Usage)
	var names []string
	for name := range b {
		names = append(names, name)
	}
	for name := range c {
		if _, ok := b[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var out []Row
	for _, name := range names {
		bu, inBase := b[name]
		cu, inCand := c[name]
		if bu == nil {
			bu = &componentUsage{}
		}
		if cu == nil {
			cu = &componentUsage{}
		}
		out = append(out,
			series{group: GroupUsage, name: name + " CPU", unit: "cores", base: bu.cores, cand: cu.cores,
				inBase: inBase, inCand: inCand, stats: []statistic{p50, p90, pMax}, floor: opts.MinCPU}.rows(opts)...)
		out = append(out,
			series{group: GroupUsage, name: name + " memory", unit: "MiB", base: bu.mib, cand: cu.mib,
				inBase: inBase, inCand: inCand, stats: []statistic{p50, pMax}, floor: opts.MinMemory}.rows(opts)...)
	}
	return out
}

// componentUsage is one component's samples: CPU cores of the samples
// that have a reading (a first sample has nothing to measure from), and
// resident memory in MiB of every sample.
type componentUsage struct {
	cores, mib []float64
}

func usageByComponent(samples []analysis.UsageSample) map[string]*componentUsage {
	out := map[string]*componentUsage{}
	for _, s := range samples {
		u := out[s.Component]
		if u == nil {
			u = &componentUsage{}
			out[s.Component] = u
		}
		if s.HasCPU {
			u.cores = append(u.cores, s.CPUCores)
		}
		u.mib = append(u.mib, s.RSSBytes/mib)
	}
	return out
}
