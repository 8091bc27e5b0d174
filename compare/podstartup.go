package compare

import (
	"github.com/hollowmark/hollowmark/analysis"
	"github.com/hollowmark/hollowmark/measurements"
)

// phases of pod startup, in the order the measurement reports them.
var phases = []string{measurements.CreateToSchedule, measurements.ScheduleToRun, measurements.RunToWatch,
	measurements.ScheduleToWatch, measurements.PodStartup}

// podStartupRows compares every phase of pod startup at p50, p90, p99.
func podStartupRows(base, cand *analysis.Run, opts Options) []Row {
	b, c := phaseSamples(base.Pods), phaseSamples(cand.Pods)
	var out []Row
	for _, name := range phases {
		out = append(out, series{group: GroupPodStartup, name: name, unit: "ms",
			base: b[name], cand: c[name], inBase: len(b[name]) > 0, inCand: len(c[name]) > 0,
			stats: []statistic{p50, p90, p99}, floor: opts.latencyFloor(),
			wholeSeconds: name == measurements.CreateToSchedule || name == measurements.ScheduleToRun}.rows(opts)...)
	}
	return out
}

// phaseSamples are the durations of each phase, in milliseconds, of the
// pods the SLO counts: stateless pods that were seen scheduled and
// running. Phases from the container start time are left out for a pod
// without one, rather than measured from the year 1.
func phaseSamples(pods []analysis.Pod) map[string][]float64 {
	out := map[string][]float64{}
	for _, p := range pods {
		startup, ok := p.Startup()
		if !p.Stateless || !ok {
			continue
		}
		out[measurements.CreateToSchedule] = append(out[measurements.CreateToSchedule], ms(p.Scheduled.Sub(p.Created)))
		out[measurements.ScheduleToWatch] = append(out[measurements.ScheduleToWatch], ms(p.Watch.Sub(p.Scheduled)))
		out[measurements.PodStartup] = append(out[measurements.PodStartup], ms(startup))
		if !p.Run.IsZero() {
			out[measurements.ScheduleToRun] = append(out[measurements.ScheduleToRun], ms(p.Run.Sub(p.Scheduled)))
			out[measurements.RunToWatch] = append(out[measurements.RunToWatch], ms(p.Watch.Sub(p.Run)))
		}
	}
	return out
}
