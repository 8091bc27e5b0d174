package measurements

import (
	"fmt"
	"time"
)

// Transitions of pod startup, named as ClusterLoader2's PodStartupLatency
// names them.
const (
	CreateToSchedule = "create_to_schedule"
	ScheduleToRun    = "schedule_to_run"
	RunToWatch       = "run_to_watch"
	ScheduleToWatch  = "schedule_to_watch"
	PodStartup       = "pod_startup" // the SLI: create to watch
	CreateToRun      = "create_to_run"
)

// Transitions are the pod startup transitions, in report order.
var Transitions = []string{CreateToSchedule, ScheduleToRun, RunToWatch, ScheduleToWatch, PodStartup, CreateToRun}

// TimestampSource says which clock the phases of pod startup are read from.
type TimestampSource string

const (
	// WatchTimes takes every phase from when our watch received the event
	// showing it: create is the first event seen for the pod, schedule the
	// first showing it bound, run and watch the first showing it Running.
	// This is ClusterLoader2's definition since March 2026.
	WatchTimes TimestampSource = "watch"
	// APITimes takes create, schedule and run from the API object's
	// creationTimestamp, PodScheduled condition and containers' startedAt,
	// all truncated to the second; watch stays the watch's receive time.
	// This was ClusterLoader2's definition before, and hollowmark's.
	APITimes TimestampSource = "api"
)

// ParseTimestampSource reads "watch" or "api".
func ParseTimestampSource(s string) (TimestampSource, error) {
	switch src := TimestampSource(s); src {
	case WatchTimes, APITimes:
		return src, nil
	}
	return "", fmt.Errorf("timestamp source %q: want %q or %q", s, WatchTimes, APITimes)
}

// PodTimes are the times one pod's startup is measured from. A zero time
// was not observed.
type PodTimes struct {
	// Receive times of watch events: first event, first bound, first Running.
	WatchCreated, WatchScheduled, WatchRunning time.Time
	// The API object's own times, to the second.
	APICreated, APIScheduled, APIRun time.Time
}

// Phases are the four instants ClusterLoader2's transitions run between.
type Phases struct{ Create, Schedule, Run, Watch time.Time }

// Phases are the pod's phases under src.
func (p PodTimes) Phases(src TimestampSource) Phases {
	if src == APITimes {
		return Phases{p.APICreated, p.APIScheduled, p.APIRun, p.WatchRunning}
	}
	return Phases{p.WatchCreated, p.WatchScheduled, p.WatchRunning, p.WatchRunning}
}

// Transitions are the pod's transition latencies that both ends of were
// observed, by name. As in ClusterLoader2, a negative latency (second
// truncation can make one) counts as zero.
func (p PodTimes) Transitions(src TimestampSource) map[string]time.Duration {
	ph := p.Phases(src)
	out := map[string]time.Duration{}
	for _, t := range []struct {
		name     string
		from, to time.Time
	}{
		{CreateToSchedule, ph.Create, ph.Schedule},
		{ScheduleToRun, ph.Schedule, ph.Run},
		{RunToWatch, ph.Run, ph.Watch},
		{ScheduleToWatch, ph.Schedule, ph.Watch},
		{PodStartup, ph.Create, ph.Watch},
		{CreateToRun, ph.Create, ph.Run},
	} {
		if !t.from.IsZero() && !t.to.IsZero() {
			out[t.name] = max(t.to.Sub(t.from), 0)
		}
	}
	return out
}

// Startup is the pod startup SLI under src; ok is false for a pod not seen
// both created and running.
func (p PodTimes) Startup(src TimestampSource) (time.Duration, bool) {
	d, ok := p.Transitions(src)[PodStartup]
	return d, ok
}

// Distinct are the transitions that are not the same as another by
// definition under src: under watch times run and watch are one event, so
// schedule_to_run is schedule_to_watch, create_to_run is pod_startup and
// run_to_watch is zero. Comparisons judge each only once.
func Distinct(src TimestampSource) []string {
	if src == WatchTimes {
		return []string{CreateToSchedule, ScheduleToWatch, PodStartup}
	}
	return Transitions
}

// WholeSeconds reports whether a transition runs between two times the API
// server truncates to the second under src: its values are whole seconds.
func WholeSeconds(src TimestampSource, transition string) bool {
	return src == APITimes && (transition == CreateToSchedule || transition == ScheduleToRun || transition == CreateToRun)
}
