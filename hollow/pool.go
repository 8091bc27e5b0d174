package hollow

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/hollowmark/hollowmark/internal/kubeapi"
)

// Credentials say how hollow nodes reach and authenticate to the API server.
type Credentials struct {
	// Server is the API server's URL.
	Server string
	// TLS trusts the server; with Authority unset it also carries the
	// identity every node falls back to.
	TLS *tls.Config
	// Authorization is a fallback bearer token header, if the kubeconfig
	// has one.
	Authorization string
	// Issuer, if set, gives every node an identity of its own; without it
	// every node uses the kubeconfig's.
	Issuer Issuer
}

// PoolConfig describes a node pool.
type PoolConfig struct {
	// Count is the number of nodes across all shards; this process runs the
	// indices i with i % Shards == Shard.
	Count, Shard, Shards int
	NamePrefix           string
	// Concurrency bounds how many nodes register at once.
	Concurrency int
	Node        NodeConfig
	// PerNodeProxyConnections gives every hollow proxy a connection of its
	// own instead of sharing a pool of kube-proxy connections.
	PerNodeProxyConnections bool
}

// Pool is a running set of hollow nodes.
type Pool struct {
	env        *env
	kubelets   []*Kubelet
	proxies    []*Proxy
	byName     map[string]*Kubelet
	registered atomic.Int64
	// wheel drives every node's heartbeats.
	wheel *wheel

	// What starting one node takes, kept for RebootNode.
	host       string
	creds      Credentials
	cfg        PoolConfig
	proxyConns func() *kubeapi.Pool

	// connsMu guards the connections and, once the pool runs, the nodes:
	// FailNode and RebootNode replace a slot's.
	connsMu sync.Mutex
	conns   []*kubeapi.Pool
	// nodeConns are each slot's own connections, closed when it fails.
	nodeConns [][]*kubeapi.Pool
	failed    map[string]bool
	cancel    context.CancelFunc
	// pathPrefix is the path of the API server's URL, kept on every call.
	pathPrefix string
}

// Names returns the node names this process runs.
func (c PoolConfig) Names() []string {
	var names []string
	for i := c.Shard; i < c.Count; i += max(1, c.Shards) {
		names = append(names, fmt.Sprintf("%s%d", c.NamePrefix, i))
	}
	return names
}

// StartPool registers the pool's nodes, with bounded concurrency, and
// starts their heartbeats, watches and proxies. progress is called after
// each registration. On error every node started so far is stopped.
func StartPool(ctx context.Context, creds Credentials, cfg PoolConfig, metrics *Metrics, probes ProbeSink, log *zap.Logger, progress func(registered, total int)) (*Pool, error) {
	if cfg.Shards < 1 || cfg.Shard < 0 || cfg.Shard >= cfg.Shards {
		return nil, fmt.Errorf("shard %d of %d: want 0 <= shard < shards", cfg.Shard, cfg.Shards)
	}
	u, err := url.Parse(creds.Server)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("API server URL %q: %v", creds.Server, err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	p := &Pool{
		env: &env{cfg: &cfg.Node, codec: kubeapi.NewCodec(), metrics: metrics, probes: probes, log: log, ctx: runCtx,
			clusterCIDRFallback: netip.MustParsePrefix("10.64.0.0/10")},
		wheel:      newWheel(wheelSlot),
		cancel:     cancel,
		pathPrefix: strings.TrimSuffix(u.Path, "/"),
		host:       u.Host,
		creds:      creds,
		cfg:        cfg,
		failed:     map[string]bool{},
	}
	p.env.clock = poolClock{p.wheel}
	if creds.Issuer != nil {
		log.Info("hollow nodes authenticate with their own certificates", zap.String("kubelet", "system:node:<name>"),
			zap.String("proxy", "system:kube-proxy"), zap.String("obtained", creds.Issuer.Describe()))
	} else {
		log.Warn("no cluster CA: every hollow node uses the kubeconfig's identity, so NodeRestriction does not apply to them")
	}
	if p.proxyConns, err = p.proxyConnections(ctx, u.Host, creds, cfg.PerNodeProxyConnections); err != nil {
		cancel()
		return nil, err
	}
	names := cfg.Names()
	p.kubelets = make([]*Kubelet, len(names))
	p.proxies = make([]*Proxy, len(names))
	p.nodeConns = make([][]*kubeapi.Pool, len(names))
	p.byName = make(map[string]*Kubelet, len(names))
	jobs := make(chan int)
	errs := make(chan error, len(names))
	var wg sync.WaitGroup
	for range max(1, cfg.Concurrency) {
		wg.Go(func() {
			for i := range jobs {
				if err := p.startNode(ctx, names[i], i, 0); err != nil {
					errs <- err
					continue
				}
				if progress != nil {
					progress(int(p.registered.Add(1)), len(names))
				}
			}
		})
	}
feed:
	for i := range names {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	var failures []error
	for err := range errs {
		failures = append(failures, err)
	}
	err = summarize(failures)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// summarize joins the first few of many node errors and counts the rest:
// a thousand identical errors help nobody.
func summarize(errs []error) error {
	const shown = 5
	if len(errs) <= shown {
		return errors.Join(errs...)
	}
	return errors.Join(append(errs[:shown:shown], fmt.Errorf("and %d more nodes failed", len(errs)-shown))...)
}

// proxyConnections returns the shared kube-proxy connection pool, or nil
// when each proxy gets its own.
func (p *Pool) proxyConnections(ctx context.Context, host string, creds Credentials, perNode bool) (func() *kubeapi.Pool, error) {
	identity, err := proxyIdentity(ctx, creds)
	if err != nil {
		return nil, err
	}
	if perNode {
		return func() *kubeapi.Pool {
			pool := &kubeapi.Pool{Addr: host, TLS: creds.TLS, Cert: identity}
			p.addConns(pool)
			return pool
		}, nil
	}
	shared := &kubeapi.Pool{Addr: host, TLS: creds.TLS, Cert: identity}
	p.addConns(shared)
	return func() *kubeapi.Pool { return shared }, nil
}

func proxyIdentity(ctx context.Context, creds Credentials) (*tls.Certificate, error) {
	if creds.Issuer == nil {
		return nil, nil
	}
	cert, err := creds.Issuer.ProxyCertificate(ctx)
	if err != nil {
		return nil, err
	}
	return &cert, nil
}

// startNode starts the node of slot, boot counting its reboots: both the
// pool's start and RebootNode come here.
func (p *Pool) startNode(ctx context.Context, name string, slot, boot int) error {
	creds, cfg := p.creds, p.cfg
	conns := &kubeapi.Pool{Addr: p.host, TLS: creds.TLS}
	if creds.Issuer != nil {
		cert, err := creds.Issuer.NodeCertificate(ctx, name)
		if err != nil {
			return err
		}
		conns.Cert = &cert
	}
	index := cfg.Shard + slot*max(1, cfg.Shards)
	var events apiClient // nil when lean: no events
	if cfg.Node.Fidelity == FidelityFull {
		events = kubeClient{p.newClient(conns, creds, eventQPS, eventBurst, "kubelet")}
	}
	kubelet := newKubelet(p.env, name, index, kubeClient{p.newClient(conns, creds, kubeletQPS, kubeletBurst, "kubelet")}, events)
	kubelet.boot = boot
	proxyConns := p.proxyConns()
	proxy := newProxy(p.env, name, p.newClient(proxyConns, creds, proxyQPS, proxyBurst, "kube-proxy"))
	own := []*kubeapi.Pool{conns}
	if cfg.PerNodeProxyConnections {
		own = append(own, proxyConns)
	}
	// Recorded before registering, so that Stop reaches a node whose
	// registration failed half way.
	p.setNode(slot, kubelet, proxy, own)
	p.addConns(conns)
	if err := kubelet.register(ctx); err != nil {
		return err
	}
	proxy.start()
	return nil
}

func (p *Pool) setNode(slot int, k *Kubelet, proxy *Proxy, own []*kubeapi.Pool) {
	p.connsMu.Lock()
	defer p.connsMu.Unlock()
	p.kubelets[slot], p.proxies[slot], p.nodeConns[slot] = k, proxy, own
	p.byName[k.name] = k
}

// kubelet is the named node's current kubelet, nil when the pool has none.
func (p *Pool) kubelet(name string) *Kubelet {
	p.connsMu.Lock()
	defer p.connsMu.Unlock()
	return p.byName[name]
}

// FailNode fails the named node as a node whose kubelet and container
// runtime were stopped (CL2's chaos monkey runs "systemctl stop docker
// kubelet"): its leases, status reports, watches and pod status updates
// end, its proxy stops too, and its connections close. The Node and its
// pods stay as the API server has them; the node lifecycle controller
// marks the node Unknown once its lease is older than the grace period.
func (p *Pool) FailNode(name string) error {
	p.connsMu.Lock()
	k := p.byName[name]
	if k == nil {
		p.connsMu.Unlock()
		return fmt.Errorf("no hollow node %q in this pool", name)
	}
	if p.failed[name] {
		p.connsMu.Unlock()
		return fmt.Errorf("hollow node %s has already failed", name)
	}
	p.failed[name] = true
	slot := k.slot(p.cfg)
	proxy, own := p.proxies[slot], p.nodeConns[slot]
	p.connsMu.Unlock()
	proxy.stop()
	k.stop()
	for _, c := range own {
		c.Close()
	}
	p.env.log.Info("hollow node failed", zap.String("node", name))
	return nil
}

// RebootNode starts a failed node again as a rebooted machine: its kubelet
// starts through the pool's own start path, adopts its Node (same UID) and
// Lease, and its runtime has no containers, so the pods still bound to it
// start again (see restartAfterReboot) and those deleted meanwhile finish.
func (p *Pool) RebootNode(ctx context.Context, name string) error {
	p.connsMu.Lock()
	k := p.byName[name]
	failed := p.failed[name]
	if failed {
		delete(p.failed, name)
	}
	p.connsMu.Unlock()
	if k == nil || !failed {
		return fmt.Errorf("hollow node %q has not failed in this pool", name)
	}
	if err := p.startNode(ctx, name, k.slot(p.cfg), k.boot+1); err != nil {
		return fmt.Errorf("rebooting %s: %w", name, err)
	}
	p.env.log.Info("hollow node rebooted", zap.String("node", name))
	return nil
}

// slot is the kubelet's place in the pool's slices.
func (k *Kubelet) slot(cfg PoolConfig) int { return (k.index - cfg.Shard) / max(1, cfg.Shards) }

func (p *Pool) addConns(c *kubeapi.Pool) {
	p.connsMu.Lock()
	defer p.connsMu.Unlock()
	p.conns = append(p.conns, c)
}

func (p *Pool) newClient(conns *kubeapi.Pool, creds Credentials, qps float64, burst int, agent string) *kubeapi.Client {
	c := &kubeapi.Client{
		Conns:      conns,
		Codec:      p.env.codec,
		Limiter:    rate.NewLimiter(rate.Limit(qps), burst),
		UserAgent:  agent + "/" + p.env.cfg.KubeletVersion + " (linux/amd64) hollowmark",
		Observe:    p.env.metrics.observeRequest,
		Ctx:        p.env.ctx,
		PathPrefix: p.pathPrefix,
	}
	if creds.Issuer == nil {
		c.Authorization = creds.Authorization
	}
	return c
}

// Names are the names of the pool's nodes.
func (p *Pool) Names() []string {
	p.connsMu.Lock()
	defer p.connsMu.Unlock()
	names := make([]string, 0, len(p.kubelets))
	for _, k := range p.kubelets {
		if k != nil {
			names = append(names, k.name)
		}
	}
	return names
}

// LeaseState is the named node's lease as the node sees it; false when
// the pool has no such node.
func (p *Pool) LeaseState(name string) (LeaseState, bool) {
	k := p.kubelet(name)
	if k == nil {
		return LeaseState{}, false
	}
	return k.leaseState(), true
}

// HeartbeatDelays are the pool's heartbeat delay histograms so far (see
// Metrics.HeartbeatDelays).
func (p *Pool) HeartbeatDelays() map[string]DelayHistogram { return p.env.metrics.HeartbeatDelays() }

// LateHeartbeat is how late a heartbeat may be answered before it is
// logged: a quarter of the lease's duration.
const LateHeartbeat = lateHeartbeat

// PauseHeartbeats holds the named node's lease renewals and node status
// reports for d, a fault to show what a node that misses its leases does
// to a run: the node lifecycle controller marks it Unknown once its lease
// is older than its grace period (50 s by default).
func (p *Pool) PauseHeartbeats(name string, d time.Duration) error {
	k := p.kubelet(name)
	if k == nil {
		return fmt.Errorf("no hollow node %q in this pool", name)
	}
	k.pauseHeartbeats(p.env.clock.Now().Add(d))
	return nil
}

// Stop stops every node and closes their connections. The Node objects
// stay; DeleteNodes removes them.
func (p *Pool) Stop() {
	p.connsMu.Lock()
	kubelets, proxies := slices.Clone(p.kubelets), slices.Clone(p.proxies)
	p.connsMu.Unlock()
	var wg sync.WaitGroup
	for i, k := range kubelets {
		if k == nil {
			continue
		}
		wg.Go(func() {
			proxies[i].stop()
			k.stop()
		})
	}
	wg.Wait()
	p.wheel.stop()
	p.cancel()
	p.connsMu.Lock()
	defer p.connsMu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// DeleteNodes deletes the named Nodes (their Leases follow through owner
// references) with the caller's identity: kubelets are not allowed to.
func DeleteNodes(ctx context.Context, client kubernetes.Interface, names []string) error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for _, name := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			err := client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("deleting node %s: %w", name, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return summarize(errs)
}
