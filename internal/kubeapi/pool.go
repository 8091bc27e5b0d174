package kubeapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/hollowmark/hollowmark/internal/h2client"
)

var errPoolClosed = errors.New("connection pool closed")

// Pool keeps connections to one API server for one identity. A hollow
// kubelet's pool holds a single connection, as a real kubelet does; a pool
// shared by many hollow proxies grows by one connection whenever the open
// ones reach the server's stream limit.
type Pool struct {
	Addr string
	// TLS is shared by many pools; Cert, if set, is this pool's identity.
	TLS  *tls.Config
	Cert *tls.Certificate
	// Options tune the connections (liveness PINGs); the zero value is
	// client-go's behaviour.
	Options h2client.Options

	mu      sync.Mutex
	conns   []*h2client.Conn
	waiting []func(*h2client.Reservation, error)
	dialing bool
	closed  bool
}

// Reserve hands fn a stream slot on an open connection: at once, on the
// caller's goroutine, when a connection has room; otherwise from a
// goroutine that dials one. Callers never wait for a dial, so a kubelet
// holding its own lock is not stalled by a slow server, and a burst of
// callers after a connection loss shares one dial. A failed dial is handed
// to every caller waiting on it.
func (p *Pool) Reserve(ctx context.Context, fn func(*h2client.Reservation, error)) {
	p.mu.Lock()
	if r := p.reserveLocked(); r != nil {
		p.mu.Unlock()
		fn(r, nil)
		return
	}
	if p.closed {
		p.mu.Unlock()
		fn(nil, errPoolClosed)
		return
	}
	p.waiting = append(p.waiting, fn)
	start := !p.dialing
	p.dialing = true
	p.mu.Unlock()
	if start {
		go p.dial(ctx)
	}
}

// reserveLocked takes a slot on an open connection with room, if any.
func (p *Pool) reserveLocked() *h2client.Reservation {
	p.conns = slices.DeleteFunc(p.conns, func(c *h2client.Conn) bool { return c.Err() != nil })
	for _, c := range p.conns {
		if r, err := c.Reserve(); err == nil {
			return r
		}
	}
	return nil
}

// dial opens connections until every waiting caller has a slot, or a dial
// fails.
func (p *Pool) dial(ctx context.Context) {
	for {
		c, err := h2client.Dial(ctx, p.Addr, p.tlsConfig(), p.Options)
		p.mu.Lock()
		if err == nil && p.closed {
			c.Close()
			err = errPoolClosed
		}
		waiting := p.waiting
		if err != nil {
			p.waiting, p.dialing = nil, false
			p.mu.Unlock()
			for _, fn := range waiting {
				fn(nil, err)
			}
			return
		}
		p.conns = append(p.conns, c)
		var slots []*h2client.Reservation
		for range waiting {
			r := p.reserveLocked()
			if r == nil {
				break
			}
			slots = append(slots, r)
		}
		if len(slots) == 0 {
			// Closed or going away already: dialing again at once could
			// spin; the callers retry with back-off.
			r, err := c.Reserve()
			if err == nil { // room again since: rare, and retried anyway
				r.Release()
				err = errors.New("no stream slot")
			}
			p.waiting, p.dialing = nil, false
			p.mu.Unlock()
			for _, fn := range waiting {
				fn(nil, fmt.Errorf("new connection to %s takes no streams: %w", p.Addr, err))
			}
			return
		}
		p.waiting = waiting[len(slots):]
		p.dialing = len(p.waiting) > 0
		more := p.dialing
		p.mu.Unlock()
		for i, r := range slots {
			waiting[i](r, nil)
		}
		if !more {
			return
		}
	}
}

func (p *Pool) tlsConfig() *tls.Config {
	if p.Cert == nil {
		return p.TLS
	}
	cfg := p.TLS.Clone()
	cfg.Certificates = []tls.Certificate{*p.Cert}
	return cfg
}

// Close closes every connection; their streams end with h2client.ErrClosed
// and later calls fail.
func (p *Pool) Close() {
	p.mu.Lock()
	conns := p.conns
	p.conns, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}
