package hollow

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// livenessWindow is how long a running pool may go without any lease call
// coming back, successful or not, before it counts as wedged. Failures
// count as answers: an unreachable API server is not cured by restarting
// the nodes, a heartbeat loop that stopped is.
const livenessWindow = 2 * time.Minute

// Health is the pool's own view of its nodes.
type Health struct {
	Nodes int
	// Renewing nodes renewed their lease within its duration.
	Renewing int
	// LastAnswer is when any node's lease call last came back.
	LastAnswer time.Time
}

// Health reads every node's lease state.
func (p *Pool) Health() Health {
	now := p.env.clock.Now()
	var h Health
	for _, k := range p.kubelets {
		if k == nil {
			continue
		}
		h.Nodes++
		k.mu.Lock()
		if !k.lease.renewed.IsZero() && now.Sub(k.lease.renewed) <= leaseDuration {
			h.Renewing++
		}
		if k.lease.answered.After(h.LastAnswer) {
			h.LastAnswer = k.lease.answered
		}
		k.mu.Unlock()
	}
	return h
}

// Phases of a pool as its probes report them.
const (
	phaseRegistering = "registering"
	phaseRunning     = "running"
	phaseStopping    = "stopping"
)

// probes serves a pod's /readyz and /livez for a pool: ready once every
// node is registered and renewing its lease; live unless the running
// pool's heartbeats stopped altogether.
type probes struct {
	mu      sync.Mutex
	phase   string
	pool    *Pool
	started time.Time
	now     func() time.Time
}

func newProbes() *probes { return &probes{phase: phaseRegistering, now: time.Now} }

func (p *probes) running(pool *Pool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase, p.pool, p.started = phaseRunning, pool, p.now()
}

func (p *probes) stopping() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase = phaseStopping
}

func (p *probes) state() (string, *Pool, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.phase, p.pool, p.started
}

// ready says whether the pool is ready, and why (not).
func (p *probes) ready() (bool, string) {
	phase, pool, _ := p.state()
	if phase != phaseRunning {
		return false, phase
	}
	h := pool.Health()
	msg := fmt.Sprintf("%d nodes registered, %d renewing their leases", h.Nodes, h.Renewing)
	return h.Nodes > 0 && h.Renewing == h.Nodes, msg
}

// live says whether the pool is alive, and why (not).
func (p *probes) live() (bool, string) {
	phase, pool, started := p.state()
	if phase != phaseRunning {
		return true, phase
	}
	last := pool.Health().LastAnswer
	if last.Before(started) {
		last = started
	}
	if idle := p.now().Sub(last); idle > livenessWindow {
		return false, fmt.Sprintf("no lease call came back for %s", idle.Round(time.Second))
	}
	return true, "lease calls answered " + p.now().Sub(last).Round(time.Second).String() + " ago"
}

// handlers are the probe endpoints: 200 or 503, with the reason as text.
func (p *probes) handlers() map[string]http.Handler {
	serve := func(check func() (bool, string)) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			ok, msg := check()
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			if !ok {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			fmt.Fprintln(w, msg)
		})
	}
	return map[string]http.Handler{"/readyz": serve(p.ready), "/livez": serve(p.live)}
}
