package benchpeers

import (
	"maps"
	"strings"
	"testing"
)

const metricsPage = `# HELP apiserver_longrunning_requests [ALPHA] Gauge of all active long-running apiserver requests
# TYPE apiserver_longrunning_requests gauge
apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="WATCH",version="v1"} 3
apiserver_longrunning_requests{component="apiserver",group="",resource="nodes",scope="cluster",subresource="",verb="WATCH",version="v1"} 4
apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="namespace",subresource="log",verb="CONNECT",version="v1"} 5
# HELP apiserver_longrunning_requests_other a family whose name only starts alike
# TYPE apiserver_longrunning_requests_other gauge
apiserver_longrunning_requests_other{verb="WATCH"} 100
# TYPE apiserver_current_inflight_requests gauge
apiserver_current_inflight_requests{request_kind="mutating"} 2
apiserver_current_inflight_requests{request_kind="readOnly"} 7
# TYPE apiserver_flowcontrol_current_executing_requests gauge
apiserver_flowcontrol_current_executing_requests{flow_schema="system-nodes",priority_level="system"} 3
apiserver_flowcontrol_current_executing_requests{flow_schema="system-node-high",priority_level="node-high"} 1
apiserver_flowcontrol_current_executing_requests{flow_schema="kube-system-service-accounts",priority_level="workload-high"} 2
apiserver_flowcontrol_current_executing_requests{flow_schema="kube-scheduler",priority_level="workload-high"} 1
# TYPE apiserver_flowcontrol_current_inqueue_requests gauge
apiserver_flowcontrol_current_inqueue_requests{flow_schema="system-nodes",priority_level="system"} 9
# TYPE apiserver_flowcontrol_dispatched_requests_total counter
apiserver_flowcontrol_dispatched_requests_total{flow_schema="system-nodes",priority_level="system"} 1000
apiserver_flowcontrol_dispatched_requests_total{flow_schema="exempt",priority_level="exempt"} 20
# TYPE apiserver_request_duration_seconds histogram
apiserver_request_duration_seconds_bucket{verb="GET",le="0.1"} 5
apiserver_request_duration_seconds_bucket{verb="GET",le="+Inf"} 6
apiserver_request_duration_seconds_sum{verb="GET"} 0.3
apiserver_request_duration_seconds_count{verb="GET"} 6
`

func TestParseAPIMetrics(t *testing.T) {
	for _, tc := range []struct {
		name string
		page string
		want apiMetrics
	}{
		{"every family", metricsPage, apiMetrics{
			Watches:    7,
			Inflight:   map[string]float64{"mutating": 2, "readOnly": 7},
			Executing:  map[string]float64{"system": 3, "node-high": 1, "workload-high": 3},
			InQueue:    map[string]float64{"system": 9},
			Dispatched: map[string]float64{"system-nodes": 1000, "exempt": 20},
		}},
		{"an older server without APF", "# TYPE apiserver_current_inflight_requests gauge\napiserver_current_inflight_requests{request_kind=\"readOnly\"} 1\n",
			apiMetrics{Inflight: map[string]float64{"readOnly": 1}}},
		{"empty page", "", apiMetrics{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAPIMetrics(strings.NewReader(tc.page))
			if err != nil {
				t.Fatal(err)
			}
			if got.Watches != tc.want.Watches {
				t.Errorf("watches %v, want %v", got.Watches, tc.want.Watches)
			}
			for _, m := range []struct {
				name      string
				got, want map[string]float64
			}{{"inflight", got.Inflight, tc.want.Inflight}, {"executing", got.Executing, tc.want.Executing},
				{"inqueue", got.InQueue, tc.want.InQueue}, {"dispatched", got.Dispatched, tc.want.Dispatched}} {
				if !maps.Equal(m.got, m.want) {
					t.Errorf("%s %v, want %v", m.name, m.got, m.want)
				}
			}
		})
	}
}

func TestParseAPIMetricsRejectsBrokenPage(t *testing.T) {
	_, err := parseAPIMetrics(strings.NewReader("apiserver_current_inflight_requests{request_kind=\"readOnly\" 1\n"))
	if err == nil {
		t.Fatal("a broken line parsed")
	}
}
