// Package metricsserver serves a Prometheus registry and pprof over HTTP.
package metricsserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is a running metrics endpoint.
type Server struct {
	// URL is where /metrics and /debug/pprof/ are served.
	URL string
	srv *http.Server
}

// Start listens on addr (host:port; port 0 picks a free one) and serves
// /metrics from registry, the pprof handlers, and extra handlers by path
// (e.g. a pod's /readyz and /livez).
func Start(addr string, registry *prometheus.Registry, extra map[string]http.Handler) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics server on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	for path, h := range extra {
		mux.Handle(path, h)
	}
	s := &Server{URL: "http://" + l.Addr().String(), srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	// Serve returns only once Stop closes the listener.
	go s.srv.Serve(l)
	return s, nil
}

// Stop shuts the server down.
func (s *Server) Stop(ctx context.Context) error {
	return s.srv.Shutdown(ctx)
}
