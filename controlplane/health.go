package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/hollowmark/hollowmark/controlplane/pki"
)

// healthChecker probes the components' health endpoints over TLS, trusting
// only one CA and presenting a client certificate (the API server and etcd
// refuse anonymous requests).
type healthChecker struct {
	client *http.Client
}

func newHealthChecker(identity pki.KeyPair, ca *x509.Certificate) (*healthChecker, error) {
	cert, err := tls.X509KeyPair(identity.CertPEM, identity.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("loading client certificate for health checks: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	transport := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		DisableKeepAlives: true,
	}
	return &healthChecker{client: &http.Client{Transport: transport, Timeout: 5 * time.Second}}, nil
}

func (h *healthChecker) check(ctx context.Context, url string) error {
	_, err := get(ctx, h.client, url)
	return err
}

func (h *healthChecker) checkEtcd(ctx context.Context, clientURL string) error {
	body, err := get(ctx, h.client, clientURL+"/health")
	if err != nil {
		return err
	}
	var health struct {
		Health string `json:"health"`
	}
	if err := json.Unmarshal(body, &health); err != nil {
		return fmt.Errorf("reading etcd health %q: %w", body, err)
	}
	if health.Health != "true" {
		return fmt.Errorf("etcd reports health %q", health.Health)
	}
	return nil
}

func get(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// waitReady polls ready until it succeeds, the process exits, the timeout
// passes or ctx is cancelled, and says which.
func waitReady(ctx context.Context, p *process, ready func(context.Context) error, timeout time.Duration) error {
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if p.exited() {
			return false, p.exitError()
		}
		lastErr = ready(ctx)
		return lastErr == nil, nil
	})
	switch {
	case err == nil:
		return nil
	case p.exited():
		return p.exitError()
	case ctx.Err() != nil:
		return fmt.Errorf("waiting for %s: %w", p.name, ctx.Err())
	default:
		return fmt.Errorf("%s not ready after %s (last check: %v); last lines of %s:\n%s",
			p.name, timeout, lastErr, p.logPath, p.logTail(20))
	}
}

// versions asks each binary for its version, so that the run record says
// exactly what was measured, also for someone's own builds.
func versions(ctx context.Context, binaries map[string]string) []ComponentRecord {
	order := []string{Etcd, APIServer, Scheduler, ControllerManager}
	records := make([]ComponentRecord, len(order))
	var wg sync.WaitGroup
	for i, name := range order {
		records[i] = ComponentRecord{Name: name, Binary: binaries[name]}
		wg.Go(func() { records[i].Version = binaryVersion(ctx, binaries[name]) })
	}
	wg.Wait()
	return records
}

func binaryVersion(ctx context.Context, binary string) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "--version").Output()
	if err != nil {
		return fmt.Sprintf("unknown (%v)", err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return first
}
