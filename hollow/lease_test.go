package hollow

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/hollowmark/hollowmark/internal/kubeapi"
)

// scriptAPI answers heartbeat calls as a script says, when told to.
type scriptAPI struct {
	t       *testing.T
	codec   *kubeapi.Codec
	answer  func(label string, n int) int // status for the n-th call (from 1) of its label
	mu      sync.Mutex
	count   map[string]int
	log     []string
	sent    []kubeapi.Call
	pending []func()
}

func (a *scriptAPI) Do(call kubeapi.Call, done func(kubeapi.Response)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	label := call.Verb + " " + call.Resource
	a.count[label]++
	a.log = append(a.log, label)
	a.sent = append(a.sent, call)
	status := a.answer(label, a.count[label])
	resp := kubeapi.Response{Status: status}
	switch {
	case status >= 300:
		resp.Err = &kubeapi.StatusError{Code: status, Message: "scripted"}
	case call.Resource == "leases":
		resp.Body = a.encode(&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "n", ResourceVersion: fmt.Sprint(len(a.sent))}},
			coordinationv1.SchemeGroupVersion)
	case call.Resource == "nodes":
		resp.Body = a.encode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", UID: "node-uid"}}, corev1.SchemeGroupVersion)
	}
	a.pending = append(a.pending, func() { done(resp) })
}

func (a *scriptAPI) encode(obj runtime.Object, gv schema.GroupVersion) []byte {
	body, err := a.codec.Encode(obj, gv)
	if err != nil {
		a.t.Fatal(err)
	}
	return body
}

func (a *scriptAPI) Watch(string, url.Values, time.Duration, kubeapi.ListWatchHandler) watcher {
	return nopWatcher{}
}

// flush answers every call, and those the answers lead to.
func (a *scriptAPI) flush() {
	for {
		a.mu.Lock()
		now := a.pending
		a.pending = nil
		a.mu.Unlock()
		if len(now) == 0 {
			return
		}
		for _, answer := range now {
			answer()
		}
	}
}

// calls are the calls made since the last look.
func (a *scriptAPI) calls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.log
	a.log = nil
	return out
}

func repeat(label string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = label
	}
	return out
}

func seq(parts ...[]string) []string { return slices.Concat(parts...) }

func one(label string) []string { return []string{label} }

// newLeaseKubelet is a registered node with its lease read (resource
// version "1"), its API answering as answer says, its logs observed.
func newLeaseKubelet(t *testing.T, answer func(label string, n int) int) (*Kubelet, *fakeClock, *scriptAPI, *observer.ObservedLogs) {
	cfg := DefaultNodeConfig()
	codec := kubeapi.NewCodec()
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	api := &scriptAPI{t: t, codec: codec, answer: answer, count: map[string]int{}}
	core, logs := observer.New(zap.DebugLevel)
	e := &env{cfg: &cfg, codec: codec, metrics: NewMetrics(), log: zap.New(core), clock: clk}
	k := newKubelet(e, "n", 0, api, nil)
	k.registered, k.lastReport, k.lease.rv = true, clk.Now(), "1"
	return k, clk, api, logs
}

func (k *Kubelet) syncLeaseNow() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.syncLeaseLocked(k.env.clock.Now())
}

// The lease controller's sync, answer by answer: what it sends at once,
// and what it sends when the next sync is due.
func TestLeaseSync(t *testing.T) {
	const put, get, post, getNode = "PUT leases", "GET leases", "POST leases", "GET nodes"
	tests := []struct {
		name   string
		noRV   bool // the lease was never read
		answer func(label string, n int) int
		now    []string // sent before the next sync, which begins with a PUT 10 to 10.4 s later
	}{
		{"renewed", false, func(string, int) int { return 200 }, one(put)},
		{"a failed update is sent again at once; five in a row re-read the lease, then five more, then the next sync",
			false, func(label string, _ int) int {
				if label == put {
					return 500
				}
				return 200
			}, seq(repeat(put, 5), one(get), repeat(put, 5))},
		{"a conflict re-reads the lease and updates what it read", false, func(label string, n int) int {
			if label == put && n == 1 {
				return 409
			}
			return 200
		}, seq(one(put), one(get), one(put))},
		{"a lease gone is created after five failed updates, owned by the Node", false, func(label string, _ int) int {
			if label == put || label == get {
				return 404
			}
			return 200
		}, seq(repeat(put, 5), one(get), one(getNode), one(post))},
		{"no lease read yet: read, then updated", true, func(string, int) int { return 200 }, seq(one(get), one(put))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, clk, api, _ := newLeaseKubelet(t, tt.answer)
			if tt.noRV {
				k.lease.rv = ""
			}
			k.syncLeaseNow()
			api.flush()
			if got := api.calls(); !slices.Equal(got, tt.now) {
				t.Fatalf("sync sent\n %v\nwant\n %v", got, tt.now)
			}
			clk.step(leaseRenewInterval - time.Millisecond)
			api.flush()
			if got := api.calls(); len(got) != 0 {
				t.Fatalf("sent %v before the renew interval", got)
			}
			clk.step(time.Duration(jitter*float64(leaseRenewInterval)) + time.Millisecond)
			if got := api.calls(); !slices.Equal(got, one(put)) {
				t.Fatalf("next sync sent %v, want a PUT", got)
			}
			for _, c := range api.sent {
				if !c.Unthrottled || c.Timeout != heartbeatTimeout {
					t.Errorf("%s %s: unthrottled %v, timeout %v; want the heartbeat client's (unthrottled, %v)",
						c.Verb, c.Path, c.Unthrottled, c.Timeout, heartbeatTimeout)
				}
			}
		})
	}
}

// Reading the lease again after failed updates backs off 200 ms, doubling
// up to 7 s, between failed reads.
func TestLeaseReadBacksOff(t *testing.T) {
	k, clk, api, _ := newLeaseKubelet(t, func(label string, n int) int {
		if label == "GET leases" && n <= 3 {
			return 500
		}
		return 200
	})
	k.lease.rv = ""
	k.syncLeaseNow()
	api.flush()
	if got := api.calls(); !slices.Equal(got, one("GET leases")) {
		t.Fatalf("first read: %v", got)
	}
	for _, wait := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond} {
		clk.step(wait - time.Millisecond)
		api.flush()
		if got := api.calls(); len(got) != 0 {
			t.Fatalf("read again before %v: %v", wait, got)
		}
		clk.step(time.Millisecond)
		api.flush()
		want := one("GET leases")
		if wait == 800*time.Millisecond {
			want = append(want, "PUT leases") // the fourth read succeeds
		}
		if got := api.calls(); !slices.Equal(got, want) {
			t.Fatalf("after %v: %v, want %v", wait, got, want)
		}
	}
}

// Paused heartbeats send nothing, lease or node status, until the pause
// ends; the renewal then goes out, measured and logged as late as it was.
func TestPausedHeartbeats(t *testing.T) {
	k, clk, api, logs := newLeaseKubelet(t, func(string, int) int { return 200 })
	k.mu.Lock()
	k.lastReport = clk.Now().Add(-time.Hour) // a status report is overdue
	k.mu.Unlock()
	k.pauseHeartbeats(clk.Now().Add(time.Minute))
	k.syncLeaseNow()
	k.statusTick()
	clk.step(time.Minute - time.Millisecond)
	api.flush()
	if got := api.calls(); len(got) != 0 {
		t.Fatalf("paused node sent %v", got)
	}
	if s := k.leaseState(); s.PausedUntil.IsZero() {
		t.Errorf("lease state %+v during the pause", s)
	}
	clk.step(time.Millisecond)
	api.flush()
	if got := api.calls(); !slices.Equal(got, one("PUT leases")) {
		t.Fatalf("when the pause ended: %v, want the lease renewal", got)
	}
	if s := k.leaseState(); !s.PausedUntil.IsZero() || s.LastDelay != time.Minute || !s.Renewed.Equal(clk.Now()) {
		t.Errorf("lease state after the pause %+v, want renewed now, a minute late", s)
	}
	if n := sampleCount(t, k.env.metrics, "lease", "answered"); n != 1 {
		t.Errorf("%d lease delays recorded, want 1", n)
	}
	clk.step(nodeStatusUpdatePeriod + time.Second)
	api.flush()
	if got := api.calls(); !slices.Contains(got, "PATCH nodes/status") {
		t.Errorf("after the pause, at the next status tick: %v, want the overdue status report", got)
	}
	late := logs.FilterMessage("lease renewal answered late").All()
	if len(late) != 1 || late[0].ContextMap()["node"] != "n" {
		t.Errorf("late renewal logged as %v", late)
	}
}

// A failed node status report is tried again at once, reading the Node
// first, up to five times in all.
func TestNodeStatusReportRetries(t *testing.T) {
	k, _, api, _ := newLeaseKubelet(t, func(label string, n int) int {
		if label == "PATCH nodes/status" && n <= 2 {
			return 500
		}
		return 200
	})
	k.mu.Lock()
	k.reportStatusLocked(false, k.env.clock.Now())
	k.mu.Unlock()
	api.flush()
	want := []string{"PATCH nodes/status", "GET nodes", "PATCH nodes/status", "GET nodes", "PATCH nodes/status"}
	if got := api.calls(); !slices.Equal(got, want) {
		t.Fatalf("sent %v, want %v", got, want)
	}
	for _, c := range api.sent {
		if !c.Unthrottled || c.Timeout != heartbeatTimeout {
			t.Errorf("%s %s: unthrottled %v, timeout %v", c.Verb, c.Path, c.Unthrottled, c.Timeout)
		}
	}
	if !strings.HasSuffix(api.sent[0].Path, "/nodes/n/status") || api.sent[0].ContentType != strategicMergePatch {
		t.Errorf("status report %s %s as %s", api.sent[0].Verb, api.sent[0].Path, api.sent[0].ContentType)
	}
}

func sampleCount(t *testing.T, m *Metrics, kind, stage string) uint64 {
	t.Helper()
	var out dto.Metric
	if err := m.heartbeatDelays.WithLabelValues(kind, stage).(interface{ Write(*dto.Metric) error }).Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetHistogram().GetSampleCount()
}
