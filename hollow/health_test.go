package hollow

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The probes read the kubelets' lease times; here they are set by hand on a
// clock that moves only when told.
func TestProbesFollowRegistrationAndLeases(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type node struct{ renewed, answered time.Duration } // ago; -1: never
	tests := []struct {
		name      string
		phase     string
		nodes     []node
		sinceRun  time.Duration
		wantReady bool
		wantLive  bool
		wantMsg   string
	}{
		{"registering", phaseRegistering, nil, 0, false, true, "registering"},
		{"all renewing", phaseRunning, []node{{5 * time.Second, 5 * time.Second}, {12 * time.Second, 12 * time.Second}}, time.Minute, true, true, "2 nodes registered, 2 renewing"},
		{"one lease lapsed", phaseRunning, []node{{5 * time.Second, 5 * time.Second}, {45 * time.Second, 3 * time.Second}}, time.Minute, false, true, "2 nodes registered, 1 renewing"},
		{"lease not yet renewed", phaseRunning, []node{{-1, -1}}, time.Second, false, true, "1 nodes registered, 0 renewing"},
		{"API server down: failures still answer", phaseRunning, []node{{90 * time.Second, 2 * time.Second}}, 5 * time.Minute, false, true, "0 renewing"},
		{"heartbeats stopped", phaseRunning, []node{{3 * time.Minute, 3 * time.Minute}}, 5 * time.Minute, false, false, "no lease call came back for 3m0s"},
		{"just started, nothing answered yet", phaseRunning, []node{{-1, -1}}, 30 * time.Second, false, true, "answered 30s ago"},
		{"stopping", phaseStopping, []node{{time.Second, time.Second}}, time.Minute, false, true, "stopping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: t0}
			pool := &Pool{env: &env{clock: clock}}
			for _, n := range tt.nodes {
				k := &Kubelet{}
				if n.renewed >= 0 {
					k.lease.renewed = t0.Add(-n.renewed)
				}
				if n.answered >= 0 {
					k.lease.answered = t0.Add(-n.answered)
				}
				pool.kubelets = append(pool.kubelets, k)
			}
			p := newProbes()
			p.now = clock.Now
			p.phase, p.pool, p.started = tt.phase, pool, t0.Add(-tt.sinceRun)
			h := p.handlers()
			ready, readyMsg := get(t, h["/readyz"])
			live, liveMsg := get(t, h["/livez"])
			if ready != tt.wantReady || live != tt.wantLive {
				t.Errorf("ready %v (%s), live %v (%s); want ready %v, live %v", ready, readyMsg, live, liveMsg, tt.wantReady, tt.wantLive)
			}
			if !strings.Contains(readyMsg+" | "+liveMsg, tt.wantMsg) {
				t.Errorf("messages %q | %q lack %q", readyMsg, liveMsg, tt.wantMsg)
			}
		})
	}
}

func get(t *testing.T, h http.Handler) (ok bool, body string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	b, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK && rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d", rec.Code)
	}
	return rec.Code == http.StatusOK, strings.TrimSpace(string(b))
}
