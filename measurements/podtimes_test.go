package measurements

import (
	"maps"
	"testing"
	"time"
)

func TestTransitionsPerTimestampSource(t *testing.T) {
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	// Created at 10.400 s, bound at 10.450, containers started at 10.600,
	// Running seen at 10.620; the API says 10, 10 and 10 (to the second).
	pod := PodTimes{WatchCreated: at(10400), WatchScheduled: at(10450), WatchRunning: at(10620),
		APICreated: at(10000), APIScheduled: at(10000), APIRun: at(10000)}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name string
		pod  PodTimes
		src  TimestampSource
		want map[string]time.Duration
	}{
		{"watch", pod, WatchTimes, map[string]time.Duration{CreateToSchedule: ms(50), ScheduleToRun: ms(170),
			RunToWatch: 0, ScheduleToWatch: ms(170), PodStartup: ms(220), CreateToRun: ms(220)}},
		{"api", pod, APITimes, map[string]time.Duration{CreateToSchedule: 0, ScheduleToRun: 0,
			RunToWatch: ms(620), ScheduleToWatch: ms(620), PodStartup: ms(620), CreateToRun: 0}},
		// The API's run can read before its schedule once truncated: the
		// negative latency counts as zero, as in ClusterLoader2.
		{"api, negative clamped", PodTimes{APICreated: at(0), APIScheduled: at(2000), APIRun: at(1000), WatchRunning: at(2500)},
			APITimes, map[string]time.Duration{CreateToSchedule: ms(2000), ScheduleToRun: 0, RunToWatch: ms(1500),
				ScheduleToWatch: ms(500), PodStartup: ms(2500), CreateToRun: ms(1000)}},
		// Not running yet: only create_to_schedule has both ends.
		{"watch, not running", PodTimes{WatchCreated: at(0), WatchScheduled: at(30)}, WatchTimes,
			map[string]time.Duration{CreateToSchedule: ms(30)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.pod.Transitions(tt.src); !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseTimestampSource(t *testing.T) {
	for in, want := range map[string]TimestampSource{"watch": WatchTimes, "api": APITimes, "": "", "creation": ""} {
		got, err := ParseTimestampSource(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("%q: got %q, %v", in, got, err)
		}
	}
}
