package analysis

import (
	"fmt"
	"strconv"

	"github.com/hollowmark/hollowmark/measurements"
)

// loadPods reads the per-pod table. Results from before watch_created
// named the API's times created, scheduled and run, and the watch's
// Running time watch.
func (r *Run) loadPods(rows [][]string) error {
	return each(rows, []string{"namespace", "name", "stateless"}, func(c *columns) {
		stateless, err := strconv.ParseBool(c.str("stateless"))
		if err != nil {
			c.fail("stateless", err)
		}
		r.Pods = append(r.Pods, Pod{Namespace: c.str("namespace"), Name: c.str("name"), UID: c.str("uid"), Node: c.str("node"),
			Stateless: stateless, PodTimes: measurements.PodTimes{
				WatchCreated: c.time("watch_created"), WatchScheduled: c.time("watch_scheduled"),
				WatchRunning: c.time("watch_running", "watch"), APICreated: c.time("api_created", "created"),
				APIScheduled: c.time("api_scheduled", "scheduled"), APIRun: c.time("api_run", "run")},
			KubeletSeen: c.time("kubelet_seen"), SandboxReady: c.time("kubelet_sandbox_ready"),
			ContainersStarted: c.time("kubelet_containers_started"), KubeletRunning: c.time("kubelet_running"),
			StatusPosted: c.time("kubelet_status_posted")})
	})
}

var callKindColumns = []string{"verb", "resource", "subresource", "scope"}

// loadAPICalls reads the call table: a whole-run row and a worst-window
// row per kind, or (before windows) whole-run rows without a span column.
func (r *Run) loadAPICalls(rows [][]string) error {
	return each(rows, append(callKindColumns, "count", "slow", "p50_ms", "p90_ms", "p99_ms", "threshold_ms"), func(c *columns) {
		call := APICall{Kind: callKind(c), Start: c.time("window_start"), End: c.time("window_end"), Count: c.uint("count"),
			Slow: c.uint("slow"), P50: c.millis("p50_ms"), P90: c.millis("p90_ms"), P99: c.millis("p99_ms"), Threshold: c.millis("threshold_ms")}
		switch span := c.str("span"); span {
		case "", measurements.SpanWholeRun:
			r.APICalls = append(r.APICalls, call)
		case measurements.SpanWorstWindow:
			r.APIWorst = append(r.APIWorst, call)
		default:
			c.fail("span", fmt.Errorf("unknown span %q", span))
		}
	})
}

// loadBuckets attaches each call kind's whole-run buckets; it runs after
// loadAPICalls.
func (r *Run) loadBuckets(rows [][]string) error {
	index := map[measurements.CallKind]int{}
	for i, a := range r.APICalls {
		index[a.Kind] = i
	}
	return each(rows, append(callKindColumns, "le_seconds", "cumulative_count"), func(c *columns) {
		i, ok := index[callKind(c)]
		if !ok {
			return
		}
		h := &r.APICalls[i].Histogram
		b := measurements.Bucket{UpperBound: c.float("le_seconds"), Count: c.uint("cumulative_count")}
		h.Buckets = append(h.Buckets, b)
		h.Count = max(h.Count, b.Count)
	})
}

// callKind reads a row's call kind. Results from before call kinds were
// CL2's had group and version columns, with a row per API group: the group
// stays in the resource's name (events.events.k8s.io), so that those rows
// stay apart as they were measured.
func callKind(c *columns) measurements.CallKind {
	res := c.str("resource")
	if g := c.str("group"); g != "" {
		res += "." + g
	}
	return measurements.CallKind{Verb: c.str("verb"), Resource: res, Subresource: c.str("subresource"), Scope: c.str("scope")}
}

func (r *Run) loadScheduled(rows [][]string) error {
	return each(rows, []string{"scheduled"}, func(c *columns) {
		r.Scheduled = append(r.Scheduled, c.time("scheduled"))
	})
}

func (r *Run) loadThroughput(rows [][]string) error {
	return each(rows, []string{"interval_start", "interval_end", "pods", "pods_per_second"}, func(c *columns) {
		r.Throughput = append(r.Throughput, Interval{Start: c.time("interval_start"), End: c.time("interval_end"),
			Pods: int(c.uint("pods")), PerSecond: c.float("pods_per_second")})
	})
}

func (r *Run) loadUsage(rows [][]string) error {
	return each(rows, []string{"time", "component", "cpu_seconds_total", "rss_bytes", "cpu_cores"}, func(c *columns) {
		s := UsageSample{Time: c.time("time"), Component: c.str("component"), CPUSeconds: c.float("cpu_seconds_total"),
			RSSBytes: c.float("rss_bytes")}
		if c.str("cpu_cores") != "" {
			s.CPUCores, s.HasCPU = c.float("cpu_cores"), true
		}
		r.Usage = append(r.Usage, s)
	})
}
