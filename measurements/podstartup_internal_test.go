package measurements

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hollowmark/hollowmark/hollow"
)

// gatherOf gathers a measurement that saw the given pods.
func gatherOf(t *testing.T, src TimestampSource, probes func() []hollow.PodProbes, pods ...*podRecord) *Summary {
	t.Helper()
	m := &PodStartupLatency{TimestampSource: src, Probes: probes, pods: map[string]*podRecord{}, stop: make(chan struct{})}
	for _, p := range pods {
		m.pods[p.uid] = p
	}
	sum, err := m.Gather(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// handMade are three stateless pods, created at 10.4 s, 11.2 s and 12.9 s
// by the watch (10, 11, 12 by the API), running 200, 300 and 900 ms later
// by the watch; the third is not running yet.
func handMade() []*podRecord {
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	pod := func(uid string, created, running, apiCreated int) *podRecord {
		p := &podRecord{uid: uid, namespace: "ns", name: uid, node: "n", stateless: true, PodTimes: PodTimes{
			WatchCreated: at(created), WatchScheduled: at(created + 50), APICreated: at(apiCreated), APIScheduled: at(apiCreated)}}
		if running > 0 {
			p.WatchRunning, p.APIRun = at(running), at(apiCreated)
		}
		return p
	}
	return []*podRecord{pod("a", 10400, 10600, 10000), pod("b", 11200, 11500, 11000), pod("c", 12900, 0, 12000)}
}

func TestGatherUnderEachDefinition(t *testing.T) {
	tests := []struct {
		src           TimestampSource
		p50, p99      time.Duration
		schedulingP99 time.Duration
	}{
		// pod_startup 200 and 300 ms; create_to_schedule 50 ms for all three.
		{WatchTimes, 200 * time.Millisecond, 300 * time.Millisecond, 50 * time.Millisecond},
		// From the API's creation: 600 and 500 ms; create_to_schedule 0.
		{APITimes, 500 * time.Millisecond, 600 * time.Millisecond, 0},
	}
	for _, tt := range tests {
		t.Run(string(tt.src), func(t *testing.T) {
			sum := gatherOf(t, tt.src, func() []hollow.PodProbes { return nil }, handMade()...)
			var startup, scheduling []float64
			for _, it := range sum.PerfData.DataItems {
				switch it.Labels["Metric"] {
				case PodStartup:
					startup = []float64{it.Data["Perc50"], it.Data["Perc99"]}
				case CreateToSchedule:
					scheduling = []float64{it.Data["Perc99"]}
				}
			}
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			if len(startup) != 2 || startup[0] != ms(tt.p50) || startup[1] != ms(tt.p99) {
				t.Errorf("pod_startup p50, p99 %v ms, want %v, %v", startup, tt.p50, tt.p99)
			}
			if len(scheduling) != 1 || scheduling[0] != ms(tt.schedulingP99) {
				t.Errorf("create_to_schedule p99 %v ms, want %v (of all three pods)", scheduling, tt.schedulingP99)
			}
			if c := sum.Checks[0]; c.Measured.Count != 2 || c.Measured.P99 != tt.p99 {
				t.Errorf("check %+v, want 2 pods and p99 %v", c.Measured, tt.p99)
			}
			if sum.Definitions["timestampSource"] != string(tt.src) || !strings.Contains(sum.Notes[0], "timestampSource: "+string(tt.src)) {
				t.Errorf("definition %v, notes %q", sum.Definitions, sum.Notes)
			}
			rows := sum.Tables["pods.csv"]
			if len(rows) != 4 || rows[1][1] != "a" || rows[1][5] != "2026-11-22T00:00:10.4Z" || rows[1][8] != "2026-11-22T00:00:10Z" {
				t.Errorf("rows %v, want a first with watch_created 10.4 s and api_created 10 s", rows)
			}
		})
	}
}

func TestProbeNoteSaysWhyProbesAreEmpty(t *testing.T) {
	pods := handMade()
	tests := []struct {
		name   string
		probes func() []hollow.PodProbes
		want   string
	}{
		{"nodes of another process", nil, "nodes this hollowmark process did not start"},
		{"some pods without probes", func() []hollow.PodProbes { return []hollow.PodProbes{{UID: "a"}} }, "2 of 3 scheduled pods have empty kubelet_* columns"},
		{"every pod probed", func() []hollow.PodProbes { return []hollow.PodProbes{{UID: "a"}, {UID: "b"}, {UID: "c"}} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := gatherOf(t, WatchTimes, tt.probes, pods...)
			notes := strings.Join(sum.Notes[1:], " ")
			if tt.want == "" && notes != "" || !strings.Contains(notes, tt.want) {
				t.Errorf("notes %q, want %q", notes, tt.want)
			}
		})
	}
}
