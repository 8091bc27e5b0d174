package requestmix

import (
	"math"
	"strings"
	"testing"
	"time"
)

const page = `# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 10
apiserver_request_total{code="409",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 2
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="status",verb="PATCH",version="v1"} 7
# TYPE apiserver_longrunning_requests gauge
apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="WATCH",version="v1"} 3
apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="WATCH",version="v1"} 1
apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="namespace",subresource="log",verb="CONNECT",version="v1"} 5
`

func TestParseNamesRequestsAsKubectlDoes(t *testing.T) {
	s, err := Parse(strings.NewReader(page), time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]float64{"PUT leases.coordination.k8s.io": 12, "PATCH pods/status": 7} {
		if got := s.Requests[k]; got != want {
			t.Errorf("requests %q = %v, want %v", k, got, want)
		}
	}
	if got := s.Watches["WATCH pods"]; got != 4 || len(s.Watches) != 1 {
		t.Errorf("watches = %v, want only WATCH pods = 4 (all scopes, no CONNECT)", s.Watches)
	}
}

func TestDeltaSubtractsTheBackgroundAtItsRate(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	base := Snapshot{At: at(60), Requests: map[string]float64{"PUT leases.coordination.k8s.io": 6}}.
		Since(Snapshot{At: at(0), Requests: map[string]float64{}})
	d := Snapshot{At: at(300), Requests: map[string]float64{"PUT leases.coordination.k8s.io": 130, "GET pods": 3},
		Watches: map[string]float64{"WATCH pods": 2}}.
		Since(Snapshot{At: at(180), Requests: map[string]float64{"PUT leases.coordination.k8s.io": 100}, Watches: map[string]float64{"WATCH nodes": 1}}).
		Minus(base)
	// 30 leases in 2 minutes, of which the background made 12.
	if got := d.Requests["PUT leases.coordination.k8s.io"]; math.Abs(got-18) > 1e-9 {
		t.Errorf("leases = %v, want 18", got)
	}
	if d.Requests["GET pods"] != 3 || d.Watches["WATCH pods"] != 2 || d.Watches["WATCH nodes"] != -1 {
		t.Errorf("delta = %+v", d)
	}
}

func TestParseExpectations(t *testing.T) {
	tests := []struct {
		name, doc, err string
		want           []Expectation
	}{
		{name: "table", doc: "intro\n<!-- expected-table -->\n| phase | request | expected | tolerance | why |\n|---|---|---:|---|---|\n" +
			"| pod start, per pod | GET pods | 3 | ±15% | one per sync |\n| idle | `PUT leases.coordination.k8s.io` | 5.88 | ±60% | |\n<!-- end expected-table -->\n",
			want: []Expectation{{Phase: "pod start, per pod", Request: "GET pods", Want: 3, Tolerance: 0.15, Line: 5},
				{Phase: "idle", Request: "PUT leases.coordination.k8s.io", Want: 5.88, Tolerance: 0.6, Line: 6}}},
		{name: "no markers", doc: "| a | b | 1 | ±1% |\n", err: "no table"},
		{name: "bad number", doc: "<!-- expected-table -->\n|h|\n|-|\n| p | r | three | ±15% |\n<!-- end expected-table -->\n", err: "line 4: expected \"three\""},
		{name: "bad tolerance", doc: "<!-- expected-table -->\n|h|\n|-|\n| p | r | 3 | 15 |\n<!-- end expected-table -->\n", err: "line 4: tolerance"},
		{name: "empty", doc: "<!-- expected-table -->\n|h|\n|-|\n<!-- end expected-table -->\n", err: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseExpectations(strings.NewReader(tt.doc))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("row %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestResultWithinTolerance(t *testing.T) {
	for _, tt := range []struct {
		want, tol, got float64
		ok             bool
	}{{3, 0.15, 3.4, true}, {3, 0.15, 3.5, false}, {3, 0.15, 2.6, true}, {3, 0.15, 2.5, false}, {1, 0.15, 1, true}} {
		r := Result{Expectation: Expectation{Want: tt.want, Tolerance: tt.tol}, Got: tt.got}
		if r.OK() != tt.ok {
			t.Errorf("%v within ±%v of %v: got %v, want %v", tt.got, tt.tol, tt.want, r.OK(), tt.ok)
		}
	}
}
