package kubeapi

import (
	"context"
	"crypto/tls"
	"slices"
	"sync"

	"github.com/hollowmark/hollowmark/internal/h2client"
)

// Pool keeps connections to one API server for one identity. A hollow
// kubelet's pool holds a single connection, as a real kubelet does; a pool
// shared by many hollow proxies grows by one connection whenever the open
// ones reach the server's stream limit.
type Pool struct {
	Addr string
	// TLS is shared by many pools; Cert, if set, is this pool's identity.
	TLS  *tls.Config
	Cert *tls.Certificate

	mu    sync.Mutex
	conns []*h2client.Conn
}

// Conn returns an open connection with room for a stream, dialing one if
// there is none. Dials are serialized, so a burst of callers after a
// connection loss makes one new connection, not many.
func (p *Pool) Conn(ctx context.Context) (*h2client.Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = slices.DeleteFunc(p.conns, func(c *h2client.Conn) bool { return c.Err() != nil })
	for _, c := range p.conns {
		if c.Available() > 0 {
			return c, nil
		}
	}
	cfg := p.TLS
	if p.Cert != nil {
		cfg = cfg.Clone()
		cfg.Certificates = []tls.Certificate{*p.Cert}
	}
	c, err := h2client.Dial(ctx, p.Addr, cfg)
	if err != nil {
		return nil, err
	}
	p.conns = append(p.conns, c)
	return c, nil
}

// Close closes every connection; their streams end with h2client.ErrClosed.
func (p *Pool) Close() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}
